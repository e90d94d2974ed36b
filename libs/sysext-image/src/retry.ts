import { describeNetworkError, networkErrorCode, type Log } from '@alloy-sysext/common';

// Retries of an asset download on fetch; GitHub API calls retry through libs/github's client instead.
export interface DownloadRetryOptions {
  /** Total attempts including the first (default 4). */
  attempts?: number;
  /** First backoff delay; doubles each attempt (default 1000 ms). */
  baseDelayMs?: number;
  /** An attempt that receives nothing for this long fails and is retried (default 30000 ms). */
  stallTimeoutMs?: number;
}

export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/**
 * A deadline on silence for one attempt: `signal` aborts with a TransientError once `ms` pass without `progress()`.
 * fetch() alone waits 300 s for headers and forever for a body that stalls; a deadline on silence still lets a large
 * download take as long as it keeps moving.
 */
export function stallDeadline(what: string, ms: number): { signal: AbortSignal; progress(): void; clear(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new TransientError(`${what}: no data for ${ms} ms`)), ms);
  };
  arm();
  return { signal: controller.signal, progress: arm, clear: () => clearTimeout(timer) };
}

/** An error worth another attempt: a 5xx/429 response, a reset connection or a body cut short. */
export class TransientError extends Error {}

export async function withRetries<T>(what: string, opts: DownloadRetryOptions, log: Log | undefined, run: () => Promise<T>): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 4);
  const base = opts.baseDelayMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      const transient = err instanceof TransientError || isNetworkError(err);
      if (!transient || attempt >= attempts) {
        if (transient) throw new Error(`${what} failed after ${attempt} attempts: ${describe(err as Error)}`, { cause: err });
        throw err;
      }
      const delay = base * 2 ** (attempt - 1);
      log?.(`${what}: ${describe(err as Error)}; retrying in ${delay} ms (attempt ${attempt + 1} of ${attempts})`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

// undici's "fetch failed" says nothing by itself; the system error behind it does, in the words libs/github and
// libs/r2 use for it ("ECONNREFUSED: nothing accepts connections there").
function describe(err: Error): string {
  const net = networkErrorCode(err);
  if (net && !err.message.includes(net)) return `${err.message} (${describeNetworkError(net)})`;
  const cause = err.cause as { code?: string; message?: string } | undefined;
  return cause?.message && !err.message.includes(cause.message) ? `${err.message} (${cause.message})` : err.message;
}

// undici reports resets and early EOF as TypeError("fetch failed"/"terminated") with a system error as cause. Not
// `instanceof Error`: fetch's errors come from another realm under jest's module VM.
function isNetworkError(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown; code?: string; cause?: { code?: string } } | null;
  if (typeof e !== 'object' || e === null) return false;
  const code = e.code ?? e.cause?.code;
  if (code && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'].includes(code)) return true;
  return e.name === 'TypeError' && typeof e.message === 'string' && /fetch failed|terminated/.test(e.message);
}
