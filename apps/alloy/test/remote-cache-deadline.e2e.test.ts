// A shared Nx cache that accepts connections and never answers (issue 20 finding 8): Nx's own cache client has no
// deadline, so `npx nx run alloy:publish …` used to wait forever. The plugin probes the server first: the run fails
// fast naming NX_SELF_HOSTED_REMOTE_CACHE_SERVER, or, with ALLOY_NX_CACHE_OPTIONAL=true, goes on without the remote
// cache and says so. Real nx in a copy of this workspace, typed as a user would, against the stall peer.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { copyWorkspace, npxNx, tail, taskStatus, tempDir } from '@alloy-sysext/test-peers/nx-workspace';
import { startStallPeer, type StallPeer } from '@alloy-sysext/test-peers/stall';
import { makeSyntheticBinary, makeZip } from '@alloy-sysext/test-peers/upstream';

let root: string;
let ws: string;
let zipDir: string;
let stall: StallPeer;
// Far beyond the probe's deadline below: on a client without one, the run is killed here and the test fails.
const HANG_LIMIT_MS = 60_000;

beforeAll(async () => {
  root = await tempDir('remote-cache-deadline-');
  [ws, stall] = await Promise.all([copyWorkspace(root, 'ws'), startStallPeer('silent')]);
  zipDir = path.join(root, 'zips');
  await mkdir(zipDir);
  const sums: string[] = [];
  for (const arch of ['amd64', 'arm64'] as const) {
    const zip = makeZip([{ name: `alloy-linux-${arch}`, data: makeSyntheticBinary(arch, 48 * 1024), mode: 0o100644 }]);
    await writeFile(path.join(zipDir, `alloy-linux-${arch}.zip`), zip);
    sums.push(`${createHash('sha256').update(zip).digest('hex')}  alloy-linux-${arch}.zip\n`);
  }
  await writeFile(path.join(zipDir, 'SHA256SUMS'), sums.join(''));
}, 120_000);
afterAll(async () => {
  await stall.stop();
  await rm(root, { recursive: true, force: true });
});

const cacheEnv = (extra: Record<string, string> = {}) => ({
  NX_SELF_HOSTED_REMOTE_CACHE_SERVER: stall.endpoint,
  NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'rw-0123456789abcdef0123456789abcdef',
  ALLOY_NX_CACHE_TIMEOUT_MS: '1500',
  ...extra,
});

describe('a shared cache server that never answers', () => {
  it('`npx nx run alloy:publish --version=1.10.2`: fails within the deadline naming the variable; nothing runs', async () => {
    const seen = stall.requests.length;
    const run = await withHangLimit(npxNx(ws, ['run', 'alloy:publish', '--version=1.10.2'], cacheEnv()));
    expect([run.code, run.output]).toEqual([
      1,
      expect.stringContaining(
        `the shared Nx cache at NX_SELF_HOSTED_REMOTE_CACHE_SERVER=${stall.endpoint} did not answer within 1500 ms ` +
          '(ALLOY_NX_CACHE_TIMEOUT_MS)',
      ),
    ]);
    expect(run.output).toContain('set ALLOY_NX_CACHE_OPTIONAL=true to run without the remote cache');
    expect(run.output).not.toContain('rw-0123456789abcdef');
    expect(Object.keys(taskStatus(run.output))).toEqual([]);
    expect(existsSync(path.join(ws, 'dist/alloy'))).toBe(false);
    expect(stall.requests.slice(seen)).toEqual(['GET /v1/cache/alloy-sysext-probe HTTP/1.1']);
  }, 120_000);

  it('with ALLOY_NX_CACHE_OPTIONAL=true the run goes on without it, warned; the server sees nothing but the probe', async () => {
    const seen = stall.requests.length;
    const run = await withHangLimit(
      npxNx(ws, ['run', 'alloy:fetch', '--version=1.10.2', `--zipDir=${zipDir}`], cacheEnv({ ALLOY_NX_CACHE_OPTIONAL: 'true' })),
    );
    expect({ code: run.code, tail: run.code === 0 ? '' : tail(run) }).toEqual({ code: 0, tail: '' });
    expect(run.output).toContain(
      `WARNING: the shared Nx cache at NX_SELF_HOSTED_REMOTE_CACHE_SERVER=${stall.endpoint} did not answer within 1500 ms ` +
        '(ALLOY_NX_CACHE_TIMEOUT_MS): running WITHOUT the remote cache (ALLOY_NX_CACHE_OPTIONAL=true)',
    );
    expect(taskStatus(run.output)).toEqual({ 'alloy:fetch': 'ran' });
    expect(stall.requests.slice(seen)).toEqual(['GET /v1/cache/alloy-sysext-probe HTTP/1.1']);
  }, 180_000);

  it('on the Nx daemon too: the hook runs there, and the warning is printed when nx exits', async () => {
    const seen = stall.requests.length;
    const env = cacheEnv({ NX_DAEMON: 'true' });
    try {
      const failed = await withHangLimit(npxNx(ws, ['run', 'alloy:publish', '--version=1.10.2'], env));
      expect([failed.code, failed.output]).toEqual([1, expect.stringContaining('did not answer within 1500 ms')]);
      const run = await withHangLimit(
        npxNx(ws, ['run', 'alloy:fetch', '--version=1.10.2', `--zipDir=${zipDir}`], { ...env, ALLOY_NX_CACHE_OPTIONAL: 'true' }),
      );
      expect({ code: run.code, tail: run.code === 0 ? '' : tail(run) }).toEqual({ code: 0, tail: '' });
      // after Nx's summary, from the .npmrc preload (the daemon's own output only reaches its log)
      expect(run.output.trimEnd().split('\n').at(-1)).toMatch(/^WARNING: the shared Nx cache at .* running WITHOUT the remote cache/);
      expect(stall.requests.slice(seen)).toEqual(Array(2).fill('GET /v1/cache/alloy-sysext-probe HTTP/1.1'));
    } finally {
      await npxNx(ws, ['daemon', '--stop'], env);
    }
  }, 240_000);
});

/** The run, or a failure once it has waited HANG_LIMIT_MS (the hang this file is about). */
async function withHangLimit<T>(run: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nx still running after ${HANG_LIMIT_MS} ms: it hangs on the cache`)), HANG_LIMIT_MS);
  });
  try {
    return await Promise.race([run, limit]);
  } finally {
    clearTimeout(timer);
  }
}
