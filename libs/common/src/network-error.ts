// Which network failure an error is (a DNS lookup, a refused or unreachable connection), wherever it sits in the error's
// causes, and its name in words: a message then names the real cause, not "HTTP 500" or a credentials problem.
const NETWORK_CODES: Record<string, string> = {
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
  ECONNREFUSED: 'nothing accepts connections there',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
};

interface ErrorLike {
  code?: string;
  message?: string;
  cause?: unknown;
  errors?: unknown[];
}

/** The system error code of a network failure in `error` or its causes (fetch wraps it in `cause`, happy eyeballs in
 *  AggregateError `errors`, some SDKs keep only the text), else undefined. */
export function networkErrorCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const stack: unknown[] = [error];
  while (stack.length) {
    const e = stack.pop() as ErrorLike | undefined;
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    if (e.code && Object.hasOwn(NETWORK_CODES, e.code)) return e.code;
    const inText = new RegExp(`\\b(${Object.keys(NETWORK_CODES).join('|')})\\b`).exec(e.message ?? '');
    if (inText) return inText[1];
    stack.push(e.cause, ...(e.errors ?? []));
  }
  return undefined;
}

/** "ENOTFOUND: the host name does not resolve" */
export function describeNetworkError(code: string): string {
  return `${code}: ${NETWORK_CODES[code] ?? 'a network failure'}`;
}
