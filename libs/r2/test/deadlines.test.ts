import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startStallPeer, type StallMode, type StallPeer } from '@alloy-sysext/test-peers/stall';
import { deadlinesFromEnv } from '../src/deadlines.js';
import { storeFromEnv } from '../src/env.js';
import { StoreError } from '../src/errors.js';
import { publishObjects } from '../src/publish.js';
import { createS3Store } from '../src/s3-store.js';
import { startS3Peer, tempDir, writeRandomFile, type S3Peer } from './helpers.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** Runs `op`, expecting a StoreError; returns it with the elapsed milliseconds. */
async function timed(op: () => Promise<unknown>): Promise<{ err: StoreError; ms: number }> {
  const start = Date.now();
  const err = await op().then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreError);
  return { err: err as StoreError, ms: Date.now() - start };
}

describe('every S3 request has a deadline that fails, not warns', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let small: string;
  beforeAll(async () => {
    tmp = await tempDir();
    small = path.join(tmp.dir, 'small.raw');
    await writeFile(small, 'alloy image bytes');
  });
  afterAll(async () => tmp.cleanup());

  describe.each<[StallMode, RegExp]>([
    ['silent', /accepted the connection but stopped answering \(no response within 300 ms, R2_REQUEST_TIMEOUT_MS\)/],
    ['stall-body', /accepted the connection but stopped answering \(no response within 300 ms, R2_REQUEST_TIMEOUT_MS\)/],
    ['unaccepting', /did not accept a connection within 300 ms \(R2_CONNECT_TIMEOUT_MS\)/],
  ])('against a %s peer', (mode, expected) => {
    let peer: StallPeer;
    beforeAll(async () => {
      peer = await startStallPeer(mode);
    });
    afterAll(async () => peer.stop());
    const store = () =>
      createS3Store({
        bucket: 'alloy',
        prefix: 'sysext',
        endpoint: peer.endpoint,
        ...credentials,
        maxAttempts: 2,
        connectTimeoutMs: 300,
        requestTimeoutMs: 300,
      });

    it.each([
      ['head', (s: ReturnType<typeof store>) => s.head('alloy/alloy-1.2.3-amd64.raw')],
      ['get', (s: ReturnType<typeof store>) => s.get('alloy/alloy-1.2.3-amd64.raw')],
      ['putBytes', (s: ReturnType<typeof store>) => s.putBytes('alloy/alloy-1.2.3-amd64.raw', Buffer.from('x'), { ifNoneMatch: '*' })],
      ['putFile', (s: ReturnType<typeof store>) => s.putFile('alloy/alloy-1.2.3-amd64.raw', small)],
      ['list', (s: ReturnType<typeof store>) => s.list('alloy/')],
    ])('%s fails in bounded time naming the endpoint and the key', async (_name, op) => {
      const { err, ms } = await timed(() => op(store()));
      expect(err.kind).toBe('timeout');
      expect(err.message).toMatch(expected);
      expect(err.message).toContain(peer.endpoint);
      expect(err.message).toContain(_name === 'list' ? '"alloy/"' : '"alloy/alloy-1.2.3-amd64.raw"');
      // A body that stalls after the headers is read after the SDK returned: that read is not retried.
      expect(err.message).toContain(mode === 'stall-body' && _name === 'get' ? 'on bucket "alloy": check' : '2 attempt(s)');
      expect(err.cause).toBeDefined();
      // Two attempts of 300 ms plus the SDK's backoff; a hang would hit jest's timeout instead.
      expect(ms).toBeLessThan(5_000);
    });
  });

  it('the stalling peers really answered or never answered what they were sent', async () => {
    const peer = await startStallPeer('stall-body');
    try {
      const s = createS3Store({ bucket: 'alloy', endpoint: peer.endpoint, ...credentials, maxAttempts: 1, requestTimeoutMs: 300 });
      await timed(() => s.get('k.raw'));
      expect(peer.requests).toEqual(['GET /alloy/k.raw?x-id=GetObject HTTP/1.1']);
    } finally {
      await peer.stop();
    }
  });

  describe('a multipart upload whose part never gets an answer', () => {
    let s3: S3Peer;
    beforeAll(async () => {
      s3 = await startS3Peer({ bucket: 'alloy-test' });
    });
    afterAll(async () => s3.stop());

    it('fails naming the key, aborts the upload and leaves nothing under the key', async () => {
      const store = createS3Store({
        bucket: s3.bucket,
        endpoint: s3.endpoint,
        ...s3.credentials,
        region: s3.region,
        partSize: 5 << 20,
        maxAttempts: 2,
        requestTimeoutMs: 1_000,
      });
      const file = path.join(tmp.dir, 'parts.raw');
      await writeRandomFile(file, 11 << 20);
      s3.failNext({ method: 'PUT', key: 'parts.raw', query: /partNumber=2&/, stall: true, times: 10 });
      const { err, ms } = await timed(() => store.putFile('parts.raw', file));
      expect(err.kind).toBe('timeout');
      expect(err.message).toContain(`${s3.endpoint} accepted the connection but stopped answering (no response within 1000 ms`);
      expect(err.message).toContain('"parts.raw"');
      expect(ms).toBeLessThan(10_000);
      expect(await store.head('parts.raw')).toBeNull();
      const mine = s3.requests.filter((r) => r.key === 'parts.raw');
      expect(mine.filter((r) => r.method === 'PUT' && r.query.includes('partNumber=2&')).map((r) => r.status)).toEqual([0, 0]);
      expect(mine.filter((r) => r.method === 'DELETE' && r.query.includes('uploadId=')).map((r) => r.status)).toEqual([204]);
    });

    it('a connection reset is not reported as a timeout (the SDK names both TimeoutError)', async () => {
      const store = createS3Store({ bucket: s3.bucket, endpoint: s3.endpoint, ...s3.credentials, region: s3.region, maxAttempts: 2 });
      s3.failNext({ method: 'PUT', key: 'reset.txt', dropConnection: true, times: 2 });
      const { err } = await timed(() => store.putBytes('reset.txt', Buffer.alloc(64 * 1024, 1)));
      expect(err.kind).not.toBe('timeout');
      expect(err.message).not.toContain('stopped answering');
      expect(err.message).toContain('"reset.txt"');
    });
  });

  describe('configured from the environment', () => {
    it('R2_CONNECT_TIMEOUT_MS / R2_REQUEST_TIMEOUT_MS bound publishObjects against a hung endpoint', async () => {
      const peer = await startStallPeer('silent');
      try {
        const store = storeFromEnv(
          {
            R2_ENDPOINT: peer.endpoint,
            R2_ACCESS_KEY_ID: 'id',
            R2_SECRET_ACCESS_KEY: 'secret',
            R2_BUCKET: 'alloy',
            R2_REQUEST_TIMEOUT_MS: '250',
          },
          { bucket: 'unused', prefix: '', directory: '/nonexistent' },
          { maxAttempts: 1 },
        );
        const { err, ms } = await timed(() => publishObjects(store, [{ key: 'alloy/alloy-1.2.3-amd64.raw', path: small }]));
        expect(err.message).toBe(
          `${peer.endpoint} accepted the connection but stopped answering (no response within 250 ms, R2_REQUEST_TIMEOUT_MS) ` +
            `during HEAD "alloy/alloy-1.2.3-amd64.raw" on bucket "alloy", 1 attempt(s): check the endpoint and the network, ` +
            'or raise R2_REQUEST_TIMEOUT_MS for a slow link',
        );
        expect(ms).toBeLessThan(3_000);
      } finally {
        await peer.stop();
      }
    });

    it('defaults, and refuses values that are not a timeout, naming the variable and value', () => {
      expect(deadlinesFromEnv({})).toEqual({ connectTimeoutMs: 10_000, requestTimeoutMs: 120_000 });
      expect(deadlinesFromEnv({ R2_CONNECT_TIMEOUT_MS: '500', R2_REQUEST_TIMEOUT_MS: ' 9000 ' })).toEqual({
        connectTimeoutMs: 500,
        requestTimeoutMs: 9000,
      });
      for (const bad of ['0', '-1', '1.5', '2m', '86400001']) {
        expect(() => deadlinesFromEnv({ R2_REQUEST_TIMEOUT_MS: bad })).toThrow(
          `R2_REQUEST_TIMEOUT_MS=${JSON.stringify(bad)} is not a timeout: expected a whole number of milliseconds from 1 to 86400000`,
        );
      }
      expect(() =>
        storeFromEnv(
          { R2_ENDPOINT: 'http://127.0.0.1:9', R2_ACCESS_KEY_ID: 'id', R2_SECRET_ACCESS_KEY: 's', R2_CONNECT_TIMEOUT_MS: 'soon' },
          {
            bucket: 'b',
            prefix: '',
            directory: '/nonexistent',
          },
        ),
      ).toThrow('R2_CONNECT_TIMEOUT_MS="soon" is not a timeout');
    });
  });
});
