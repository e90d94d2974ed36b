// Deadlines for every S3 request: a connect timeout and a request timeout that fail the attempt (the SDK's
// `requestTimeout` alone only logs a warning: @smithy/node-http-handler 4.x needs `throwOnRequestTimeout: true`).

export interface Deadlines {
  /** Milliseconds to establish the TCP (and TLS) connection. */
  connectTimeoutMs: number;
  /**
   * Milliseconds from sending a request until the response headers arrive (the request body, up to one multipart part,
   * included); also the longest a response body may stall without a byte.
   */
  requestTimeoutMs: number;
}

export const DEFAULT_DEADLINES: Deadlines = { connectTimeoutMs: 10_000, requestTimeoutMs: 120_000 };

export const DEADLINE_VARIABLES = { connectTimeoutMs: 'R2_CONNECT_TIMEOUT_MS', requestTimeoutMs: 'R2_REQUEST_TIMEOUT_MS' } as const;

/** Reads `R2_CONNECT_TIMEOUT_MS` / `R2_REQUEST_TIMEOUT_MS` (positive integers, milliseconds); unset or empty → defaults. */
export function deadlinesFromEnv(env: Record<string, string | undefined>): Deadlines {
  const read = (field: keyof Deadlines): number => {
    const name = DEADLINE_VARIABLES[field];
    const raw = env[name]?.trim();
    if (!raw) return DEFAULT_DEADLINES[field];
    return checkDeadline(Number(raw), `${name}=${JSON.stringify(env[name])}`);
  };
  return { connectTimeoutMs: read('connectTimeoutMs'), requestTimeoutMs: read('requestTimeoutMs') };
}

/** A deadline is a whole number of milliseconds between 1 and 24 hours; 0 would mean "wait forever" to the SDK. */
export function checkDeadline(ms: number, label: string): number {
  if (!Number.isInteger(ms) || ms < 1 || ms > 86_400_000) {
    throw new Error(`${label} is not a timeout: expected a whole number of milliseconds from 1 to 86400000 (e.g. 120000)`);
  }
  return ms;
}

/** The NodeHttpHandler options that make both deadlines fail the request instead of warning. */
export function requestHandlerOptions(d: Deadlines) {
  return {
    connectionTimeout: d.connectTimeoutMs,
    requestTimeout: d.requestTimeoutMs,
    throwOnRequestTimeout: true,
    // requestTimeout stops counting once headers arrive; an idle socket limit covers a body that stalls after them.
    socketTimeout: d.requestTimeoutMs,
  };
}
