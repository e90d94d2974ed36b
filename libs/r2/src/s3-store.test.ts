import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createServer } from 'node:net';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { StoreError } from './errors.js';
import { peerStore, pendingUploads, sha256, startS3Peer, tempDir, writeRandomFile, type S3Peer } from '../test/helpers.js';

describe('S3 store against the S3 peer', () => {
  let peer: S3Peer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    peer = await startS3Peer({ bucket: 'alloy-test' });
    tmp = await tempDir();
  });
  afterAll(async () => {
    await peer.stop();
    await tmp.cleanup();
  });

  it('round-trips bytes, metadata, listing and delete under the prefix', async () => {
    const store = peerStore(peer, { prefix: 'sysext/' });
    expect(store.describe()).toBe(`s3://alloy-test/sysext at ${peer.endpoint}`);
    const body = Buffer.from('alloy bytes\n');
    const put = await store.putBytes('alloy/a.raw', body, { contentType: 'application/octet-stream', cacheControl: 'no-cache' });
    expect(put.skipped).toBe(false);
    expect(await store.head('alloy/a.raw')).toEqual({
      size: body.length,
      sha256: sha256(body),
      etag: put.etag,
      contentType: 'application/octet-stream',
      cacheControl: 'no-cache',
    });
    const got = await store.get('alloy/a.raw');
    expect(got?.body.equals(body)).toBe(true);
    expect(got?.etag).toBe(put.etag);
    await store.putBytes('alloy/b.raw', Buffer.from('b'));
    await store.putBytes('other/c.raw', Buffer.from('c'));
    expect((await store.list('alloy/')).map((o) => [o.key, o.size])).toEqual([
      ['alloy/a.raw', body.length],
      ['alloy/b.raw', 1],
    ]);
    expect(peer.requests.some((r) => r.method === 'PUT' && r.key === 'sysext/alloy/a.raw')).toBe(true);
    await store.delete('alloy/a.raw');
    expect(await store.head('alloy/a.raw')).toBeNull();
    expect(await store.get('alloy/a.raw')).toBeNull();
    await store.delete('alloy/a.raw'); // deleting what is gone is fine
  });

  it('skips a file the bucket already has: the peer sees no second PUT', async () => {
    const store = peerStore(peer);
    const file = path.join(tmp.dir, 'small.raw');
    await writeFile(file, 'same bytes');
    const first = await store.putFile('skip/small.raw', file, { contentType: 'application/octet-stream' });
    const second = await store.putFile('skip/small.raw', file, { contentType: 'application/octet-stream' });
    expect(first.skipped).toBe(false);
    expect(second).toEqual({ skipped: true, etag: first.etag });
    const methods = peer.requests.filter((r) => r.key === 'skip/small.raw').map((r) => r.method);
    expect(methods).toEqual(['HEAD', 'PUT', 'HEAD']);
    // Different bytes are uploaded again.
    await writeFile(file, 'other bytes');
    expect((await store.putFile('skip/small.raw', file)).skipped).toBe(false);
    expect((await store.get('skip/small.raw'))?.body.toString()).toBe('other bytes');
  });

  describe('a skip is decided by what the bucket writer cannot forge', () => {
    const forge = (Key: string, Body: Buffer, sha: string) =>
      new S3Client({
        endpoint: peer.endpoint,
        region: peer.region,
        credentials: peer.credentials,
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
      }).send(new PutObjectCommand({ Bucket: peer.bucket, Key, Body, Metadata: { sha256: sha } }));

    it('an object re-put with other bytes of the same size and the original sha256 metadata is uploaded again', async () => {
      const store = peerStore(peer);
      const file = path.join(tmp.dir, 'genuine.raw');
      await writeFile(file, 'genuine image bytes');
      await store.putFile('forge/a.raw', file);
      // the attack: a bucket writer re-puts forged bytes with the genuine object's user metadata
      await forge('forge/a.raw', Buffer.from('forged image bytes!'), sha256(Buffer.from('genuine image bytes')));
      expect((await store.head('forge/a.raw'))!.sha256).toBe(sha256(Buffer.from('genuine image bytes')));
      expect((await store.putFile('forge/a.raw', file)).skipped).toBe(false);
      expect((await store.get('forge/a.raw'))!.body.toString()).toBe('genuine image bytes');
      await forge('forge/a.raw', Buffer.from('forged image bytes!'), sha256(Buffer.from('genuine image bytes')));
      expect(await store.proveBytes('forge/a.raw', { sha256: sha256(Buffer.from('genuine image bytes')), size: 19 })).toMatchObject({
        same: false,
        by: 'read',
        sha256: sha256(Buffer.from('forged image bytes!')),
      });
    });

    it('an object this store uploaded is proved by the checksum the server computed: HEAD only, single PUT or multipart', async () => {
      const store = peerStore(peer, { partSize: 5 * 1024 * 1024 });
      const small = path.join(tmp.dir, 'proved-small.raw');
      await writeFile(small, 'small bytes');
      const large = path.join(tmp.dir, 'proved-large.raw');
      const largeSha = await writeRandomFile(large, 11 * 1024 * 1024);
      await store.putFile('proved/small.raw', small);
      await store.putFile('proved/large.raw', large, { sha256: largeSha });
      const from = peer.requests.length;
      expect((await store.putFile('proved/small.raw', small)).skipped).toBe(true);
      expect((await store.putFile('proved/large.raw', large, { sha256: largeSha })).skipped).toBe(true);
      expect(peer.requests.slice(from).map((r) => `${r.method} ${r.key}`)).toEqual(['HEAD proved/small.raw', 'HEAD proved/large.raw']);
      expect(await store.proveBytes('proved/large.raw', { sha256: largeSha, file: large }, 'never')).toMatchObject({
        same: true,
        by: 'server checksum',
      });
      // without the local file, a multipart checksum decides nothing by itself: 'never' leaves it open, 'if-needed' reads
      expect((await store.proveBytes('proved/large.raw', { sha256: largeSha }, 'never'))!.same).toBeUndefined();
      expect(await store.proveBytes('proved/large.raw', { sha256: largeSha })).toMatchObject({ same: true, by: 'read' });
      // the same bytes put by someone else without a checksum: read and hashed, then skipped
      await forge('proved/small.raw', Buffer.from('small bytes'), 'anything');
      const again = peer.requests.length;
      expect((await store.putFile('proved/small.raw', small)).skipped).toBe(true);
      expect(peer.requests.slice(again).map((r) => `${r.method} ${r.key}`)).toEqual(['HEAD proved/small.raw', 'GET proved/small.raw']);
    });

    it('a copy refuses a source whose bytes were replaced (its metadata kept), and never skips over a forged destination', async () => {
      const store = peerStore(peer);
      const file = path.join(tmp.dir, 'copy-genuine.raw');
      await writeFile(file, 'genuine');
      const sha = sha256(Buffer.from('genuine'));
      await store.putFile('copyf/src.raw', file);
      await forge('copyf/src.raw', Buffer.from('forged!'), sha);
      await expect(store.copy('copyf/src.raw', 'copyf/dst.raw', { sha256: sha, file })).rejects.toThrow(
        `the source holds sha256 ${sha256(Buffer.from('forged!'))}, expected ${sha}`,
      );
      await store.putFile('copyf/src.raw', file);
      await forge('copyf/dst.raw', Buffer.from('forged!'), sha);
      expect((await store.copy('copyf/src.raw', 'copyf/dst.raw', { sha256: sha, file })).skipped).toBe(false);
      expect((await store.get('copyf/dst.raw'))!.body.toString()).toBe('genuine');
    });
  });

  it('uploads 101 MiB in parts through a 500 and a dropped connection, never showing a partial object', async () => {
    const store = peerStore(peer, { partSize: 8 << 20, queueSize: 4 });
    const file = path.join(tmp.dir, 'big.raw');
    const size = 101 * 1024 * 1024;
    const expected = await writeRandomFile(file, size);
    peer.failNext({ method: 'PUT', key: 'big/alloy.raw', query: /partNumber=3&/, status: 500 });
    peer.failNext({ method: 'PUT', key: 'big/alloy.raw', query: /partNumber=7&/, dropConnection: true });
    peer.failNext({ method: 'POST', key: 'big/alloy.raw', query: /uploadId=/, status: 503 });

    // Watch the final key for the whole upload: it must stay absent until complete.
    let watching = true;
    const sightings: number[] = [];
    const watcher = (async () => {
      while (watching) {
        const h = await store.head('big/alloy.raw');
        if (h) sightings.push(h.size);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const progress: number[] = [];
    const r = await store.putFile('big/alloy.raw', file, { onProgress: (p) => progress.push(p.loaded) });
    watching = false;
    await watcher;

    expect(r.skipped).toBe(false);
    expect(sightings.every((s) => s === size)).toBe(true);
    expect(progress.at(-1)).toBe(size);
    const head = await store.head('big/alloy.raw');
    expect(head).toMatchObject({ size, sha256: expected });
    const got = await store.get('big/alloy.raw');
    expect(sha256(got!.body)).toBe(expected);

    const mine = peer.requests.filter((x) => x.key === 'big/alloy.raw');
    const part = (n: number) =>
      mine.filter((x) => x.method === 'PUT' && new URLSearchParams(x.query).get('partNumber') === String(n)).map((x) => x.status);
    expect(part(3)).toEqual([500, 200]);
    expect(part(7)).toEqual([0, 200]);
    expect(mine.filter((x) => x.method === 'POST' && x.query.includes('uploadId=')).map((x) => x.status)).toEqual([503, 200]);
    expect(mine.filter((x) => x.method === 'PUT').length).toBe(Math.ceil(size / (8 << 20)) + 2);
  });

  it('a single PUT converges through a reset and a 500', async () => {
    const store = peerStore(peer);
    peer.failNext({ method: 'PUT', key: 'flaky.txt', dropConnection: true });
    peer.failNext({ method: 'PUT', key: 'flaky.txt', nth: 2, status: 500 });
    const body = Buffer.alloc(256 * 1024, 1);
    await store.putBytes('flaky.txt', body);
    expect(sha256((await store.get('flaky.txt'))!.body)).toBe(sha256(body));
    expect(peer.requests.filter((x) => x.key === 'flaky.txt' && x.method === 'PUT').map((x) => x.status)).toEqual([0, 500, 200]);
  });

  it('gives up cleanly when a part keeps failing: multipart aborted, nothing under the key', async () => {
    const store = peerStore(peer, { partSize: 5 << 20, maxAttempts: 2 });
    const file = path.join(tmp.dir, 'doomed.raw');
    await writeRandomFile(file, 11 << 20);
    peer.failNext({ method: 'PUT', key: 'doomed.raw', query: /partNumber=2&/, status: 500, times: 10 });
    const err = await store.putFile('doomed.raw', file).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toContain(peer.endpoint);
    expect((err as Error).message).toContain('alloy-test');
    expect(await store.head('doomed.raw')).toBeNull();
    const aborts = peer.requests.filter((x) => x.key === 'doomed.raw' && x.method === 'DELETE' && x.query.includes('uploadId='));
    expect(aborts.map((x) => x.status)).toEqual([204]);
    expect(await pendingUploads(peer, 'doomed.raw')).toEqual([]);
  });

  describe('friendly errors', () => {
    it('403: names endpoint and bucket, never the secret', async () => {
      const secret = 'sEcReT-should-never-leak-123';
      const store = peerStore(peer, { accessKeyId: 'WRONGKEY', secretAccessKey: secret, maxAttempts: 1 });
      const err = (await store.putBytes('x.txt', Buffer.from('x')).catch((e: unknown) => e)) as StoreError;
      expect(err).toBeInstanceOf(StoreError);
      expect(err.kind).toBe('credentials');
      expect(err.message).toContain(peer.endpoint);
      expect(err.message).toContain('"alloy-test"');
      expect(err.message).toContain('R2_ACCESS_KEY_ID');
      expect(`${err.message} ${err.stack} ${store.describe()}`).not.toContain(secret);
    });

    it('missing bucket', async () => {
      const store = peerStore(peer, { bucket: 'no-such-bucket', maxAttempts: 1 });
      const err = (await store.putBytes('x.txt', Buffer.from('x')).catch((e: unknown) => e)) as StoreError;
      expect(err.kind).toBe('no-such-bucket');
      expect(err.message).toMatch(/Bucket "no-such-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+/);
    });

    it('connection refused and unknown host', async () => {
      const port = await new Promise<number>((resolve) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as { port: number }).port;
          s.close(() => resolve(p));
        });
      });
      const refused = peerStore(peer, { endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
      const e1 = (await refused.head('x').catch((e: unknown) => e)) as StoreError;
      expect(e1.kind).toBe('unreachable');
      expect(e1.message).toContain(`http://127.0.0.1:${port}`);
      expect(e1.message).toContain('ECONNREFUSED');
      const unknown = peerStore(peer, { endpoint: 'http://no-such-host.invalid', maxAttempts: 1 });
      const e2 = (await unknown.list('').catch((e: unknown) => e)) as StoreError;
      expect(e2.kind).toBe('unreachable');
      expect(e2.message).toMatch(/ENOTFOUND|EAI_AGAIN/);
      expect(e2.message).toContain('"alloy-test"');
    });
  });
});

describe("the SDK's Node-version notice", () => {
  // Run in a child process: the SDK prints the notice once per process, through process.emitWarning.
  const stderrOf = async (code: string) => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const env = { ...process.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    const { stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env,
      cwd: path.dirname(new URL(import.meta.url).pathname),
    });
    return stderr;
  };
  const store = `createS3Store({ bucket: 'b', accessKeyId: 'a', secretAccessKey: 's', endpoint: 'http://127.0.0.1:9' })`;

  it('is not printed when a store is created (nothing a user can act on; see silenceNodeVersionSupportWarning)', async () => {
    expect(await stderrOf(`import { createS3Store } from './s3-store.ts'; ${store};`)).not.toContain('NodeVersionSupportWarning');
  }, 30_000);

  it('would be printed on Node < 22 by the bare SDK client (so the test above can fail)', async () => {
    const bare = await stderrOf(`import { S3Client } from '@aws-sdk/client-s3'; new S3Client({ region: 'auto' });`);
    if (Number(process.versions.node.split('.')[0]) < 22) expect(bare).toContain('NodeVersionSupportWarning');
    else expect(bare).not.toContain('NodeVersionSupportWarning');
  }, 30_000);
});
