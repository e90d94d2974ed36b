import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_STALL_TIMEOUT_MS, TransientError, stallDeadline, withRetries, type RetryOptions } from './retry.js';

export interface Progress {
  received: number;
  total?: number;
}

/**
 * Stream `url` into `dest` (a temporary name chosen by the caller), returning the sha256 of what was written. Retried on
 * 5xx, broken connections and silence (no byte for `retry.stallTimeoutMs`); a body shorter than announced counts as broken.
 */
export async function download(opts: {
  url: string;
  dest: string;
  expectedSize?: number;
  retry?: RetryOptions;
  log?: (line: string) => void;
  onProgress?: (p: Progress) => void;
}): Promise<{ sha256: string; size: number }> {
  return withRetries(`download ${opts.url}`, opts.retry ?? {}, opts.log, async () => {
    const deadline = stallDeadline(`download ${opts.url}`, opts.retry?.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS);
    try {
      return await attempt(deadline);
    } finally {
      deadline.clear();
    }
  });

  async function attempt(deadline: ReturnType<typeof stallDeadline>): Promise<{ sha256: string; size: number }> {
    const res = await fetch(opts.url, { redirect: 'follow', signal: deadline.signal });
    if (res.status >= 500 || res.status === 429) throw new TransientError(`HTTP ${res.status}`);
    if (!res.ok || !res.body) throw new Error(`download ${opts.url} → HTTP ${res.status}: expected 200 with the asset`);
    const announced = Number(res.headers.get('content-length') ?? NaN);
    const total = Number.isFinite(announced) ? announced : opts.expectedSize;
    const hash = createHash('sha256');
    let received = 0;
    let lastReport = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        deadline.progress();
        hash.update(chunk);
        received += chunk.length;
        if (opts.onProgress && (received - lastReport >= 1 << 20 || received === total)) {
          lastReport = received;
          opts.onProgress({ received, total });
        }
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), meter, createWriteStream(opts.dest));
    } catch (err) {
      await rm(opts.dest, { force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new Error(`no space left writing ${opts.dest} (${received} bytes in): free disk space and retry`, { cause: err });
      }
      throw new TransientError(`connection broken after ${received} bytes (${(err as Error).message})`, { cause: err });
    }
    if (opts.expectedSize !== undefined && received !== opts.expectedSize) {
      await rm(opts.dest, { force: true });
      throw new TransientError(`received ${received} bytes, expected ${opts.expectedSize} (truncated download)`);
    }
    opts.onProgress?.({ received, total });
    return { sha256: hash.digest('hex'), size: received };
  }
}

/**
 * A small file (a release's checksum file) read into memory, with the same deadline and retries as a download, and no
 * more than `maxBytes`: a checksum file is a few lines, a large answer is not one.
 */
export async function downloadText(opts: {
  url: string;
  maxBytes: number;
  retry?: RetryOptions;
  log?: (line: string) => void;
}): Promise<string> {
  return withRetries(`download ${opts.url}`, opts.retry ?? {}, opts.log, async () => {
    const deadline = stallDeadline(`download ${opts.url}`, opts.retry?.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS);
    try {
      const res = await fetch(opts.url, { redirect: 'follow', signal: deadline.signal });
      if (res.status >= 500 || res.status === 429) throw new TransientError(`HTTP ${res.status}`);
      if (!res.ok || !res.body) throw new Error(`download ${opts.url} → HTTP ${res.status}: expected 200 with the file`);
      const chunks: Buffer[] = [];
      let received = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        deadline.progress();
        received += chunk.length;
        if (received > opts.maxBytes) {
          await res.body.cancel().catch(() => {});
          throw new Error(`download ${opts.url}: more than ${opts.maxBytes} bytes, too large for a checksum file`);
        }
        chunks.push(Buffer.from(chunk));
      }
      return Buffer.concat(chunks).toString('utf8');
    } finally {
      deadline.clear();
    }
  });
}
