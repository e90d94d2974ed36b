// Loopback S3 peer: s3rver 3.7.1 behind a front handler that adds what s3rver lacks and tests need:
//  - S3 conditional writes (If-Match / If-None-Match → 412) on PutObject and CompleteMultipartUpload,
//  - atomic object writes (s3rver streams straight into the final file; S3 never shows a partial object),
//  - SHA256 object checksums: verified on PUT and UploadPart (BadDigest), reported on HEAD/GET with
//    x-amz-checksum-mode: ENABLED, composite for multipart uploads, kept by copies (s3-checksums.ts),
//  - a request log and fault injection (status codes, connections dropped mid-body, requests never answered),
//  - a read-only access key (as an R2 API token with "Object Read only"): its writes are refused with 403 AccessDenied.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { makeAtomicPutObject, makeAtomicPutPart } from './s3-atomic.js';
import { checkCopySourcePrecondition, checkPreconditions } from './s3-preconditions.js';
import { keepChecksums } from './s3-checksums.js';
import { KeyLocks } from './s3-locks.js';
import { listenOnLoopback } from './listen.js';

const require = createRequire(import.meta.url);
// s3rver is CommonJS without types.
const S3rver: any = require('s3rver');

export interface S3PeerRequest {
  method: string;
  bucket: string;
  key: string;
  query: string;
  /** 0 while in flight or when the connection was dropped. */
  status: number;
  headers: Record<string, string>;
}

export interface FailNextOptions {
  method?: string;
  key?: RegExp | string;
  query?: RegExp;
  /** Response status (default 500, as S3's InternalError). */
  status?: number;
  /** Destroy the socket after part of the request body arrived instead of answering. */
  dropConnection?: boolean;
  /** Read the request and never answer, as a hung endpoint would (the client's deadline must end it). */
  stall?: boolean;
  /** Fail the nth matching request (1-based, default 1). */
  nth?: number;
  /** How many consecutive matching requests fail, starting at nth (default 1). */
  times?: number;
}

export interface S3Peer {
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A key that may read but not write (PUT, POST, DELETE answer 403 AccessDenied). */
  readOnlyCredentials: { accessKeyId: string; secretAccessKey: string };
  /** Another key of the same account (as a second R2 API token), read-write or read-only. */
  createKey(accessKeyId: string, opts?: { readOnly?: boolean }): { accessKeyId: string; secretAccessKey: string };
  region: string;
  requests: S3PeerRequest[];
  failNext(opts: FailNextOptions): void;
  /** s3rver's data directory (bucket data lives under <directory>/<bucket>). */
  directory: string;
  stop(): Promise<void>;
}

interface Fault extends Required<Pick<FailNextOptions, 'nth' | 'times'>> {
  opts: FailNextOptions;
  seen: number;
}

// s3rver keeps its keys in a registry of its dummy account (it does not check v4 signatures): more keys go there.
const AWSAccount: any = require('s3rver/lib/models/account.js');
const readOnlyKeys = new Set<string>();
function createKey(accessKeyId: string, opts: { readOnly?: boolean } = {}) {
  const key = { accessKeyId, secretAccessKey: `${accessKeyId}-secret` };
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(key.accessKeyId, key.secretAccessKey);
  if (opts.readOnly) readOnlyKeys.add(accessKeyId);
  return key;
}
const READ_ONLY = createKey('S3RVER-READ-ONLY', { readOnly: true });

/** The access key id a request is signed with (SigV4 `Credential=<id>/…`). */
export function accessKeyOf(headers: Record<string, string>): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(headers.authorization ?? '')?.[1];
}

