// The one interface both backends (S3/R2 and a local directory) implement. Keys are relative to the store's prefix.
import type { Readable } from 'node:stream';
import { StoreError } from './errors.js';

export interface ObjectInfo {
  size: number;
  /**
   * Hex sha256 the object's record claims (S3 user metadata `sha256`, the directory store's metadata). Whoever can write
   * the bucket can set it to anything: it names what an upload meant to store, never proves what is there (proveBytes).
   */
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
  /** sha256 of the source's bytes as the caller verified them: the source must hold them, and the copy records it. */
  sha256: string;
  /** A local file holding those bytes (lets a multipart server checksum be compared without reading the object). */
  file?: string;
  /** The source's etag as the caller just proved or wrote it: the copy is then made from exactly that object
   *  (S3 CopySourceIfMatch) without proving it again. */
  sourceEtag?: string;
  contentType?: string;
  cacheControl?: string;
}

/** The bytes a caller expects under a key. */
export interface ExpectedBytes {
  sha256: string;
  size?: number;
  /** A local file holding them: lets a multipart (composite) server checksum be compared without a download. */
  file?: string;
}

/** How far proveBytes may go: never read the object (size and server checksum only), read when nothing else decides,
 *  or always read and hash it. */
export type ReadPolicy = 'never' | 'if-needed' | 'always';

/**
 * What a store proved about the bytes under a key, from nothing a bucket writer can set: the size the server reports,
 * a checksum the server computed over the bytes it stores (S3 verifies a sent x-amz-checksum-sha256 and refuses other
 * bytes), or the bytes themselves, read and hashed. Recorded metadata never decides.
 */
export interface BytesProof {
  size: number;
  etag: string;
  /** true: the expected bytes; false: other bytes; undefined: undecided (ReadPolicy 'never' and no server checksum). */
  same: boolean | undefined;
  /** What decided `same`. */
  by?: 'size' | 'server checksum' | 'read';
  /** The sha256 of the bytes found, when known (read, or a whole-object server checksum). */
  sha256?: string;
}

/** What a store observes of an object without reading it, for proveWith. */
export interface Observed {
  size: number;
  etag: string;
  /** The server's checksum against the expected bytes: undefined when it offers none it can compare. */
  checksum?: (expected: ExpectedBytes) => Promise<{ same: boolean; sha256?: string } | undefined>;
}

/** Both stores' proveBytes: size, then the server's checksum, then (as the policy allows) the bytes read and hashed. */
export async function proveWith(
  observed: Observed | null,
  expected: ExpectedBytes,
  read: ReadPolicy,
  readHash: () => Promise<{ sha256: string; size: number; etag: string } | null>,
): Promise<BytesProof | null> {
  if (!observed) return null;
  const hashed = async (): Promise<BytesProof | null> => {
    const r = await readHash();
    if (!r) return null;
    const same = r.sha256 === expected.sha256 && (expected.size === undefined || r.size === expected.size);
    return { size: r.size, etag: r.etag, same, by: 'read', sha256: r.sha256 };
  };
  if (read === 'always') return hashed();
  const { size, etag } = observed;
  if (expected.size !== undefined && size !== expected.size) return { size, etag, same: false, by: 'size' };
  const server = await observed.checksum?.(expected);
  if (server) return { size, etag, same: server.same, by: 'server checksum', ...(server.sha256 ? { sha256: server.sha256 } : {}) };
  return read === 'never' ? { size, etag, same: undefined } : hashed();
}

/** What a write did: skipped (the bytes were proved in place) or written, and what it wrote over when the key held other
 *  bytes (an unconditional write; the caller says so). */
export interface WriteResult {
  skipped: boolean;
  etag: string;
  replaced?: BytesProof;
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
  /** Whether `key` holds the expected bytes, proved as BytesProof says (never by recorded metadata); null when absent. */
  proveBytes(key: string, expected: ExpectedBytes, read?: ReadPolicy): Promise<BytesProof | null>;
  /**
   * Uploads a file unless the object is proved to hold these bytes already (`skipped: true`, proveBytes 'if-needed');
   * a conditional upload (ifMatch/ifNoneMatch) always writes, like putBytes.
   */
  putFile(key: string, path: string, opts?: PutOptions): Promise<WriteResult>;
  /**
   * Writes bytes. Unconditional writes skip when proved identical (like putFile); conditional writes (ifMatch/ifNoneMatch)
   * always write so the precondition is what decides.
   */
  putBytes(key: string, bytes: Uint8Array, opts?: PutBytesOptions): Promise<WriteResult>;
  /**
   * Copies the object at `sourceKey` to `key` inside the store (S3 CopyObject: no bytes pass through this machine), with
   * these headers; the source must be proved to hold `sha256`. Skipped like putFile when `key` is proved to hold them.
   */
  copy(sourceKey: string, key: string, opts: CopyOptions): Promise<WriteResult>;
  list(prefix: string): Promise<ListedObject[]>;
  delete(key: string): Promise<void>;
}

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
 * The object a copy is made from, as proveBytes just proved it: it must hold the bytes the caller verified. Anything
 * else (missing, other bytes) refuses the copy, naming both keys. Both stores' `copy` start here.
 */
export function copySource(where: string, sourceKey: string, key: string, source: BytesProof | null, sha256: string): BytesProof {
  if (source?.same) return source;
  const found = !source ? 'is missing' : source.sha256 ? `holds sha256 ${source.sha256}` : `holds other bytes (${source.by})`;
  throw new StoreError(
    `cannot copy ${JSON.stringify(sourceKey)} to ${JSON.stringify(key)} in ${where}: the source ${found}, expected ${sha256}`,
    'failed',
  );
}

/** The error a store throws for something under a key that it refuses to read as an object (kind 'refused-object'). */
export function refusedObject(message: string): StoreError {
  return new StoreError(message, 'refused-object');
}
