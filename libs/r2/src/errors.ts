// Turns SDK and file-system failures into messages that say what to fix, naming the endpoint and bucket
// (never a credential). `kind` lets callers branch without parsing text.

import { describeNetworkError, networkErrorCode } from '@alloy-sysext/common';
import { DEADLINE_VARIABLES, type Deadlines } from './deadlines.js';

/** `refused-object`: the bucket holds something under the key that is not an object (a symbolic link in the directory
 *  bucket): a broken bucket, named, never followed. */
export type StoreErrorKind =
  'credentials' | 'no-such-bucket' | 'unreachable' | 'timeout' | 'precondition-failed' | 'refused-object' | 'failed';

export class StoreError extends Error {
  constructor(
    message: string,
    readonly kind: StoreErrorKind,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** A conditional write lost: the object changed (412/409) or vanished (404 on If-Match) since it was read. */
export class PreconditionFailedError extends StoreError {
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, 'precondition-failed', status, options);
    this.name = 'PreconditionFailedError';
  }
}

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  Code?: string;
}

const CREDENTIAL_NAMES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'Forbidden',
  'InvalidToken',
  'ExpiredToken',
  'Unauthorized',
]);

export interface ErrorContext {
  /** e.g. `s3://bucket/prefix at https://…` */
  where: string;
  endpoint: string;
  bucket: string;
  operation: string;
  key?: string;
  conditional?: boolean;
  /** The deadlines in force, so a timeout names its limit and the variable that sets it. */
  deadlines?: Deadlines;
}

/**
 * Which of our deadlines an SDK error reports, if any. Judged by the message: the handler names its own connect, request
 * and idle-body timeouts, but it also renames every ECONNRESET/EPIPE/ETIMEDOUT socket error to `TimeoutError`.
 */
function deadlineHit(err: unknown): 'connect' | 'request' | undefined {
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length) {
    const e = stack.pop() as (SdkLikeError & { cause?: unknown }) | undefined;
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    if (/did not establish a connection with the server within/.test(e.message ?? '')) return 'connect';
    if (/exceeded the configured \d+ ms requestTimeout|request socket timed out after \d+ ms of inactivity/.test(e.message ?? ''))
      return 'request';
    stack.push(e.cause);
  }
  return undefined;
}

export function translateS3Error(err: unknown, ctx: ErrorContext): StoreError {
  if (err instanceof StoreError) return err;
  const e = (err ?? {}) as SdkLikeError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? e.Code ?? '';
  const what = `${ctx.operation}${ctx.key ? ` ${JSON.stringify(ctx.key)}` : ''}`;
  const detail = `${status ? `HTTP ${status} ` : ''}${name}`.trim();

  if (ctx.conditional && (status === 412 || status === 409 || name === 'PreconditionFailed' || (status === 404 && name === 'NoSuchKey'))) {
    return new PreconditionFailedError(
      `Conditional write of ${JSON.stringify(ctx.key)} to ${ctx.where} lost a race (${detail}): the object changed since it was read`,
      status,
      { cause: err },
    );
  }
  if (name === 'NoSuchBucket') {
    return new StoreError(
      `Bucket "${ctx.bucket}" does not exist at ${ctx.endpoint} (${what}): create it or set R2_BUCKET to an existing bucket`,
      'no-such-bucket',
      status,
      { cause: err },
    );
  }
  if (status === 401 || status === 403 || CREDENTIAL_NAMES.has(name)) {
    return new StoreError(
      `${ctx.endpoint} rejected the credentials for bucket "${ctx.bucket}" (${detail || 'forbidden'}) during ${what}: ` +
        'check R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY and that the API token has Object Read & Write on this bucket',
      'credentials',
      status,
      { cause: err },
    );
  }
  const hit = deadlineHit(err);
  if (hit) {
    const field = hit === 'connect' ? 'connectTimeoutMs' : 'requestTimeoutMs';
    const variable = DEADLINE_VARIABLES[field];
    const ms = ctx.deadlines?.[field];
    const failure =
      hit === 'connect'
        ? `did not accept a connection${ms ? ` within ${ms} ms (${variable})` : ''}`
        : `accepted the connection but stopped answering${ms ? ` (no response within ${ms} ms, ${variable})` : ''}`;
    const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts;
    return new StoreError(
      `${ctx.endpoint} ${failure} during ${what} on bucket "${ctx.bucket}"${attempts ? `, ${attempts} attempt(s)` : ''}: ` +
        `check the endpoint and the network, or raise ${variable} for a slow link`,
      'timeout',
      status,
      { cause: err },
    );
  }
  const net = networkErrorCode(err);
  if (net) {
    return new StoreError(
      `Cannot reach ${ctx.endpoint} for bucket "${ctx.bucket}" (${describeNetworkError(net)}) during ${what}: check R2_ENDPOINT / R2_ACCOUNT_ID and the network`,
      'unreachable',
      status,
      { cause: err },
    );
  }
  return new StoreError(`${what} on ${ctx.where} failed${detail ? ` (${detail})` : ''}: ${e.message ?? String(err)}`, 'failed', status, {
    cause: err,
  });
}
