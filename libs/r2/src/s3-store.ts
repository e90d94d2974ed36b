// ObjectStore on S3/R2. Files larger than one part go up as a multipart upload read straight from the file by range
// (multipart.ts: no part buffered, aborted on failure so nothing partial appears under the key); the SDK's standard
// retry strategy provides backoff on 5xx, throttling and connection resets, for parts as for every other request.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { DEFAULT_DEADLINES, checkDeadline, requestHandlerOptions, type Deadlines } from './deadlines.js';
import { StoreError, translateS3Error } from './errors.js';
import {
  CompleteFailed,
  compositeChecksum,
  MAX_PART_SIZE,
  MIN_PART_SIZE,
  partDigests,
  planParts,
  uploadFileMultipart,
} from './multipart.js';
import { sha256Bytes, sha256File, type Log } from '@alloy-sysext/common';
import {
  assertValidKey,
  copySource,
  isConditional,
  normalizePrefix,
  proveWith,
  type BytesProof,
  type CopyOptions,
  type ExpectedBytes,
  type ListedObject,
  type ObjectInfo,
  type ObjectStore,
  type PutBytesOptions,
  type PutOptions,
  type ReadPolicy,
  type WriteResult,
} from './store.js';

export interface S3StoreOptions {
  bucket: string;
  prefix?: string;
  /** Explicit endpoint, e.g. `https://<account>.r2.cloudflarestorage.com` or a loopback peer. */
  endpoint?: string;
  /** Cloudflare account id: the endpoint becomes `https://<accountId>.r2.cloudflarestorage.com`. */
  accountId?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** R2 wants `auto` (the default). */
  region?: string;
  /** Path-style URLs (default true: works on R2 and on loopback peers without DNS). */
  forcePathStyle?: boolean;
  log?: Log;
  /** Attempts per request including the first (SDK standard retry strategy, exponential backoff with jitter). */
  maxAttempts?: number;
  /** Multipart part size in bytes (default 8 MiB; S3 minimum 5 MiB). Files up to one part use a single PUT. */
  partSize?: number;
  /** Parts in flight per upload (default 4). Parts are streamed from the file, so memory does not grow with it. */
  queueSize?: number;
  /** Connect timeout per attempt in ms (default 10 s); exceeding it fails the attempt. */
  connectTimeoutMs?: number;
  /** Request timeout per attempt in ms (default 120 s): until response headers, and the longest a body may stall. */
  requestTimeoutMs?: number;
}

const SHA256_META = 'sha256';

export function r2Endpoint(accountId: string): string {
  if (!/^[a-f0-9]{32}$/i.test(accountId)) {
    throw new Error(`R2 account id ${JSON.stringify(accountId)} is not 32 hex characters (Cloudflare dashboard → R2 → Account ID)`);
  }
  return `https://${accountId}.r2.cloudflarestorage.com`;
}

/**
 * The SDK (pinned at 3.1169.0 in package-lock) warns on every run under Node 20 that SDK versions published after January
 * 2027 will need Node 22. Nothing a user of this tool can act on: the pinned SDK keeps working on Node 20, which this
 * project supports (engines >= 20.19; CI also runs 22 and 24). Silenced through the SDK's own switch
 * (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, read in @aws-sdk/core emitWarningIfUnsupportedVersion) unless the
 * environment already sets it. Revisit when the SDK is upgraded past that date: move the Node floor to 22 then.
 */
function silenceNodeVersionSupportWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

