// Real Nx 23 against the server: three separate copies of a tiny workspace sharing one cache through HTTP.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createS3Store } from '@alloy-sysext/r2';
import { startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';
import { startNxCacheServer, type NxCacheServer } from '../src/server.js';
import { parseTokens } from '../src/tokens.js';

const RW = 'rw-0123456789abcdef0123456789abcdef';
const RO = 'ro-0123456789abcdef0123456789abcdef';
const nxPackage = createRequire(import.meta.url).resolve('nx/package.json');
const nodeModules = path.dirname(path.dirname(nxPackage));

/** Creates a fresh workspace copy: one project whose cacheable target writes a file with unpredictable bytes. */
async function workspace(root: string, name: string, salt = ''): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(path.join(dir, 'projects/demo'), { recursive: true });
  await symlink(nodeModules, path.join(dir, 'node_modules'), 'dir');
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'cache-ws', private: true }));
  await writeFile(path.join(dir, 'nx.json'), JSON.stringify({ cacheDirectory: '.nx/cache', neverConnectToCloud: true }));
  await writeFile(
    path.join(dir, 'projects/demo/project.json'),
    JSON.stringify({
      name: 'demo',
      targets: {
        make: {
          executor: 'nx:run-commands',
          options: { command: 'node projects/demo/make.cjs' },
          inputs: ['{projectRoot}/**/*'],
          outputs: ['{workspaceRoot}/out'],
          cache: true,
        },
      },
    }),
  );
  await writeFile(
    path.join(dir, 'projects/demo/make.cjs'),
    `// ${salt}\nconst fs = require('fs');\nfs.mkdirSync('out', { recursive: true });\n` +
      `fs.writeFileSync('out/result.txt', 'built ' + require('crypto').randomUUID() + '\\n');\nconsole.log('MAKE RAN');\n`,
  );
  return dir;
}

async function runNx(cwd: string, server: string, token: string) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('NX_')) env[k] = v;
  Object.assign(env, {
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server,
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token,
  });
  const r = await execa(process.execPath, [path.join(nodeModules, 'nx/dist/bin/nx.js'), 'run', 'demo:make', '--output-style=static'], {
    cwd,
    env,
    extendEnv: false,
    all: true,
    reject: false,
  });
  return { code: r.exitCode, output: r.all ?? '' };
}

describe('Nx remote cache through nx-cache', () => {
  let peer: S3Peer;
  let server: NxCacheServer;
  let root: string;
  const log: string[] = [];
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'nx-cache-ws-'));
    peer = await startS3Peer({ bucket: 'ci-cache' });
    const store = createS3Store({ bucket: peer.bucket, endpoint: peer.endpoint, ...peer.credentials, region: peer.region });
    server = await startNxCacheServer({ store, tokens: parseTokens(`read-write:${RW},read-only:${RO}`), log: (l) => log.push(l) });
  });
  afterAll(async () => {
    await server.close();
    await peer.stop();
    await rm(root, { recursive: true, force: true });
  });
  const cacheWrites = (status: number) =>
    peer.requests.filter((r) => r.method === 'PUT' && r.key.startsWith('nx-cache/') && r.status === status);

  it('a second clone restores from the remote cache; a read-only token cannot write', async () => {
    const first = await runNx(await workspace(root, 'clone-a'), server.url, RW);
    expect(first.code).toBe(0);
    expect(first.output).toContain('MAKE RAN');
    expect(first.output).not.toContain('[remote cache]');
    expect(cacheWrites(200)).toHaveLength(1);
    const hash = cacheWrites(200)[0].key.slice('nx-cache/'.length);
    expect(log).toContain(`PUT ${hash} 200 stored ${await peerSize(hash)} bytes`);

    const cloneB = await workspace(root, 'clone-b');
    const second = await runNx(cloneB, server.url, RO);
    expect(second.code).toBe(0);
    expect(second.output).toContain('[remote cache]');
    expect(second.output).toContain('1/1 hit');
    // Nx replays the cached terminal output, so the proof the task did not run is the file: its random bytes are A's.
    expect(await readFile(path.join(cloneB, 'out/result.txt'))).toEqual(await readFile(path.join(root, 'clone-a/out/result.txt')));

    // A pull request changes the task: it runs locally, the upload is refused, nothing is stored.
    const cloneC = await workspace(root, 'clone-c', 'pull request change');
    const third = await runNx(cloneC, server.url, RO);
    expect(third.code).toBe(0);
    expect(third.output).toContain('MAKE RAN');
    expect(log.filter((l) => / 403 /.test(l)).length).toBe(1);
    expect(cacheWrites(200)).toHaveLength(1);
    const stored = await createS3Store({ bucket: peer.bucket, endpoint: peer.endpoint, ...peer.credentials, region: peer.region }).list(
      'nx-cache/',
    );
    expect(stored.map((o) => o.key)).toEqual([`nx-cache/${hash}`]);
  }, 180_000);

  async function peerSize(hash: string): Promise<number> {
    const store = createS3Store({ bucket: peer.bucket, endpoint: peer.endpoint, ...peer.credentials, region: peer.region });
    return (await store.head(`nx-cache/${hash}`))!.size;
  }
});
