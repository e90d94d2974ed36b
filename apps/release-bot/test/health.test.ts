// Bucket health in `check` and `status`: a bucket hosts cannot use (SHA256SUMS.gpg not verifying SHA256SUMS, a listed
// object missing, different or unreadable) exits 5 with the problem and the repair, instead of "up to date". Bytes are
// proved by reading them (the newest version by default, all with --deep) or by the server's checksum, never by
// metadata a bucket writer sets.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFile, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createDirectoryStore, createS3Store } from '@alloy-sysext/r2';
import { r2Env, startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';
import { startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { check, EXIT, main, status } from '../src/index.js';
import { capture, seedBucket, tempWorkspace } from './helpers.js';

let upstream: UpstreamHost;
let ws: { root: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;
const store = () => createDirectoryStore(path.join(ws.root, 'dist', 'bucket'), { prefix: 'alloy/' });

beforeAll(async () => {
  upstream = await startUpstreamHost({ releases: [{ version: '1.10.0', arches: ['amd64'] }] });
  ws = await tempWorkspace({ consumers: [] });
  env = { ALLOY_UPSTREAM_API_URL: upstream.apiUrl };
});
afterAll(async () => {
  await Promise.all([upstream?.stop(), ws?.cleanup()]);
});

describe('bucket health (check, status)', () => {
  it('a healthy bucket: check exits 0 and says so', async () => {
    await seedBucket(ws.root, ['1.9.5', '1.10.0']);
    const c = capture(ws.root, env);
    expect(await check(c.ctx)).toBe(EXIT.OK);
    expect(c.stdout()).toContain(
      'bucket: healthy (signature valid, 6 listed objects present: 3 read and hashed, 3 not read (--deep reads them))',
    );
    const deep = capture(ws.root, env);
    expect(await main(['check', '--deep'], deep.ctx)).toBe(EXIT.OK);
    expect(deep.stdout()).toContain('bucket: healthy (signature valid, 6 listed objects present: 6 read and hashed)');
    const s = capture(ws.root, env);
    expect(await main(['status', '--deep'], s.ctx)).toBe(EXIT.OK);
    expect(s.stdout()).toContain('healthy (signature valid, 6 listed objects present: 6 read and hashed)');
  });

  it('publish stopped between SHA256SUMS and SHA256SUMS.gpg: exit 5 (not 0, not 10), naming it and the repair', async () => {
    await seedBucket(ws.root, ['1.9.5', '1.10.0']);
    const text = (await store().get('SHA256SUMS'))!.body.toString('utf8');
    await store().putBytes('SHA256SUMS', Buffer.from(text.split('\n').slice(3).join('\n')));
    const outputFile = path.join(ws.root, 'github-output');
    await writeFile(outputFile, '');
    const c = capture(ws.root, { ...env, GITHUB_OUTPUT: outputFile });
    expect(await main(['check'], c.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(EXIT.BUCKET_BROKEN).toBe(5);
    expect(c.stdout()).toContain('SHA256SUMS.gpg does not verify SHA256SUMS with a trusted key');
    expect(c.stdout()).toContain('repair: npx nx run alloy:publish --version=1.10.0');
    expect(await readFile(outputFile, 'utf8')).toContain('broken=true\nrepair_version=1.10.0\n');
    const s = capture(ws.root, env);
    expect(await main(['status'], s.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(s.stdout()).toContain('BROKEN: SHA256SUMS.gpg does not verify SHA256SUMS');
  });

  it('a listed object missing or replaced: exit 5 naming it', async () => {
    await seedBucket(ws.root, ['1.9.5', '1.10.0']);
    await store().delete('alloy-1.9.5-arm64.raw');
    await store().putBytes('alloy-1.10.0-amd64.raw', Buffer.from('something else'));
    const c = capture(ws.root, env);
    expect(await check(c.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(c.stdout()).toContain('alloy-1.9.5-arm64.raw is listed in SHA256SUMS but missing from the bucket');
    expect(c.stdout()).toMatch(/alloy-1\.10\.0-amd64\.raw in the bucket has sha256 [0-9a-f]{64}, SHA256SUMS lists [0-9a-f]{64}/);
  });

  /** Replaces `file` in the directory bucket with other bytes of the same length, as its metadata record still describes. */
  async function replaceInPlace(file: string): Promise<void> {
    const object = path.join(ws.root, 'dist/bucket/alloy', file);
    const before = await stat(object);
    const bytes = await readFile(object);
    await writeFile(object, Buffer.from(bytes.toString('latin1').replace(/./, 'X'), 'latin1'));
    await utimes(object, before.atime, before.mtime);
    const record = path.join(ws.root, 'dist/bucket.meta/objects/alloy', `${file}.json`);
    const meta = JSON.parse(await readFile(record, 'utf8'));
    await writeFile(record, JSON.stringify({ ...meta, mtimeMs: (await stat(object)).mtimeMs }));
  }

  it('the newest image replaced in place (same size, times and metadata record): check and status exit 5 naming it', async () => {
    await seedBucket(ws.root, ['1.9.5', '1.10.0']);
    await replaceInPlace('alloy-1.10.0-amd64.raw');
    const c = capture(ws.root, env);
    expect(await check(c.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(c.stdout()).toMatch(/alloy-1\.10\.0-amd64\.raw in the bucket has sha256 [0-9a-f]{64}, SHA256SUMS lists [0-9a-f]{64}/);
    const s = capture(ws.root, env);
    expect(await status(s.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(s.stdout()).toContain('BROKEN: alloy-1.10.0-amd64.raw in the bucket has sha256');
  });

  it('an older image replaced in place: the default names what it did not read; --deep reads it and exits 5', async () => {
    await seedBucket(ws.root, ['1.9.5', '1.10.0']);
    await replaceInPlace('alloy-1.9.5-arm64.raw');
    const c = capture(ws.root, env);
    expect(await check(c.ctx)).toBe(EXIT.OK);
    expect(c.stdout()).toContain('3 read and hashed, 3 not read (--deep reads them)');
    const deep = capture(ws.root, env);
    expect(await main(['check', '--deep'], deep.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(deep.stdout()).toMatch(/alloy-1\.9\.5-arm64\.raw in the bucket has sha256 [0-9a-f]{64}, SHA256SUMS lists/);
    const s = capture(ws.root, env);
    expect(await main(['status', '--deep'], s.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(s.stdout()).toContain('BROKEN: alloy-1.9.5-arm64.raw in the bucket has sha256');
  });

  it('a symlink in the local bucket (SHA256SUMS or an image, same bytes): check and status exit 5 naming it', async () => {
    for (const file of ['SHA256SUMS', 'alloy-1.10.0-arm64.raw']) {
      await seedBucket(ws.root, ['1.9.5', '1.10.0']);
      const object = path.join(ws.root, 'dist/bucket/alloy', file);
      const outside = path.join(ws.root, `outside-${file}`);
      await copyFile(object, outside);
      await rm(object);
      await symlink(outside, object);
      const c = capture(ws.root, env);
      expect([file, await check(c.ctx)]).toEqual([file, EXIT.BUCKET_BROKEN]);
      expect(c.stdout()).toContain(`${file} cannot be read from the bucket: ${object} in the bucket directory`);
      expect(c.stdout()).toContain('is a symlink: refusing to follow it');
      const s = capture(ws.root, env);
      expect([file, await status(s.ctx)]).toEqual([file, EXIT.BUCKET_BROKEN]);
      expect(s.stdout()).toContain(`BROKEN: ${file} cannot be read from the bucket`);
      await rm(object);
    }
  });

  it('SHA256SUMS.gpg missing: exit 5', async () => {
    await seedBucket(ws.root, ['1.10.0']);
    await store().delete('SHA256SUMS.gpg');
    const c = capture(ws.root, env);
    expect(await check(c.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(c.stdout()).toContain('SHA256SUMS.gpg is missing: hosts cannot verify SHA256SUMS');
  });
});

describe('bucket health on S3', () => {
  let s3: S3Peer;
  beforeAll(async () => {
    s3 = await startS3Peer({ bucket: 'health' });
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('the newest image re-put with other bytes of its size and its original sha256 metadata: exit 5 naming it', async () => {
    const bucket = createS3Store({ bucket: s3.bucket, endpoint: s3.endpoint, ...s3.credentials, region: s3.region, prefix: 'alloy/' });
    await seedBucket(ws.root, ['1.9.5', '1.10.0'], { store: bucket });
    const s3Env = { ...env, ...r2Env(s3) };
    expect(await check(capture(ws.root, s3Env).ctx)).toBe(EXIT.OK);
    const genuine = (await bucket.get('alloy-1.10.0-amd64.raw'))!.body;
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true });
    await client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: 'alloy/alloy-1.10.0-amd64.raw',
        Body: Buffer.from(genuine.toString('latin1').replace(/./, 'X'), 'latin1'),
        Metadata: { sha256: (await bucket.head('alloy-1.10.0-amd64.raw'))!.sha256! },
      }),
    );
    client.destroy();
    const c = capture(ws.root, s3Env);
    expect(await check(c.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(c.stdout()).toMatch(/alloy-1\.10\.0-amd64\.raw in the bucket has sha256 [0-9a-f]{64}, SHA256SUMS lists [0-9a-f]{64}/);
    expect(await status(capture(ws.root, s3Env).ctx)).toBe(EXIT.BUCKET_BROKEN);
  });
});