export function createS3Store(opts: S3StoreOptions): ObjectStore {
  silenceNodeVersionSupportWarning();
  if (!opts.bucket) throw new Error('createS3Store: bucket is required');
  if (!opts.accessKeyId || !opts.secretAccessKey) throw new Error(`createS3Store: credentials are required for bucket "${opts.bucket}"`);
  const endpoint = opts.endpoint ?? (opts.accountId ? r2Endpoint(opts.accountId) : undefined);
  const endpointLabel = endpoint ?? 'the AWS S3 default endpoint';
  const prefix = normalizePrefix(opts.prefix, 'S3 store prefix');
  const bucket = opts.bucket;
  const log = opts.log ?? (() => {});
  const where = `s3://${bucket}${prefix ? `/${prefix}` : ''} at ${endpointLabel}`;
  const deadlines: Deadlines = {
    connectTimeoutMs: checkDeadline(opts.connectTimeoutMs ?? DEFAULT_DEADLINES.connectTimeoutMs, 'connectTimeoutMs'),
    requestTimeoutMs: checkDeadline(opts.requestTimeoutMs ?? DEFAULT_DEADLINES.requestTimeoutMs, 'requestTimeoutMs'),
  };
  const client = new S3Client({
    region: opts.region ?? 'auto',
    endpoint,
    forcePathStyle: opts.forcePathStyle ?? true,
    credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
    // R2 (and s3rver) reject or ignore the flexible-checksum trailers newer SDKs add by default.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: opts.maxAttempts ?? 5,
    // A peer that never connects, never answers or stalls mid-body fails the attempt (TimeoutError, retried like a
    // reset) instead of hanging: bounded by maxAttempts × (connect + request timeout) plus backoff.
    requestHandler: requestHandlerOptions(deadlines),
  });
  const partSize = checkWhole(
    opts.partSize ?? 8 * 1024 * 1024,
    MIN_PART_SIZE,
    MAX_PART_SIZE,
    'partSize',
    'bytes (S3 allows 5 MiB to 5 GiB)',
  );
  const queueSize = checkWhole(opts.queueSize ?? 4, 1, 64, 'queueSize', 'parts in flight');

  const fullKey = (key: string) => {
    assertValidKey(key);
    return prefix ? `${prefix}/${key}` : key;
  };
  const fail = (err: unknown, operation: string, key?: string, conditional = false) =>
    translateS3Error(err, { where, endpoint: endpointLabel, bucket, operation, key, conditional, deadlines });
  const isNotFound = (err: unknown) => {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || (e?.$metadata?.httpStatusCode === 404 && e?.name !== 'NoSuchBucket');
  };

  /** HEAD, asking for the server's checksum (x-amz-checksum-mode: ENABLED) along with the object's headers. */
  async function described(key: string): Promise<(ObjectInfo & { checksum?: string }) | null> {
    try {
      const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: fullKey(key), ChecksumMode: 'ENABLED' }));
      return {
        size: r.ContentLength ?? 0,
        sha256: r.Metadata?.[SHA256_META],
        etag: r.ETag ?? '',
        contentType: r.ContentType,
        cacheControl: r.CacheControl,
        ...(r.ChecksumSHA256 ? { checksum: r.ChecksumSHA256 } : {}),
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw fail(err, 'HEAD', key);
    }
  }

  async function head(key: string): Promise<ObjectInfo | null> {
    const info = await described(key);
    if (!info) return null;
    const { checksum: _, ...rest } = info;
    return rest;
  }

  /**
   * The server's SHA256 checksum against the expected bytes. Whole-object ("<base64>"): compared as is. Multipart
   * ("<base64>-<parts>", made from the parts' digests the server verified): compared with the same checksum of the
   * local file cut as this store cuts it; equal only for equal bytes. Undefined when there is nothing to compare.
   */
  async function serverChecksum(checksum: string, size: number, expected: ExpectedBytes) {
    const composite = /^([A-Za-z0-9+/=]+)-(\d+)$/.exec(checksum);
    if (!composite) {
      const sha256 = Buffer.from(checksum, 'base64').toString('hex');
      return /^[0-9a-f]{64}$/.test(sha256) ? { same: sha256 === expected.sha256, sha256 } : undefined;
    }
    if (!expected.file) return undefined;
    const parts = planParts(size, partSize);
    if (parts.length !== Number(composite[2])) return undefined;
    // another cut of the same bytes gives another checksum: only equality decides, a difference is left to a read
    return compositeChecksum(await partDigests(expected.file, parts)) === checksum ? { same: true } : undefined;
  }

  async function proveBytes(key: string, expected: ExpectedBytes, read: ReadPolicy = 'if-needed'): Promise<BytesProof | null> {
    const info = read === 'always' ? { size: 0, etag: '' } : await described(key);
    const observed = info && {
      size: info.size,
      etag: info.etag,
      ...('checksum' in info && info.checksum ? { checksum: (e: ExpectedBytes) => serverChecksum(info.checksum!, info.size, e) } : {}),
    };
    return proveWith(observed, expected, read, () => hashObject(key));
  }

  /** GET streamed through sha256: the bytes the bucket serves under `key`, hashed, never held in memory. */
  async function hashObject(key: string): Promise<{ sha256: string; size: number; etag: string } | null> {
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of r.Body as Readable) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      return { sha256: hash.digest('hex'), size, etag: r.ETag ?? '' };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw fail(err, 'GET', key);
    }
  }

  async function get(key: string): Promise<{ body: Buffer; etag: string } | null> {
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
      const body = Buffer.from(await r.Body!.transformToByteArray());
      return { body, etag: r.ETag ?? '' };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw fail(err, 'GET', key);
    }
  }

  async function getStream(key: string): Promise<{ body: Readable; size: number } | null> {
    try {
      // the body stalls under the request handler's deadlines like any other response
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
      return { body: r.Body as Readable, size: r.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw fail(err, 'GET', key);
    }
  }

  async function putFile(key: string, path: string, o: PutOptions = {}): Promise<WriteResult> {
    const { size } = await stat(path);
    const sha256 = o.sha256 ?? (await sha256File(path));
    const conditional = isConditional(o);
    const existing = conditional ? null : await proveBytes(key, { sha256, size, file: path });
    if (existing?.same) {
      o.onProgress?.({ key, loaded: size, total: size });
      return { skipped: true, etag: existing.etag };
    }
    const replaced = existing ? { replaced: existing } : {};
    // One part's worth or less: a single PUT of the bytes, replayable by the SDK's retries as they are.
    if (size <= partSize) return { skipped: false, etag: await putObject(key, await readFile(path), sha256, o), ...replaced };
    try {
      const r = await uploadFileMultipart({
        client,
        bucket,
        key: fullKey(key),
        path,
        size,
        partSize,
        partsInFlight: queueSize,
        contentType: o.contentType,
        cacheControl: o.cacheControl,
        metadata: { [SHA256_META]: sha256 },
        ifMatch: o.ifMatch,
        ifNoneMatch: o.ifNoneMatch,
        onProgress: (loaded) => o.onProgress?.({ key, loaded, total: size }),
        log,
      });
      return { skipped: false, etag: r.etag, ...replaced };
    } catch (err) {
      // Only CompleteMultipartUpload carries the precondition: a part's 404 or 412 is not a lost race.
      if (err instanceof CompleteFailed) throw fail(err.original, 'upload', key, conditional);
      throw fail(err, 'upload', key);
    }
  }

  async function putBytes(key: string, bytes: Uint8Array, o: PutBytesOptions = {}): Promise<WriteResult> {
    const sha256 = o.sha256 ?? sha256Bytes(bytes);
    const existing = isConditional(o) ? null : await proveBytes(key, { sha256, size: bytes.length });
    if (existing?.same) return { skipped: true, etag: existing.etag };
    return { etag: await putObject(key, bytes, sha256, o), skipped: false, ...(existing ? { replaced: existing } : {}) };
  }

  /** One PUT of the whole object (the SDK retries it with the same bytes); ifMatch/ifNoneMatch go with it. */
  async function putObject(key: string, bytes: Uint8Array, sha256: string, o: PutOptions): Promise<string> {
    const conditional = isConditional(o);
    try {
      const r = await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: fullKey(key),
          Body: bytes,
          ContentLength: bytes.length,
          ContentType: o.contentType,
          CacheControl: o.cacheControl,
          Metadata: { [SHA256_META]: sha256 },
          // the server verifies it against the bytes (BadDigest otherwise) and reports it on HEAD: proof, not a claim
          ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
          IfMatch: o.ifMatch,
          IfNoneMatch: o.ifNoneMatch,
        }),
      );
      o.onProgress?.({ key, loaded: bytes.length, total: bytes.length });
      return r.ETag ?? '';
    } catch (err) {
      throw fail(err, 'PUT', key, conditional);
    }
  }

  async function copy(sourceKey: string, key: string, o: CopyOptions): Promise<WriteResult> {
    const expected = { sha256: o.sha256, ...(o.file ? { file: o.file } : {}) };
    const proved = o.sourceEtag
      ? await described(sourceKey).then((s) => s && { size: s.size, etag: o.sourceEtag!, same: true as const })
      : await proveBytes(sourceKey, expected);
    const source = copySource(where, sourceKey, key, proved, o.sha256);
    const existing = await proveBytes(key, { ...expected, size: source.size });
    if (existing?.same) return { skipped: true, etag: existing.etag };
    if (source.size > MAX_PART_SIZE) {
      throw new StoreError(`cannot copy ${JSON.stringify(sourceKey)} (${source.size} bytes) in one CopyObject: S3 allows 5 GiB`, 'failed');
    }
    try {
      const r = await client.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: fullKey(key),
          CopySource: `${bucket}/${fullKey(sourceKey).split('/').map(encodeURIComponent).join('/')}`,
          // the bytes just proved (or written) under this etag, or nothing; the server copies their checksum along
          CopySourceIfMatch: source.etag,
          MetadataDirective: 'REPLACE',
          Metadata: { [SHA256_META]: o.sha256 },
          ContentType: o.contentType,
          CacheControl: o.cacheControl,
        }),
      );
      return { skipped: false, etag: r.CopyObjectResult?.ETag ?? '', ...(existing ? { replaced: existing } : {}) };
    } catch (err) {
      throw fail(err, 'COPY', key);
    }
  }

  async function list(listPrefix: string): Promise<ListedObject[]> {
    const base = prefix ? `${prefix}/` : '';
    const out: ListedObject[] = [];
    try {
      for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: base + listPrefix })) {
        for (const o of page.Contents ?? []) {
          if (!o.Key) continue;
          out.push({ key: o.Key.slice(base.length), size: o.Size ?? 0, etag: o.ETag ?? '' });
        }
      }
    } catch (err) {
      throw fail(err, 'LIST', listPrefix);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async function del(key: string): Promise<void> {
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw fail(err, 'DELETE', key);
    }
  }

  return { describe: () => where, head, get, proveBytes, getStream, putFile, putBytes, copy, list, delete: del };
}

/** A whole number within S3's limits, or an error naming the option and the range. */
function checkWhole(value: number, min: number, max: number, name: string, unit: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`createS3Store: ${name} ${value} is out of range: expected a whole number from ${min} to ${max} ${unit}`);
  }
  return value;
}
