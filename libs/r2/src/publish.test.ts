import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StoreError } from './errors.js';
import { createDirectoryStore } from './directory-store.js';
import { publishObjects } from './publish.js';
import { pruneVersion, versionKeyFilter } from './prune.js';
import type { ObjectStore } from './store.js';
import { peerStore, sha256, startS3Peer, tempDir, type S3Peer } from '../test/helpers.js';

describe('publishObjects and pruneVersion against the S3 peer', () => {
  let peer: S3Peer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  const files: Record<string, string> = {};
  beforeAll(async () => {
    peer = await startS3Peer();
    tmp = await tempDir();
    for (const name of ['alloy-1.2.3-amd64.raw', 'alloy-1.2.3-amd64.raw.sha256', 'alloy-1.2.3-amd64.raw.asc']) {
      files[name] = path.join(tmp.dir, name);
      await writeFile(files[name], `content of ${name}`);
    }
  });
  afterAll(async () => {
    await peer.stop();
    await tmp.cleanup();
  });
  const objects = () => Object.entries(files).map(([name, p]) => ({ key: `alloy/${name}`, path: p }));

  it('uploads with content types and immutable caching, verifies, and skips everything the second time', async () => {
    const store = peerStore(peer, { prefix: 'pub' });
    const lines: string[] = [];
    const first = await publishObjects(store, objects(), { log: (l) => lines.push(l) });
    expect(first.map((r) => [r.key, r.skipped, r.sha256])).toEqual(
      objects().map((o) => [o.key, false, sha256(Buffer.from(`content of ${path.basename(o.path)}`))]),
    );
    expect(await store.head('alloy/alloy-1.2.3-amd64.raw')).toMatchObject({
      contentType: 'application/octet-stream',
      cacheControl: 'public, max-age=31536000, immutable',
    });
    expect((await store.head('alloy/alloy-1.2.3-amd64.raw.asc'))?.contentType).toBe('application/pgp-signature');
    expect(lines.at(-1)).toMatch(/^verified 3 object\(s\) in s3:\/\/test-bucket\/pub at /);

    const putsBefore = peer.requests.filter((r) => r.method === 'PUT').length;
    const mark = peer.requests.length;
    const secondLines: string[] = [];
    const second = await publishObjects(store, objects(), { log: (l) => secondLines.push(l) });
    expect(second.every((r) => r.skipped)).toBe(true);
    expect(peer.requests.filter((r) => r.method === 'PUT').length).toBe(putsBefore);
    // one HEAD per object: the one that found it in place is its check (no second round trip to re-check it)
    expect(peer.requests.slice(mark).map((r) => r.method)).toEqual(['HEAD', 'HEAD', 'HEAD']);
    expect(secondLines.at(-1)).toMatch(/^verified 3 object\(s\) in .* \(3 found in place, 0 checked after upload\)$/);
  });

  it('copyOf: the second name is made on the server from the uploaded, re-checked object (one PUT of the bytes), and skipped when in place', async () => {
    const store = peerStore(peer, { prefix: 'copy' });
    const image = files['alloy-1.2.3-amd64.raw']!;
    const sha = sha256(Buffer.from('content of alloy-1.2.3-amd64.raw'));
    const list = [
      { key: 'alloy/alloy-1.2.3-amd64.raw', path: image, sha256: sha },
      { key: 'alloy/alloy-1.2.3.raw', path: image, sha256: sha, copyOf: 'alloy/alloy-1.2.3-amd64.raw' },
    ];
    const mark = peer.requests.length;
    const lines: string[] = [];
    const first = await publishObjects(store, list, { log: (l) => lines.push(l) });
    expect(first.map((r) => [r.key, r.skipped, r.sha256])).toEqual(list.map((o) => [o.key, false, sha]));
    const writes = peer.requests.slice(mark).filter((r) => r.method === 'PUT');
    expect(writes.map((r) => [r.key, r.headers['x-amz-copy-source'] ?? 'bytes'])).toEqual([
      ['copy/alloy/alloy-1.2.3-amd64.raw', 'bytes'],
      ['copy/alloy/alloy-1.2.3.raw', 'test-bucket/copy/alloy/alloy-1.2.3-amd64.raw'],
    ]);
    // the copy was made after the source's re-check, then re-checked itself
    const order = peer.requests.slice(mark).map((r) => `${r.method} ${r.key}`);
    expect(order.indexOf('PUT copy/alloy/alloy-1.2.3.raw')).toBeGreaterThan(order.lastIndexOf('HEAD copy/alloy/alloy-1.2.3-amd64.raw'));
    expect(order.at(-1)).toBe('HEAD copy/alloy/alloy-1.2.3.raw');
    // conditional on the source's ETag as re-checked: a source replaced in between fails the copy (412; the peer
    // enforces it as S3 and R2 do, tools/test-peers/src/s3.test.ts)
    const copyPut = peer.requests.slice(mark).find((r) => r.method === 'PUT' && r.headers['x-amz-copy-source'])!;
    expect(copyPut.headers['x-amz-copy-source-if-match']).toBe((await store.head('alloy/alloy-1.2.3-amd64.raw'))!.etag);
    expect(lines).toContain(
      `copied from alloy/alloy-1.2.3-amd64.raw to alloy/alloy-1.2.3.raw (${'content of alloy-1.2.3-amd64.raw'.length} bytes, sha256 ${sha})`,
    );
    expect((await store.get('alloy/alloy-1.2.3.raw'))!.body.toString()).toBe('content of alloy-1.2.3-amd64.raw');
    expect(await store.head('alloy/alloy-1.2.3.raw')).toMatchObject({
      sha256: sha,
      contentType: 'application/octet-stream',
      cacheControl: 'public, max-age=31536000, immutable',
    });
    const again = peer.requests.length;
    expect((await publishObjects(store, list)).every((r) => r.skipped)).toBe(true);
    expect(peer.requests.slice(again).filter((r) => r.method !== 'HEAD')).toEqual([]);
  });

  it('copyOf refuses a source it does not send in the same publish, or with another sha256', async () => {
    const store = peerStore(peer, { prefix: 'copy-refused' });
    const image = files['alloy-1.2.3-amd64.raw']!;
    const mark = peer.requests.length;
    await expect(publishObjects(store, [{ key: 'a.raw', path: image, sha256: 'a'.repeat(64), copyOf: 'b.raw' }])).rejects.toThrow(
      'publishObjects: a.raw is a copy of b.raw, which must be sent in the same publish with the same known sha256',
    );
    await expect(
      publishObjects(store, [
        { key: 'b.raw', path: image, sha256: 'b'.repeat(64) },
        { key: 'a.raw', path: image, sha256: 'a'.repeat(64), copyOf: 'b.raw' },
      ]),
    ).rejects.toThrow('a.raw is a copy of b.raw');
    expect(peer.requests.slice(mark)).toEqual([]);
  });

  it('refuses to return when an object changed between upload and re-check', async () => {
    const store = peerStore(peer, { prefix: 'tampered' });
    const other = peerStore(peer, { prefix: 'tampered' });
    // Another publisher overwrites the image right after our upload.
    const racing: ObjectStore = {
      ...store,
      async putFile(key, p, o) {
        const r = await store.putFile(key, p, o);
        if (key.endsWith('.raw')) await other.putBytes(key, Buffer.from('someone else'));
        return r;
      },
    };
    const err = (await publishObjects(racing, objects()).catch((e: unknown) => e)) as StoreError;
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toContain('not safe to write the manifest');
    expect(err.message).toContain('alloy/alloy-1.2.3-amd64.raw: size 12, expected');
  });

  it('prunes exactly one version, with a dry run first', async () => {
    const store = peerStore(peer, { prefix: 'prune' });
    for (const k of [
      'alloy-1.2.3-amd64.raw',
      'alloy-1.2.3-amd64.raw.asc',
      'alloy-1.2.3-arm64.raw.sha256',
      'alloy-1.2.3.raw',
      'alloy-1.2.30-amd64.raw',
      'alloy-1.2.3-rc.1-amd64.raw',
      'SHA256SUMS',
    ]) {
      await store.putBytes(`alloy/${k}`, Buffer.from(k));
    }
    const selector = { prefix: 'alloy/', filter: versionKeyFilter('alloy', '1.2.3') };
    const expected = [
      'alloy/alloy-1.2.3-amd64.raw',
      'alloy/alloy-1.2.3-amd64.raw.asc',
      'alloy/alloy-1.2.3-arm64.raw.sha256',
      'alloy/alloy-1.2.3.raw',
    ];
    const deletesBefore = peer.requests.filter((r) => r.method === 'DELETE').length;
    const dry = await pruneVersion(store, selector, { dryRun: true });
    expect(dry).toEqual({ keys: expected, dryRun: true });
    expect(peer.requests.filter((r) => r.method === 'DELETE').length).toBe(deletesBefore);
    expect(await pruneVersion(store, selector)).toEqual({ keys: expected, dryRun: false });
    expect((await store.list('alloy/')).map((o) => o.key)).toEqual([
      'alloy/SHA256SUMS',
      'alloy/alloy-1.2.3-rc.1-amd64.raw',
      'alloy/alloy-1.2.30-amd64.raw',
    ]);
    await expect(pruneVersion(store, ['alloy/SHA256SUMS'])).rejects.toThrow(/Refusing to delete alloy\/SHA256SUMS/);
  });

  // issue 22, item 11: publish printed every object twice (the store's line, then this one's)
  it.each(['S3', 'directory'])(
    '%s store: one line per object whether uploaded, copied or unchanged, however the store logs',
    async (kind) => {
      const lines: string[] = [];
      const log = (l: string) => lines.push(l);
      const store =
        kind === 'S3' ? peerStore(peer, { prefix: 'once', log }) : createDirectoryStore(path.join(tmp.dir, 'bucket'), { prefix: 'once' });
      const file = path.join(tmp.dir, 'image.raw');
      await writeFile(file, 'image bytes');
      const list = [
        { key: 'a.raw', path: file, sha256: sha256(Buffer.from('image bytes')) },
        { key: 'b.raw', path: file, sha256: sha256(Buffer.from('image bytes')), copyOf: 'a.raw' },
      ];
      for (const round of ['first', 'second']) {
        lines.length = 0;
        await publishObjects(store, list, { log });
        // every line but the closing summary is about one object, and each object has one
        expect([round, lines.slice(0, -1).sort()]).toEqual([
          round,
          round === 'first'
            ? [expect.stringMatching(/^copied from a\.raw to b\.raw /), expect.stringMatching(/^uploaded a\.raw /)]
            : [expect.stringMatching(/^unchanged a\.raw /), expect.stringMatching(/^unchanged b\.raw /)],
        ]);
        expect(lines.at(-1)).toMatch(/^verified 2 object\(s\) in /);
      }
    },
  );
});
