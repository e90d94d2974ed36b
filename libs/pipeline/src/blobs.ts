// Blobs: the large files steps hand to each other (upstream assets, images), kept by content (sha256) outside the Nx
// cache entries, which hold only their .sha256 files (an asset is restored by its digest root's sha256, an image by its
// .sha256; upstream-trust.ts, artifacts.ts). Nx gzips every entry in memory before an upload and restores every entry
// of a chain (issue 21); a blob moves as is, once, and only when a step reads it. Kept in a local directory (hard
// links) and, when a shared Nx cache is configured, on its server through the same API under the key `sha256-<hex>`.
// A restored blob is checked against its name and is only ever as trusted as a cache restore: the steps verify what
// they read as before.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sha256File, tempPathFor, type Log } from '@alloy-sysext/common';

export interface BlobStore {
  /** Keeps `file`, whose bytes hash to `sha256`, for later runs and other runners. Never throws: a failure is logged. */
  keep(file: string, sha256: string): Promise<void>;
  /** Puts the bytes named `sha256` at `dest` (checked against the name) when a store has them; false when none has. */
  restore(sha256: string, dest: string): Promise<boolean>;
}

const SHA256 = /^[0-9a-f]{64}$/;
const blobKey = (sha256: string) => `sha256-${sha256}`;

function assertSha256(sha256: string): void {
  if (!SHA256.test(sha256)) throw new Error(`blob name "${sha256}" is not a lowercase hex sha256`);
}

/** A directory of blobs named by sha256, filled with hard links (a copy across file systems). */
export function localBlobStore(dir: string, log: Log): BlobStore {
  const blob = (sha256: string) => path.join(dir, sha256.slice(0, 2), sha256);
  return {
    async keep(file, sha256) {
      assertSha256(sha256);
      const target = blob(sha256);
      if (await stat(target).catch(() => undefined)) return;
      try {
        await mkdir(path.dirname(target), { recursive: true });
        await linkOrCopy(file, target);
      } catch (error) {
        log(`blob store: could not keep ${file} in ${dir} (${(error as Error).message}); later runs rebuild or download it`);
      }
    },
    async restore(sha256, dest) {
      assertSha256(sha256);
      const source = blob(sha256);
      if (!(await stat(source).catch(() => undefined))) return false;
      // A blob changed in place (it shares its inode with a file in dist/) no longer matches its name: dropped.
      if ((await sha256File(source)) !== sha256) {
        log(`blob store: ${source} does not hash to its name; removed`);
        await rm(source, { force: true });
        return false;
      }
      await mkdir(path.dirname(dest), { recursive: true });
      const temp = tempPathFor(dest);
      await linkOrCopy(source, temp);
      await rename(temp, dest);
      return true;
    },
  };
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await pipeline(createReadStream(from), createWriteStream(to, { flags: 'wx', mode: 0o644 }));
  }
}

export interface RemoteBlobOptions {
  /** The Nx self-hosted cache server (`NX_SELF_HOSTED_REMOTE_CACHE_SERVER`). */
  url: string;
  token?: string;
  /** Longest wait for a connection, for an answer, and between two chunks of a body. */
  timeoutMs: number;
  /** Names the setting that holds timeoutMs, for messages. */
  timeoutSetting: string;
}

/**
 * Blobs on an Nx self-hosted cache server (`GET`/`PUT /v1/cache/sha256-<hex>`, the body the blob's bytes as they are).
 * A read-only token (403) or an entry already there (409) is not an error; every request has a deadline.
 */
