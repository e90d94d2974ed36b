// The blob store the steps keep zips and images in (blobs.ts): a local directory of hard links, and the Nx cache server
// (apps/nx-cache, the real one, over HTTP) under `sha256-<hex>`. Bytes are compared by sha256 (jest's deep equality
// of megabyte buffers takes minutes). A blob is only ever handed out as the bytes its name
// says; a read-only token, a stalled server and a wrong body each end as a named outcome, never a hang.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { createDirectoryStore } from '@alloy-sysext/r2';
import { parseTokens, startNxCacheServer, type NxCacheServer } from '@alloy-sysext/nx-cache';
import { startStallPeer, type StallPeer } from '@alloy-sysext/test-peers/stall';
import { blobStores, localBlobStore, remoteBlobStore, restoreMissing } from '../src/blobs.js';

const RW = 'rw-0123456789abcdef0123456789abcdef';
const RO = 'ro-0123456789abcdef0123456789abcdef';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dir: string;
let server: NxCacheServer;
let stall: StallPeer;
const serverLog: string[] = [];
const bytes = Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 7919) % 251));
const name = sha256(bytes);
let source: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'blobs-'));
  source = path.join(dir, 'dist/image.raw');
  await mkdir(path.dirname(source), { recursive: true });
  await writeFile(source, bytes);
  server = await startNxCacheServer({
    store: createDirectoryStore(path.join(dir, 'server')),
    tokens: parseTokens(`read-write:${RW},read-only:${RO}`),
    log: (l) => serverLog.push(l),
  });
  stall = await startStallPeer('silent');
});
afterAll(async () => {
  await Promise.all([server.close(), stall.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const remote = (token: string, log: (l: string) => void = () => {}, url = server.url) =>
  remoteBlobStore({ url, token, timeoutMs: 1000, timeoutSetting: 'ALLOY_NX_CACHE_TIMEOUT_MS' }, log);

describe('local blob store', () => {
  it('keeps a hard link and restores the bytes; a blob changed in place is dropped, not handed out', async () => {
    const logs: string[] = [];
    const local = localBlobStore(path.join(dir, 'local'), (l) => logs.push(l));
    await local.keep(source, name);
    const kept = path.join(dir, 'local', name.slice(0, 2), name);
    expect((await stat(kept)).ino).toBe((await stat(source)).ino);
    const dest = path.join(dir, 'restored/a.raw');
    expect(await local.restore(name, dest)).toBe(true);
    expect(sha256(await readFile(dest))).toBe(name);

    // in place, as a write into dist/ through the shared inode would
    const changed = Buffer.from(bytes);
    changed[100] ^= 0xff;
    await writeFile(kept, changed);
    expect(await local.restore(name, path.join(dir, 'restored/b.raw'))).toBe(false);
    expect(logs).toEqual([`blob store: ${kept} does not hash to its name; removed`]);
    await expect(stat(kept)).rejects.toThrow();
    await expect(stat(path.join(dir, 'restored/b.raw'))).rejects.toThrow();
    // the source shared that inode: put its bytes back for the tests below
    await rm(source);
    await writeFile(source, bytes);
  });
});

describe('remote blob store on the Nx cache server', () => {
  it('keeps the bytes as they are under sha256-<hex>, once; restores them streamed and checked', async () => {
    const logs: string[] = [];
    await remote(RW, (l) => logs.push(l)).keep(source, name);
    await remote(RW, (l) => logs.push(l)).keep(source, name);
    expect(serverLog.filter((l) => l.startsWith(`PUT sha256-${name}`))).toEqual([
      `PUT sha256-${name} 200 stored ${bytes.length} bytes`,
      `PUT sha256-${name} 409 cache entry already exists`,
    ]);
    expect(sha256(await readFile(path.join(dir, 'server/nx-cache', `sha256-${name}`)))).toBe(name);
    const dest = path.join(dir, 'remote/a.raw');
    expect(await remote(RO).restore(name, dest)).toBe(true);
    expect(sha256(await readFile(dest))).toBe(name);
    expect(await remote(RO).restore('0'.repeat(64), path.join(dir, 'remote/none.raw'))).toBe(false);
    expect(logs).toEqual([]);
  });

  it('a read-only token keeps nothing there, says so, and does not fail the step', async () => {
    const other = Buffer.concat([bytes, Buffer.from('ro')]);
    const file = path.join(dir, 'ro.raw');
    await writeFile(file, other);
    const logs: string[] = [];
    await remote(RO, (l) => logs.push(l)).keep(file, sha256(other));
    expect(logs).toEqual([`blob store: ${server.url} does not take uploads with this token (read-only); not kept there`]);
    expect(serverLog.at(-1)).toBe(`PUT sha256-${sha256(other)} 403 this token is read-only`);
  });

  it('a body that does not hash to its name is refused by the server (400), and by the client when one is served', async () => {
    const file = path.join(dir, 'liar.raw');
    await writeFile(file, Buffer.from('not what the name says'));
    const logs: string[] = [];
    const claimed = sha256(Buffer.from('something else'));
    await remote(RW, (l) => logs.push(l)).keep(file, claimed);
    expect(logs).toEqual([`blob store: ${server.url} answered 400 to the upload of liar.raw`]);

    // someone with write access to the server's storage changes a kept blob
    const stored = path.join(dir, 'server/nx-cache', `sha256-${name}`);
    const changed = Buffer.from(bytes);
    changed[5] ^= 0xff;
    await writeFile(stored, changed);
    try {
      const dest = path.join(dir, 'remote/tampered.raw');
      await expect(remote(RO).restore(name, dest)).rejects.toThrow(`blob ${name} came back with sha256 ${sha256(changed)}`);
      await expect(stat(dest)).rejects.toThrow();
    } finally {
      await writeFile(stored, bytes);
    }
  });

  it('a server that never answers: keep logs and goes on, restore fails, both within the deadline', async () => {
    const logs: string[] = [];
    const started = Date.now();
    await remote(RW, (l) => logs.push(l), stall.endpoint).keep(source, name);
    expect(logs).toEqual([
      `blob store: could not upload image.raw to ${stall.endpoint}: PUT ${stall.endpoint}: no progress within 1000 ms (ALLOY_NX_CACHE_TIMEOUT_MS)`,
    ]);
    await expect(remote(RW, () => {}, stall.endpoint).restore(name, path.join(dir, 'stalled.raw'))).rejects.toThrow(
      'no progress within 1000 ms (ALLOY_NX_CACHE_TIMEOUT_MS)',
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('local and remote together', () => {
  it('restores from the local store first; what the server gave is kept locally; restoreMissing leaves a present file', async () => {
    const local = localBlobStore(path.join(dir, 'both'), () => {});
    const both = blobStores(local, remote(RO));
    const dest = path.join(dir, 'both-dest/a.raw');
    const logs: string[] = [];
    expect(await restoreMissing({ blobs: both, log: (l) => logs.push(l) }, dest, name)).toBe(true);
    expect(logs).toEqual([`a.raw: restored from the blob store (sha256 ${name})`]);
    expect(sha256(await readFile(path.join(dir, 'both', name.slice(0, 2), name)))).toBe(name);
    const gets = serverLog.filter((l) => l.startsWith(`GET sha256-${name}`)).length;
    const again = path.join(dir, 'both-dest/b.raw');
    expect(await both.restore(name, again)).toBe(true);
    expect(serverLog.filter((l) => l.startsWith(`GET sha256-${name}`)).length).toBe(gets);
    // a file that is there is never replaced, whatever its bytes: the steps' own checks judge it
    await writeFile(again, 'edited');
    expect(await restoreMissing({ blobs: both, log: () => {} }, again, name)).toBe(false);
    expect(await readFile(again, 'utf8')).toBe('edited');
  });
});
