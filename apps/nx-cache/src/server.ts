// Nx's self-hosted remote cache HTTP API (https://nx.dev/docs/kb/self-hosted-caching, OpenAPI "Nx custom remote cache
// specification" 1.0.0) on top of an ObjectStore:
//   GET /v1/cache/{hash} → 200 tar bytes | 404 missing | 401 no/unknown token
//   PUT /v1/cache/{hash} → 200 stored | 409 already exists (entries are immutable) | 403 read-only token | 401
// Entries live at <prefix>/<hash>. The write is If-None-Match: * so two runners racing on one hash cannot overwrite
// each other. Bodies stream (a PUT to a spool file, then into the store; a GET from the store), so an entry of any size
// costs no more memory than a buffer. The steps keep their large files here too, named `sha256-<hex>` by their bytes
// (libs/pipeline blobs.ts): such a body must hash to its name, or it is refused (400).
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PreconditionFailedError, type ObjectStore } from '@alloy-sysext/r2';
import type { TokenTable } from './tokens.js';
import type { Log } from '@alloy-sysext/common';

export interface NxCacheServerOptions {
  store: ObjectStore;
  tokens: TokenTable;
  /** Key prefix inside the store (default `nx-cache`). */
  prefix?: string;
  /** Largest accepted entry (default 4 GiB); bigger uploads get 413. */
  maxEntryBytes?: number;
  /** Where uploads are spooled before they go into the store (default: a fresh directory under the OS temp dir). */
  spoolDir?: string;
  log?: Log;
}

export interface NxCacheServer {
  url: string;
  close(): Promise<void>;
}

const HASH = /^[A-Za-z0-9_-]{1,128}$/;
const BLOB = /^sha256-([0-9a-f]{64})$/;

class TooLarge extends Error {}

export function createNxCacheHandler(opts: NxCacheServerOptions): http.RequestListener {
  const prefix = (opts.prefix ?? 'nx-cache').replace(/^\/+|\/+$/g, '');
  const maxEntryBytes = opts.maxEntryBytes ?? 4 * 1024 ** 3;
  const log = opts.log ?? (() => {});
  let spool: Promise<string> | undefined;
  const spoolFile = async () =>
    path.join(
      await (spool ??= opts.spoolDir ? Promise.resolve(opts.spoolDir) : mkdtemp(path.join(os.tmpdir(), 'nx-cache-spool-'))),
      `${randomBytes(8).toString('hex')}.part`,
    );

  const reply = (req: http.IncomingMessage, res: http.ServerResponse, status: number, message: string, hash = '-') => {
    // Drain what the client still sends so it reads our status instead of a reset.
    req.resume();
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${message}\n`);
    log(`${req.method} ${hash} ${status} ${message}`);
  };

  return (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://nx-cache');
      const m = /^\/v1\/cache\/([^/]+)$/.exec(url.pathname);
      if (!m || !HASH.test(m[1])) return reply(req, res, 404, 'not found: expected /v1/cache/{hash}');
      const hash = m[1];
      if (req.method !== 'GET' && req.method !== 'PUT') return reply(req, res, 405, 'method not allowed', hash);
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      const role = bearer ? opts.tokens.roleOf(bearer[1]) : null;
      if (!role) return reply(req, res, 401, 'missing or unknown bearer token', hash);
      const key = prefix ? `${prefix}/${hash}` : hash;

      if (req.method === 'GET') {
        const entry = await opts.store.getStream(key);
        if (!entry) return reply(req, res, 404, 'no such cache entry', hash);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(entry.size) });
        await pipeline(entry.body, res);
        log(`GET ${hash} 200 ${entry.size} bytes`);
        return;
      }

      if (role !== 'read-write') return reply(req, res, 403, 'this token is read-only', hash);
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (Number.isFinite(declared) && declared > maxEntryBytes)
        return reply(req, res, 413, `entry larger than ${maxEntryBytes} bytes`, hash);
      if (await opts.store.head(key)) return reply(req, res, 409, 'cache entry already exists', hash);
      const file = await spoolFile();
      try {
        let size = 0;
        const digest = createHash('sha256');
        const count = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            size += chunk.length;
            if (size > maxEntryBytes) return done(new TooLarge());
            digest.update(chunk);
            done(null, chunk);
          },
        });
        try {
          await pipeline(req, count, createWriteStream(file, { flags: 'wx' }));
        } catch (err) {
          if (err instanceof TooLarge) return reply(req, res, 413, `entry larger than ${maxEntryBytes} bytes`, hash);
          throw err;
        }
        if (Number.isFinite(declared) && declared !== size)
          return reply(req, res, 400, `body has ${size} bytes, Content-Length said ${declared}`, hash);
        const sha256 = digest.digest('hex');
        const named = BLOB.exec(hash)?.[1];
        if (named && named !== sha256) return reply(req, res, 400, `body has sha256 ${sha256}, not the one its name says`, hash);
        try {
          await opts.store.putFile(key, file, { ifNoneMatch: '*', contentType: 'application/octet-stream', sha256 });
        } catch (err) {
          if (err instanceof PreconditionFailedError) return reply(req, res, 409, 'cache entry already exists', hash);
          throw err;
        }
        reply(req, res, 200, `stored ${size} bytes`, hash);
      } finally {
        await rm(file, { force: true });
      }
    })().catch((err: unknown) => {
      log(`${req.method} ${req.url} 500 ${(err as Error).message}`);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('cache storage failed\n');
      } else res.destroy();
    });
  };
}

export async function startNxCacheServer(opts: NxCacheServerOptions & { port?: number; host?: string }): Promise<NxCacheServer> {
  const server = http.createServer(createNxCacheHandler(opts));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
