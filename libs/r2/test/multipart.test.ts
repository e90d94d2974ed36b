import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PreconditionFailedError, StoreError } from '../src/errors.js';
import { MAX_PARTS, planParts } from '../src/multipart.js';
import { peerStore, pendingUploads, sha256, startS3Peer, storedBytes, tempDir, writeRandomFile, type S3Peer } from './helpers.js';

const MiB = 1024 * 1024;

describe('planParts', () => {
  it('cuts the file into partSize pieces, the last one shorter, covering every byte once', () => {
    expect(planParts(16 * MiB + 5, 5 * MiB)).toEqual([
      { partNumber: 1, start: 0, end: 5 * MiB - 1 },
      { partNumber: 2, start: 5 * MiB, end: 10 * MiB - 1 },
      { partNumber: 3, start: 10 * MiB, end: 15 * MiB - 1 },
      { partNumber: 4, start: 15 * MiB, end: 16 * MiB + 4 },
    ]);
  });

  it('grows the part size in whole MiB when the file would need more than 10 000 parts', () => {
    const size = 100_000 * MiB + 1;
    const parts = planParts(size, 8 * MiB);
    expect(parts.length).toBeLessThanOrEqual(MAX_PARTS);
    expect((parts[0].end + 1) % MiB).toBe(0);
    expect(parts.at(-1)!.end).toBe(size - 1);
  });
});

