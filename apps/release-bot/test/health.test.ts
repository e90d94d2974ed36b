// Bucket health in `check` and `status`: a bucket hosts cannot use (SHA256SUMS.gpg not verifying SHA256SUMS, a listed
// object missing or different) exits 5 with the problem and the repair, instead of "up to date".
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createDirectoryStore } from '@alloy-sysext/r2';
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
    expect(c.stdout()).toContain('bucket: healthy (signature valid, 6 objects listed and present)');
    expect(await status(capture(ws.root, env).ctx)).toBe(EXIT.OK);
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

  it('a listed object missing or replaced: exit 5 naming it (HEAD and recorded sha256, no download)', async () => {
    await seedBucket(ws.root, ['1.9.5', '1.10.0']);
    await store().delete('alloy-1.9.5-arm64.raw');
    await store().putBytes('alloy-1.10.0-amd64.raw', Buffer.from('something else'));
    const c = capture(ws.root, env);
    expect(await check(c.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(c.stdout()).toContain('alloy-1.9.5-arm64.raw is listed in SHA256SUMS but missing from the bucket');
    expect(c.stdout()).toMatch(/alloy-1\.10\.0-amd64\.raw in the bucket has sha256 [0-9a-f]{64}, SHA256SUMS lists [0-9a-f]{64}/);
  });

  it('SHA256SUMS.gpg missing: exit 5', async () => {
    await seedBucket(ws.root, ['1.10.0']);
    await store().delete('SHA256SUMS.gpg');
    const c = capture(ws.root, env);
    expect(await check(c.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(c.stdout()).toContain('SHA256SUMS.gpg is missing: hosts cannot verify SHA256SUMS');
  });
});
