import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { compareAndSwap } from '../src/cas.js';
import { createDirectoryStore } from '../src/directory-store.js';
import type { ObjectStore } from '../src/store.js';
import { peerStore, startS3Peer, tempDir, type S3Peer } from './helpers.js';

// Stand-in for the manifest lib: the manifest as a sorted set of lines.
const addLine = (line: string) => (current: string | null) =>
  [...new Set([...(current ?? '').split('\n').filter(Boolean), line])].sort().join('\n') + '\n';

/** The real store, except that before the first conditional PUT another writer gets in first. */
function withRival(store: ObjectStore, rival: () => Promise<unknown>): ObjectStore {
  let fired = false;
  return {
    ...store,
    async putBytes(key, bytes, opts) {
      if (!fired && (opts?.ifMatch || opts?.ifNoneMatch)) {
        fired = true;
        await rival();
      }
      return store.putBytes(key, bytes, opts);
    },
  };
}

describe('compareAndSwap', () => {
  let peer: S3Peer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    peer = await startS3Peer();
    tmp = await tempDir();
  });
  afterAll(async () => {
    await peer.stop();
    await tmp.cleanup();
  });

  it('S3: a lost race (412 at the peer) is re-read and retried; both entries survive', async () => {
    const a = peerStore(peer, { prefix: 'race1' });
    const b = peerStore(peer, { prefix: 'race1' });
    await compareAndSwap(a, 'SHA256SUMS', addLine('aaa  alloy-1.0.0-amd64.raw'));
    const r = await compareAndSwap(
      withRival(a, () => compareAndSwap(b, 'SHA256SUMS', addLine('bbb  alloy-1.1.0-amd64.raw'))),
      'SHA256SUMS',
      addLine('ccc  alloy-1.2.0-amd64.raw'),
    );
    expect(r).toEqual({ attempts: 2, changed: true });
    expect((await a.get('SHA256SUMS'))!.body.toString()).toBe(
      'aaa  alloy-1.0.0-amd64.raw\nbbb  alloy-1.1.0-amd64.raw\nccc  alloy-1.2.0-amd64.raw\n',
    );
    const puts = peer.requests.filter((x) => x.key === 'race1/SHA256SUMS' && x.method === 'PUT');
    expect(puts.map((x) => x.status)).toEqual([200, 200, 412, 200]);
    expect(puts[0].headers['if-none-match']).toBe('*');
    expect(puts[2].headers['if-match']).toBeDefined();
    expect(await a.head('SHA256SUMS')).toMatchObject({ cacheControl: 'no-cache', contentType: 'text/plain; charset=utf-8' });
  });

  it('S3: two concurrent writers creating the manifest both keep all their entries', async () => {
    const a = peerStore(peer, { prefix: 'race2' });
    const b = peerStore(peer, { prefix: 'race2' });
    const writer = async (store: ObjectStore, name: string) => {
      for (let i = 0; i < 5; i++) await compareAndSwap(store, 'SHA256SUMS', addLine(`${name}${i}`), { maxAttempts: 50 });
    };
    await Promise.all([writer(a, 'a'), writer(b, 'b')]);
    const lines = (await a.get('SHA256SUMS'))!.body.toString().trim().split('\n');
    expect(lines).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'b3', 'b4']);
    const statuses = peer.requests.filter((x) => x.key === 'race2/SHA256SUMS' && x.method === 'PUT').map((x) => x.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.every((s) => s === 200 || s === 412)).toBe(true);
  });

  it('S3: no write when the content is unchanged', async () => {
    const store = peerStore(peer, { prefix: 'same' });
    await compareAndSwap(store, 'SHA256SUMS', addLine('x'));
    const before = peer.requests.length;
    expect(await compareAndSwap(store, 'SHA256SUMS', addLine('x'))).toEqual({ attempts: 1, changed: false });
    expect(peer.requests.slice(before).map((x) => x.method)).toEqual(['GET']);
  });

  it('directory store: two store instances racing keep every entry', async () => {
    const root = path.join(tmp.dir, 'bucket');
    const a = createDirectoryStore(root);
    const b = createDirectoryStore(root);
    await compareAndSwap(a, 'SHA256SUMS', addLine('first'));
    const r = await compareAndSwap(
      withRival(a, () => compareAndSwap(b, 'SHA256SUMS', addLine('rival'))),
      'SHA256SUMS',
      addLine('mine'),
    );
    expect(r.attempts).toBe(2);
    const writer = async (store: ObjectStore, name: string) => {
      for (let i = 0; i < 5; i++) await compareAndSwap(store, 'SHA256SUMS', addLine(`${name}${i}`), { maxAttempts: 50 });
    };
    await Promise.all([writer(a, 'a'), writer(b, 'b')]);
    expect((await a.get('SHA256SUMS'))!.body.toString().trim().split('\n')).toEqual([
      'a0',
      'a1',
      'a2',
      'a3',
      'a4',
      'b0',
      'b1',
      'b2',
      'b3',
      'b4',
      'first',
      'mine',
      'rival',
    ]);
  });
});