describe('multipart upload from the file against the S3 peer', () => {
  let peer: S3Peer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    peer = await startS3Peer({ bucket: 'multipart-test' });
    tmp = await tempDir();
  });
  afterAll(async () => {
    await peer.stop();
    await tmp.cleanup();
  });

  const seen = (key: string) => peer.requests.filter((r) => r.key === key);
  const partRequests = (key: string) => seen(key).filter((r) => r.method === 'PUT' && new URLSearchParams(r.query).has('partNumber'));
  const partStatuses = (key: string, n: number) =>
    partRequests(key)
      .filter((r) => new URLSearchParams(r.query).get('partNumber') === String(n))
      .map((r) => r.status);
  const aborts = (key: string) => seen(key).filter((r) => r.method === 'DELETE' && r.query.includes('uploadId='));
  const size = 16 * MiB + 1234; // four parts of 5 MiB: 5, 5, 5, 1 MiB + 1234 bytes

  it('sends each part as its byte range of the file: the object arrives byte-exact after 4 UploadPart requests', async () => {
    const store = peerStore(peer, { partSize: 5 * MiB, queueSize: 2 });
    const file = path.join(tmp.dir, 'four-parts.raw');
    const expected = await writeRandomFile(file, size);
    const progress: number[] = [];
    const r = await store.putFile('mp/four-parts.raw', file, { cacheControl: 'immutable', onProgress: (p) => progress.push(p.loaded) });

    expect(r.skipped).toBe(false);
    expect((await storedBytes(peer, 'mp/four-parts.raw')).equals(await readFile(file))).toBe(true);
    expect(await store.head('mp/four-parts.raw')).toMatchObject({ size, sha256: expected, cacheControl: 'immutable', etag: r.etag });
    const parts = partRequests('mp/four-parts.raw');
    expect(parts.map((p) => p.status)).toEqual([200, 200, 200, 200]);
    expect(parts.map((p) => Number(p.headers['content-length'])).sort((a, b) => a - b)).toEqual([MiB + 1234, 5 * MiB, 5 * MiB, 5 * MiB]);
    // Streamed bodies are signed UNSIGNED-PAYLOAD: no second pass over the bytes to hash each part for SigV4.
    expect(parts.every((p) => p.headers['x-amz-content-sha256'] === 'UNSIGNED-PAYLOAD')).toBe(true);
    expect(
      seen('mp/four-parts.raw')
        .filter((x) => x.method === 'POST')
        .map((x) => x.query.replace(/=.*/, '')),
    ).toEqual(['uploads', 'uploadId']);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(size);
    expect(await pendingUploads(peer, 'mp/four-parts.raw')).toEqual([]);
  });

  it('retries a failing part by reading its bytes from the file again (a 500, then a connection cut mid-body)', async () => {
    const store = peerStore(peer, { partSize: 5 * MiB });
    const key = 'mp/retried.raw';
    const file = path.join(tmp.dir, 'retried.raw');
    const expected = await writeRandomFile(file, size);
    peer.failNext({ method: 'PUT', key, query: /partNumber=2&/, status: 500 });
    peer.failNext({ method: 'PUT', key, query: /partNumber=3&/, dropConnection: true });
    peer.failNext({ method: 'PUT', key, query: /partNumber=3&/, nth: 2, status: 503 });

    await store.putFile(key, file);

    expect(partStatuses(key, 1)).toEqual([200]);
    expect(partStatuses(key, 2)).toEqual([500, 200]);
    expect(partStatuses(key, 3)).toEqual([0, 503, 200]);
    // Every attempt announced the part's own length, and the bytes that landed are the file's, in order.
    for (const p of partRequests(key)) {
      const n = Number(new URLSearchParams(p.query).get('partNumber'));
      expect(Number(p.headers['content-length'])).toBe(n === 4 ? MiB + 1234 : 5 * MiB);
    }
    expect(sha256(await storedBytes(peer, key))).toBe(expected);
    expect(await pendingUploads(peer, key)).toEqual([]);
  });

  it('a part that keeps stalling fails the upload by its deadline, aborts it and leaves neither object nor pending upload', async () => {
    const store = peerStore(peer, { partSize: 5 * MiB, maxAttempts: 2, requestTimeoutMs: 1500 });
    const key = 'mp/stalled.raw';
    const file = path.join(tmp.dir, 'stalled.raw');
    await writeRandomFile(file, size);
    peer.failNext({ method: 'PUT', key, query: /partNumber=2&/, stall: true, times: 5 });

    const err = await store.putFile(key, file).then(
      () => null,
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).kind).toBe('timeout');
    expect((err as Error).message).toContain('R2_REQUEST_TIMEOUT_MS');
    expect(partStatuses(key, 2)).toEqual([0, 0]);
    expect(aborts(key).map((x) => x.status)).toEqual([204]);
    expect(seen(key).some((x) => x.method === 'POST' && x.query.startsWith('uploadId='))).toBe(false);
    expect(await store.head(key)).toBeNull();
    expect(await pendingUploads(peer, key)).toEqual([]);
  }, 30_000);

  it('a conditional upload is refused when the object exists with other bytes: aborted, the old bytes stay', async () => {
    const store = peerStore(peer, { partSize: 5 * MiB });
    const key = 'mp/conditional.raw';
    const old = Buffer.from('the bytes already published\n');
    const first = await store.putBytes(key, old);
    const file = path.join(tmp.dir, 'conditional.raw');
    const expected = await writeRandomFile(file, size);

    const refused = await store.putFile(key, file, { ifNoneMatch: '*' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PreconditionFailedError);
    expect((refused as Error).message).toContain(JSON.stringify(key));
    const complete = seen(key).filter((x) => x.method === 'POST' && x.query.startsWith('uploadId='));
    expect(complete.map((x) => [x.status, x.headers['if-none-match']])).toEqual([[412, '*']]);
    expect(aborts(key).map((x) => x.status)).toEqual([204]);
    expect((await storedBytes(peer, key)).equals(old)).toBe(true);
    expect(await pendingUploads(peer, key)).toEqual([]);

    // If-Match: a stale etag loses; the current one wins and the new bytes land.
    await store.putBytes(key, Buffer.from('changed by another writer\n'));
    await expect(store.putFile(key, file, { ifMatch: first.etag })).rejects.toBeInstanceOf(PreconditionFailedError);
    const current = (await store.head(key))!;
    const r = await store.putFile(key, file, { ifMatch: current.etag });
    expect(r.skipped).toBe(false);
    expect(sha256(await storedBytes(peer, key))).toBe(expected);
    expect(await pendingUploads(peer, key)).toEqual([]);
  });

  it('a conditional upload of a small file (one PUT) follows the same rule', async () => {
    const store = peerStore(peer);
    const key = 'mp/small-conditional.txt';
    await store.putBytes(key, Buffer.from('one'));
    const file = path.join(tmp.dir, 'small.txt');
    await writeRandomFile(file, 1000);
    await expect(store.putFile(key, file, { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await storedBytes(peer, key)).toString()).toBe('one');
  });

  it('refuses part sizes S3 would reject, naming the option', () => {
    expect(() => peerStore(peer, { partSize: MiB })).toThrow(/partSize 1048576 is out of range: expected a whole number from 5242880/);
    expect(() => peerStore(peer, { queueSize: 0 })).toThrow(/queueSize 0 is out of range/);
  });
});
