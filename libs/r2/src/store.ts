// The one interface both backends (S3/R2 and a local directory) implement. Keys are relative to the store's prefix.
import type { Readable } from 'node:stream';
import { StoreError } from './errors.js';

export interface ObjectInfo {
  size: number;
  /** Hex sha256 of the bytes, recorded at upload time (S3 metadata `sha256`) or derived (directory store). */
  sha256?: string;
  /** Opaque entity tag to pass back as `ifMatch`. */
  etag: string;
  contentType?: string;
  cacheControl?: string;
}

export interface Progress {
  key: string;
  loaded: number;
  total: number;
}

/** A conditional write: the store writes only if the precondition holds when the object appears (PreconditionFailedError
 *  otherwise). A conditional write is never skipped as identical: the precondition is what decides. */
export interface WriteConditions {
  /** Write only if the current object has this etag (412 → PreconditionFailedError). */
  ifMatch?: string;
  /** Write only if no object exists under the key. */
  ifNoneMatch?: '*';
}

export interface PutOptions extends WriteConditions {
  contentType?: string;
  cacheControl?: string;
  /** Hex sha256 of the content when the caller already knows it (saves a read of the file). */
  sha256?: string;
  onProgress?: (progress: Progress) => void;
}

export type PutBytesOptions = PutOptions;

export interface CopyOptions {
  /** sha256 of the source's bytes as the caller verified them: the source must record it, and the copy records it. */
  sha256: string;
  contentType?: string;
  cacheControl?: string;
}

export function isConditional(o: WriteConditions): boolean {
  return o.ifMatch !== undefined || o.ifNoneMatch !== undefined;
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
}

export interface ObjectStore {
  /** Where this store points, for messages: never contains a secret. */
  describe(): string;
  head(key: string): Promise<ObjectInfo | null>;
  get(key: string): Promise<{ body: Buffer; etag: string } | null>;
  /** The object's bytes as a stream, for objects too large to hold in memory (a cache entry); null when absent. */
  getStream(key: string): Promise<{ body: Readable; size: number } | null>;
  /**
   * Uploads a file unless an object with the same size and sha256 is already there (`skipped: true`); a conditional
   * upload (ifMatch/ifNoneMatch) always writes, like putBytes.
   */
  putFile(key: string, path: string, opts?: PutOptions): Promise<{ skipped: boolean; etag: string }>;
  /**
   * Writes bytes. Unconditional writes skip when identical (like putFile); conditional writes (ifMatch/ifNoneMatch)
   * always write so the precondition is what decides.
   */
  putBytes(key: string, bytes: Uint8Array, opts?: PutBytesOptions): Promise<{ etag: string; skipped: boolean }>;
  /**
   * Copies the object at `sourceKey` to `key` inside the store (S3 CopyObject: no bytes pass through this machine), with
   * these headers and the sha256 the source records. Skipped like putFile when `key` already holds that size and sha256.
   */
  copy(sourceKey: string, key: string, opts: CopyOptions): Promise<{ skipped: boolean; etag: string }>;
  list(prefix: string): Promise<ListedObject[]>;
  delete(key: string): Promise<void>;
}

export type Log = (line: string) => void;

/** Rejects keys that could escape a directory store or that S3 would treat surprisingly. */
export function assertValidKey(key: string): void {
  if (
    typeof key !== 'string' ||
    key === '' ||
    key.startsWith('/') ||
    key.endsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    key.split('/').some((part) => part === '' || part === '.' || part === '..')
  ) {
    throw new Error(`Invalid object key ${JSON.stringify(key)}: expected a relative path like "alloy/alloy-1.2.3-amd64.raw"`);
  }
}

const PREFIX_SEGMENT = /^[A-Za-z0-9_.-]+$/;

/**
 * The one rule for key prefixes (recipe `bucket.prefix`, `R2_PREFIX`, both stores): empty, or segments of letters,
 * digits, `_`, `-`, `.` joined by `/`, none empty, `.` or `..`, no leading `/`; one trailing `/` is allowed.
 * "alloy/" → "alloy"; "" → "". `label` names the setting in the error.
 */
export function normalizePrefix(prefix: string | undefined, label = 'key prefix'): string {
  const value = prefix ?? '';
  if (value === '') return '';
  const body = value.endsWith('/') ? value.slice(0, -1) : value;
  const segments = body.split('/');
  if (value.startsWith('/') || segments.some((s) => s === '.' || s === '..' || !PREFIX_SEGMENT.test(s))) {
    throw new Error(
      `${label} ${JSON.stringify(value)} is not a key prefix: expected "" or path segments of letters, digits, "_", "-" and "." ` +
        'joined by "/" (none empty, "." or "..", no leading "/"), e.g. "alloy/"',
    );
  }
  return body;
}

/**
 * The object a copy is made from, as HEAD just described it: it must record the sha256 the caller verified. Anything
 * else (missing, other bytes, no sha256 recorded) refuses the copy, naming both keys. Both stores' `copy` start here.
 */
export function copySource(where: string, sourceKey: string, key: string, source: ObjectInfo | null, sha256: string): ObjectInfo {
  if (source && source.sha256 === sha256) return source;
  throw new StoreError(
    `cannot copy ${JSON.stringify(sourceKey)} to ${JSON.stringify(key)} in ${where}: the source ` +
      `${source ? `records sha256 ${source.sha256 ?? '(none)'}` : 'is missing'}, expected ${sha256}`,
    'failed',
  );
}