export function remoteBlobStore(options: RemoteBlobOptions, log: Log): BlobStore {
  const base = options.url.replace(/\/+$/, '');
  const where = (sha256: string) => `${base}/v1/cache/${blobKey(sha256)}`;
  return {
    async keep(file, sha256) {
      assertSha256(sha256);
      try {
        const size = (await stat(file)).size;
        const status = await request(options, 'PUT', where(sha256), { file, size });
        if (status === 403) log(`blob store: ${base} does not take uploads with this token (read-only); not kept there`);
        else if (status !== 200 && status !== 409) log(`blob store: ${base} answered ${status} to the upload of ${path.basename(file)}`);
      } catch (error) {
        log(`blob store: could not upload ${path.basename(file)} to ${base}: ${(error as Error).message}`);
      }
    },
    async restore(sha256, dest) {
      assertSha256(sha256);
      await mkdir(path.dirname(dest), { recursive: true });
      const temp = tempPathFor(dest);
      try {
        const status = await request(options, 'GET', where(sha256), { dest: temp, sha256 });
        if (status === 404) return false;
        if (status !== 200) throw new Error(`${base} answered ${status} for blob ${sha256}`);
        await rename(temp, dest);
        return true;
      } finally {
        await rm(temp, { force: true });
      }
    },
  };
}

/** Keeps in every store; restores from the first that has the blob, keeping what a later store gave in the earlier ones. */
export function blobStores(...stores: BlobStore[]): BlobStore {
  return {
    async keep(file, sha256) {
      await Promise.all(stores.map((s) => s.keep(file, sha256)));
    },
    async restore(sha256, dest) {
      for (const [i, store] of stores.entries()) {
        if (!(await store.restore(sha256, dest))) continue;
        await Promise.all(stores.slice(0, i).map((s) => s.keep(dest, sha256)));
        return true;
      }
      return false;
    },
  };
}

/**
 * One request with deadlines. PUT streams `file` as the body; GET streams a 200 body into `dest` and checks it hashes
 * to `sha256` (a mismatch is an error). Resolves to the HTTP status.
 */
function request(
  o: RemoteBlobOptions,
  method: 'GET' | 'PUT',
  url: string,
  body: { file: string; size: number } | { dest: string; sha256: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const headers: Record<string, string> = { accept: 'application/octet-stream' };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if ('file' in body) Object.assign(headers, { 'content-type': 'application/octet-stream', 'content-length': String(body.size) });
    const req = (target.protocol === 'https:' ? https : http).request(target, { method, headers });
    let answered = false;
    const fail = (why: string) => {
      req.destroy();
      reject(new Error(`${method} ${target.origin}: ${why}`));
    };
    // no byte either way for timeoutMs: connecting, waiting for the answer, or in the middle of a body
    req.setTimeout(o.timeoutMs, () => fail(`no progress within ${o.timeoutMs} ms (${o.timeoutSetting})`));
    // a server may answer an upload before reading all of it (409: already there) and close: the answer counts
    req.on('error', (error) => answered || reject(new Error(`${method} ${target.origin}: ${error.message}`)));
    req.on('response', (res) => {
      answered = method === 'PUT';
      const status = res.statusCode ?? 0;
      if (method === 'PUT' || status !== 200 || !('dest' in body)) {
        res.resume();
        res.on('end', () => resolve(status));
        return;
      }
      const hash = createHash('sha256');
      res.on('data', (chunk: Buffer) => hash.update(chunk));
      pipeline(res, createWriteStream(body.dest, { flags: 'wx', mode: 0o644 })).then(() => {
        const actual = hash.digest('hex');
        if (actual !== body.sha256) reject(new Error(`${method} ${target.origin}: blob ${body.sha256} came back with sha256 ${actual}`));
        else resolve(status);
      }, reject);
    });
    if ('file' in body) {
      const source = createReadStream(body.file);
      source.on('error', (error) => fail(error.message));
      source.pipe(req);
    } else req.end();
  });
}

/**
 * Puts a missing `file` back from the blob store by the sha256 that names it (a cache restored only the record or the
 * .sha256 that names it). True when it did: the bytes were hashed on the way and are `sha256`, so the caller need not
 * read them again to know it. A file that is there, or a blob no store has, is left to the caller's own check.
 */
export async function restoreMissing(ctx: { blobs?: BlobStore; log: Log }, file: string, sha256: string | undefined): Promise<boolean> {
  if (!ctx.blobs || !sha256 || !SHA256.test(sha256) || (await stat(file).catch(() => undefined))) return false;
  if (!(await ctx.blobs.restore(sha256, file))) return false;
  ctx.log(`${path.basename(file)}: restored from the blob store (sha256 ${sha256})`);
  return true;
}
