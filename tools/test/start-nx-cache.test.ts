import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { createS3Store } from '@alloy-sysext/r2';
import { startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RO = 'ro-token-0123456789abcdef';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

// tools/ci/start-nx-cache.sh exactly as the workflows run it: `bash tools/ci/start-nx-cache.sh` with the step's env.
describe('bash tools/ci/start-nx-cache.sh', () => {
  let peer: S3Peer;
  let dir: string;
  beforeAll(async () => {
    peer = await startS3Peer({ bucket: 'nx-cache-bucket' });
    dir = await mkdtemp(path.join(os.tmpdir(), 'start-nx-cache-'));
  });
  afterAll(async () => {
    await peer.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const baseEnv = () => ({
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    RUNNER_TEMP: dir,
    GITHUB_ENV: path.join(dir, 'github-env'),
  });
  const run = (env: Record<string, string>) =>
    execa('bash', ['tools/ci/start-nx-cache.sh'], { cwd: root, env, extendEnv: false, reject: false });

  it('without credentials (a fork) says so, exits 0 and leaves Nx without a remote cache', async () => {
    await writeFile(path.join(dir, 'github-env'), '');
    const r = await run({ ...baseEnv(), NX_CACHE_ROLE: 'read-only', NX_CACHE_TOKEN: '', R2_ACCESS_KEY_ID: '', R2_SECRET_ACCESS_KEY: '' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      'start-nx-cache: no read-only cache credentials in this run (e.g. a pull request from a fork): Nx runs without the shared cache',
    );
    expect(await readFile(path.join(dir, 'github-env'), 'utf8')).toBe('');
  });

  it('refuses an unknown role and a missing cache bucket', async () => {
    const r1 = await run({ ...baseEnv(), NX_CACHE_ROLE: 'admin' });
    expect(r1.exitCode).toBe(1);
    expect(r1.stderr).toBe('start-nx-cache: NX_CACHE_ROLE="admin" must be read-only or read-write');
    const r2 = await run({
      ...baseEnv(),
      NX_CACHE_ROLE: 'read-only',
      NX_CACHE_TOKEN: RO,
      R2_ACCESS_KEY_ID: 'a',
      R2_SECRET_ACCESS_KEY: 'b',
      NX_CACHE_BUCKET: '',
    });
    expect(r2.exitCode).toBe(1);
    expect(r2.stderr).toContain('set the repository variable NX_CACHE_BUCKET');
  });

  it('starts a read-only server on the cache bucket and points Nx at it', async () => {
    await writeFile(path.join(dir, 'github-env'), '');
    const seeded = createS3Store({ bucket: peer.bucket, endpoint: peer.endpoint, ...peer.credentials, region: peer.region });
    await seeded.putBytes('nx-cache/1234', Buffer.from('entry from main'));
    const port = await freePort();
    const r = await run({
      ...baseEnv(),
      NX_CACHE_PORT: String(port),
      NX_CACHE_ROLE: 'read-only',
      NX_CACHE_TOKEN: RO,
      NX_CACHE_BUCKET: peer.bucket,
      // The release bucket's name must not leak into the cache server: the script unsets it.
      R2_BUCKET: 'release-bucket',
      R2_ENDPOINT: peer.endpoint,
      R2_REGION: peer.region,
      R2_ACCESS_KEY_ID: peer.credentials.accessKeyId,
      R2_SECRET_ACCESS_KEY: peer.credentials.secretAccessKey,
    });
    const pid = Number(await readFile(path.join(dir, 'nx-cache.pid'), 'utf8'));
    try {
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
      expect(await readFile(path.join(dir, 'github-env'), 'utf8')).toBe(`NX_SELF_HOSTED_REMOTE_CACHE_SERVER=http://127.0.0.1:${port}\n`);
      const url = `http://127.0.0.1:${port}/v1/cache`;
      const got = await fetch(`${url}/1234`, { headers: { authorization: `Bearer ${RO}` } });
      expect(got.status).toBe(200);
      expect(await got.text()).toBe('entry from main');
      const put = await fetch(`${url}/5678`, { method: 'PUT', headers: { authorization: `Bearer ${RO}` }, body: 'poison' });
      expect(put.status).toBe(403);
      expect(await seeded.head('nx-cache/5678')).toBeNull();
    } finally {
      process.kill(pid, 'SIGTERM');
    }
  });
});
