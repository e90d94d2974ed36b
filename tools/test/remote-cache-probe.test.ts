// The shared cache check the plugin runs before any task (tools/nx/remote-cache-probe.cjs), against loopback servers:
// one that answers, one that refuses the token, one that never answers, one that never accepts, and none at all.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startStallPeer, type StallPeer } from '@alloy-sysext/test-peers/stall';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { checkRemoteCache } = createRequire(import.meta.url)(path.join(root, 'tools/nx/remote-cache-probe.cjs')) as {
  checkRemoteCache(argv: string[], env: NodeJS.ProcessEnv): Promise<undefined | { disable: true; warning: string }>;
};

const TOKEN = 'rw-0123456789abcdef0123456789abcdef';
const argv = ['node', 'nx', 'run', 'alloy:publish', '--sysextVersion=1.10.2'];
let server: http.Server;
let url: string;
const seen: string[] = [];
let silent: StallPeer;
let unaccepting: StallPeer;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
    res.writeHead(req.headers.authorization === `Bearer ${TOKEN}` ? 404 : 401).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  [silent, unaccepting] = await Promise.all([startStallPeer('silent'), startStallPeer('unaccepting')]);
});
afterAll(async () => {
  await Promise.all([silent.stop(), unaccepting.stop(), new Promise((resolve) => server.close(resolve))]);
});

const env = (extra: Record<string, string>) => ({ ALLOY_NX_CACHE_TIMEOUT_MS: '500', ...extra });

describe('checkRemoteCache', () => {
  it('a server that answers (404 for the probe entry, with the token Nx sends): nothing to say', async () => {
    await expect(
      checkRemoteCache(argv, env({ NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: TOKEN })),
    ).resolves.toBeUndefined();
    expect(seen.at(-1)).toBe(`GET /v1/cache/alloy-sysext-probe Bearer ${TOKEN}`);
  });

  it('a refused token (401): fails naming the token variable, never the token', async () => {
    const check = checkRemoteCache(
      argv,
      env({ NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'wrong' }),
    );
    await expect(check).rejects.toThrow(
      `the shared Nx cache at NX_SELF_HOSTED_REMOTE_CACHE_SERVER=${url} refused the token in NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN (HTTP 401)`,
    );
    await expect(check).rejects.not.toThrow('wrong');
  });

  it('never answers, never accepts, or nothing listening: fails within the deadline, naming the cause', async () => {
    for (const [endpoint, cause] of [
      [silent.endpoint, 'did not answer within 500 ms (ALLOY_NX_CACHE_TIMEOUT_MS)'],
      [unaccepting.endpoint, 'did not answer within 500 ms (ALLOY_NX_CACHE_TIMEOUT_MS)'],
      ['http://127.0.0.1:1', 'could not be reached (ECONNREFUSED)'],
    ] as const) {
      const started = Date.now();
      await expect(checkRemoteCache(argv, env({ NX_SELF_HOSTED_REMOTE_CACHE_SERVER: endpoint }))).rejects.toThrow(
        `the shared Nx cache at NX_SELF_HOSTED_REMOTE_CACHE_SERVER=${endpoint} ${cause}. Nx's cache client has no deadline`,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
    }
  });

  it('opted in (ALLOY_NX_CACHE_OPTIONAL=true): the run goes on without the remote cache, with a warning', async () => {
    await expect(
      checkRemoteCache(argv, env({ NX_SELF_HOSTED_REMOTE_CACHE_SERVER: silent.endpoint, ALLOY_NX_CACHE_OPTIONAL: 'true' })),
    ).resolves.toEqual({
      disable: true,
      warning: expect.stringMatching(/^WARNING: .* did not answer within 500 ms .*: running WITHOUT the remote cache/),
    });
  });

  it('no server configured, or the remote cache skipped by flag or variable: no request', async () => {
    const before = silent.requests.length;
    for (const [args, extra] of [
      [argv, {}],
      [[...argv, '--skip-nx-cache'], { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: silent.endpoint }],
      [[...argv, '--skipRemoteCache'], { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: silent.endpoint }],
      [argv, { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: silent.endpoint, NX_SKIP_REMOTE_CACHE: 'true' }],
    ] as const) {
      await expect(checkRemoteCache([...args], env(extra))).resolves.toBeUndefined();
    }
    expect(silent.requests.length).toBe(before);
  });

  it('a malformed deadline or server URL is refused, naming it', async () => {
    await expect(checkRemoteCache(argv, { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url, ALLOY_NX_CACHE_TIMEOUT_MS: '5s' })).rejects.toThrow(
      'ALLOY_NX_CACHE_TIMEOUT_MS="5s" is not a positive whole number of milliseconds',
    );
    await expect(checkRemoteCache(argv, env({ NX_SELF_HOSTED_REMOTE_CACHE_SERVER: 'cache.example:4555' }))).rejects.toThrow(
      'NX_SELF_HOSTED_REMOTE_CACHE_SERVER=cache.example:4555 is not an http(s) URL',
    );
  });
});