/** `extraBuckets`: more buckets on the same endpoint (a cache bucket beside the release bucket, as two R2 buckets). */
export async function startS3Peer(opts: { bucket?: string; extraBuckets?: string[] } = {}): Promise<S3Peer> {
  const bucket = opts.bucket ?? 'test-bucket';
  // <root>/data is s3rver's directory; <root>/tmp holds in-flight uploads (same filesystem, so rename is atomic).
  const root = await mkdtemp(path.join(os.tmpdir(), 's3-peer-'));
  const directory = path.join(root, 'data');
  const s3rver = new S3rver({
    silent: true,
    directory,
    configureBuckets: [bucket, ...(opts.extraBuckets ?? [])].map((name) => ({ name })),
  });
  // silent at the logger, not only at its console transport: a request still finishing when stop() has closed the logger
  // would otherwise make winston print "Attempt to write logs with no transports" into the test output
  s3rver.logger.silent = true;
  await s3rver.configureBuckets();
  s3rver.store.putObject = makeAtomicPutObject(s3rver.store, path.join(root, 'tmp'));
  s3rver.store.putPart = makeAtomicPutPart(s3rver.store, path.join(root, 'tmp'));
  const checksums = keepChecksums(s3rver.store);
  const handle = s3rver.callback() as http.RequestListener;

  const requests: S3PeerRequest[] = [];
  const faults: Fault[] = [];
  const locks = new KeyLocks();

  // Every registered fault counts the requests it matches; the first whose window [nth, nth+times) is hit fires.
  const takeFault = (method: string, key: string, query: string): FailNextOptions | undefined => {
    let fired: FailNextOptions | undefined;
    for (const f of faults) {
      const o = f.opts;
      if (o.method && o.method.toUpperCase() !== method) continue;
      if (o.key !== undefined && !(typeof o.key === 'string' ? o.key === key : o.key.test(key))) continue;
      if (o.query && !o.query.test(query)) continue;
      f.seen += 1;
      if (!fired && f.seen >= f.nth && f.seen < f.nth + f.times) fired = o;
    }
    return fired;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://peer');
    const [, reqBucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const query = url.search.replace(/^\?/, '');
    const method = (req.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : String(v ?? '');
    const entry: S3PeerRequest = { method, bucket: reqBucket, key, query, status: 0, headers };
    requests.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
    });

    if (method !== 'GET' && method !== 'HEAD' && readOnlyKeys.has(accessKeyOf(headers) ?? '')) {
      req.resume();
      req.on('end', () => {
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(s3ErrorXml('AccessDenied', 'Access Denied (a read-only key)', key));
      });
      return;
    }
    const fault = takeFault(method, key, query);
    if (fault?.stall) {
      req.resume();
      return;
    }
    if (fault?.dropConnection) {
      // The request goes on to s3rver as usual, but the connection is cut once body bytes have arrived, as a network
      // reset mid-upload would: s3rver sees a truncated, aborted body.
      const cut = () => req.socket.destroy();
      if (Number(req.headers['content-length'] ?? 0) > 0) req.once('data', cut);
      else setImmediate(cut);
    } else if (fault) {
      const status = fault.status ?? 500;
      // Drain the body first so the client reads our response instead of failing on a write error.
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(s3ErrorXml(status === 503 ? 'SlowDown' : 'InternalError', `injected fault (status ${status})`, key));
      });
      return;
    }
    route(req, res, url, method, reqBucket, key);
  });

  const route = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, method: string, reqBucket: string, key: string) => {
    if (method === 'DELETE' && url.searchParams.has('uploadId')) {
      void abortMultipartUpload(reqBucket, url.searchParams.get('uploadId') ?? '', key, res);
      return;
    }
    // Requests on an object itself (not a multipart part upload) are serialised per key so a precondition check
    // and the write that follows it are one atomic step, and reads never see an object between file and metadata.
    const isPart = url.searchParams.has('partNumber');
    const isObjectRequest = reqBucket !== '' && key !== '' && !isPart && !url.searchParams.has('uploads');
    if (!isObjectRequest) {
      handle(req, res);
      return;
    }
    void locks.run(`${reqBucket}/${key}`, async () => {
      const done = new Promise<void>((resolve) => res.on('close', resolve));
      const isWrite = method === 'PUT' || (method === 'POST' && url.searchParams.has('uploadId'));
      if (isWrite) {
        const failure =
          (await checkPreconditions(s3rver.store, reqBucket, key, req.headers)) ??
          (method === 'PUT' ? await checkCopySourcePrecondition(s3rver.store, req.headers) : null);
        if (failure) {
          req.resume();
          res.writeHead(failure.status, { 'content-type': 'application/xml' });
          res.end(s3ErrorXml(failure.code, failure.message, key));
          await done;
          return;
        }
      }
      if ((method === 'GET' || method === 'HEAD') && /^enabled$/i.test(String(req.headers['x-amz-checksum-mode'] ?? ''))) {
        // S3 answers a checksum only when asked, and none for a range (it covers the whole object)
        const checksum = req.headers.range ? undefined : await checksums.checksumOf(reqBucket, key);
        if (checksum) {
          res.setHeader('x-amz-checksum-sha256', checksum.sha256);
          res.setHeader('x-amz-checksum-type', checksum.type);
        }
      }
      handle(req, res);
      await done;
    });
  };
  // s3rver 3.7.1 has no AbortMultipartUpload (405); S3 drops the parts and answers 204.
  const abortMultipartUpload = async (reqBucket: string, uploadId: string, key: string, res: http.ServerResponse) => {
    const dir = path.join(s3rver.store.getResourcePath(reqBucket, undefined, 'uploads'), path.basename(uploadId));
    const exists =
      uploadId !== '' &&
      (await stat(dir).then(
        () => true,
        () => false,
      ));
    if (!exists) {
      res.writeHead(404, { 'content-type': 'application/xml' });
      res.end(s3ErrorXml('NoSuchUpload', 'The specified multipart upload does not exist.', key));
      return;
    }
    // a part still being stored adds files while the directory is removed (ENOTEMPTY): S3 frees such parts too
    for (let attempt = 1; ; attempt++) {
      try {
        await rm(dir, { recursive: true, force: true });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' || attempt === 50) {
          res.writeHead(500, { 'content-type': 'application/xml' });
          res.end(s3ErrorXml('InternalError', `could not remove upload ${uploadId}: ${(err as Error).message}`, key));
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    res.writeHead(204);
    res.end();
  };
  server.keepAliveTimeout = 1000;
  const port = await listenOnLoopback(server);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    // s3rver's account; requests signed with a key it does not know get 403 InvalidAccessKeyId.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    readOnlyCredentials: READ_ONLY,
    createKey,
    region: 'us-east-1',
    requests,
    directory,
    failNext(o: FailNextOptions) {
      faults.push({ opts: o, nth: o.nth ?? 1, times: o.times ?? 1, seen: 0 });
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      s3rver.logger?.exceptions?.unhandle?.();
      s3rver.logger?.close?.();
      await rm(root, { recursive: true, force: true });
    },
  };
}

function s3ErrorXml(code: string, message: string, key: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${esc(message)}</Message>` +
    `<Key>${esc(key)}</Key><RequestId>peer</RequestId></Error>`
  );
}

/**
 * The R2_* variables that point the pipeline (storeFromEnv) at this peer, and ALLOY_PUBLIC_URL: s3rver answers anonymous
 * GETs, so `<endpoint>/<bucket>/<prefix>` plays R2's public bucket URL (publish refuses R2 without a public URL).
 */
export function r2Env(peer: Pick<S3Peer, 'endpoint' | 'bucket' | 'credentials' | 'region'>, prefix = 'alloy/'): Record<string, string> {
  return {
    ALLOY_PUBLIC_URL: `${peer.endpoint}/${peer.bucket}/${prefix.replace(/\/+$/, '')}`,
    R2_ENDPOINT: peer.endpoint,
    R2_ACCESS_KEY_ID: peer.credentials.accessKeyId,
    R2_SECRET_ACCESS_KEY: peer.credentials.secretAccessKey,
    R2_BUCKET: peer.bucket,
    R2_REGION: peer.region,
  };
}
