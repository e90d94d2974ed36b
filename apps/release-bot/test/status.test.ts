import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { EXIT, status, type StatusReport } from '../src/index.js';
import { butane, capture, seedBucket, tempWorkspace } from './helpers.js';

const H1 = 'a1'.repeat(32);
const H2 = 'b2'.repeat(32);
const consumer = (name: string, repo: string, file: string, base: string, auth: Record<string, unknown> = {}) => ({
  name,
  repo,
  path: file,
  base,
  arch: 'amd64',
  auth,
});

let upstream: UpstreamHost;
let gh: GitHubDouble;
let ws: { root: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  upstream = await startUpstreamHost({
    releases: [
      { version: '1.9.5', arches: ['amd64'] },
      { version: '1.10.0', arches: ['amd64'] },
    ],
  });
  gh = await startGitHubDouble({ validateResponses: true });
  gh.seedRepo({
    owner: 'noahwhite',
    repo: 'ghost-stack',
    defaultBranch: 'develop',
    branches: { develop: { 'userdata/ghost.bu': butane('1.9.5', H1) } },
  });
  gh.seedRepo({
    owner: 'officina-pub',
    repo: 'infisical-stack',
    branches: { main: { 'userdata/infisical.bu.tftpl': butane('1.10.0', H2) } },
  });
  gh.seedRepo({ owner: 'officina-pub', repo: 'empty-stack' });
  ws = await tempWorkspace({
    consumers: [
      consumer('ghost-stack', 'noahwhite/ghost-stack', 'userdata/ghost.bu', 'develop', { tokenEnv: 'GHOST_TOKEN' }),
      consumer('infisical-stack', 'officina-pub/infisical-stack', 'userdata/infisical.bu.tftpl', 'main'),
      consumer('missing-file', 'officina-pub/empty-stack', 'userdata/none.bu', 'main'),
      consumer('half-app', 'officina-pub/infisical-stack', 'userdata/infisical.bu.tftpl', 'main', {
        app: { idEnv: 'HALF_APP_ID', privateKeyEnv: 'HALF_APP_KEY' },
      }),
    ],
  });
  await seedBucket(ws.root, ['1.9.5', '1.10.0']);
  env = {
    ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
    ALLOY_GITHUB_API_URL: gh.url,
    ALLOY_GITHUB_TOKEN: gh.token({ login: 'fallback-bot', readOnly: true }),
    GHOST_TOKEN: gh.token({ login: 'ghost-bot', readOnly: true }),
    HALF_APP_ID: '12345',
  };
});
afterAll(async () => {
  await Promise.all([upstream?.stop(), gh?.stop(), ws?.cleanup()]);
});

describe('status', () => {
  it('shows upstream latest, the versions in a directory bucket and each consumer pin (or why it cannot be read)', async () => {
    const summaryFile = path.join(ws.root, 'summary.md');
    const c = capture(ws.root, { ...env, GITHUB_STEP_SUMMARY: summaryFile });
    expect(await status(c.ctx)).toBe(EXIT.OK);
    const text = c.stdout();
    expect(text).toMatch(/upstream latest stable\s+1\.10\.0 \(grafana\/alloy\)/);
    expect(text).toMatch(/published\s+1\.9\.5, 1\.10\.0/);
    const row = (name: string) => text.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
    expect(row('ghost-stack')).toMatch(/noahwhite\/ghost-stack\s+develop\s+amd64\s+1\.9\.5\s+a1a1a1a1a1a1\s+behind: 1\.10\.0 published/);
    expect(row('infisical-stack')).toMatch(/main\s+amd64\s+1\.10\.0\s+b2b2b2b2b2b2\s+up to date/);
    expect(row('missing-file')).toMatch(
      /-\s+-\s+error: reading userdata\/none\.bu on main: userdata\/none\.bu does not exist on branch main/,
    );
    expect(row('half-app')).toMatch(/error: GitHub App for this consumer is partly configured: set both HALF_APP_ID and HALF_APP_KEY/);
    expect(await readFile(summaryFile, 'utf8')).toContain('| ghost-stack | noahwhite/ghost-stack:userdata/ghost.bu@develop | 1.9.5');
    // Each consumer was read with its own credentials, on its base branch, and nothing was written.
    const reads = gh.requests
      .filter((q) => q.path.includes('/contents/'))
      .map((q) => [decodeURIComponent(q.path), q.query['ref'], q.actor, q.status]);
    expect(reads).toEqual(
      expect.arrayContaining([
        ['/repos/noahwhite/ghost-stack/contents/userdata/ghost.bu', 'develop', 'ghost-bot', 200],
        ['/repos/officina-pub/infisical-stack/contents/userdata/infisical.bu.tftpl', 'main', 'fallback-bot', 200],
        ['/repos/officina-pub/empty-stack/contents/userdata/none.bu', 'main', 'fallback-bot', 404],
      ]),
    );
    expect(gh.writes()).toEqual([]);
  });

  it('--json gives the same report as data', async () => {
    const c = capture(ws.root, env);
    expect(await status(c.ctx, { json: true })).toBe(EXIT.OK);
    const report = JSON.parse(c.stdout()) as StatusReport;
    expect(report.upstream.latest).toBe('1.10.0');
    expect(report.published.versions).toEqual(['1.9.5', '1.10.0']);
    expect(report.consumers.map((x) => [x.name, x.pinned?.version, x.pinned?.sha256])).toEqual([
      ['ghost-stack', '1.9.5', H1],
      ['infisical-stack', '1.10.0', H2],
      ['missing-file', undefined, undefined],
      ['half-app', undefined, undefined],
    ]);
  });

  it('reports an unreachable upstream instead of crashing', async () => {
    const c = capture(ws.root, { ...env, ALLOY_UPSTREAM_API_URL: 'http://127.0.0.1:9' });
    expect(await status(c.ctx)).toBe(EXIT.OK);
    expect(c.stdout()).toMatch(/upstream latest stable\s+error: cannot list releases of grafana\/alloy at http:\/\/127\.0\.0\.1:9/);
    expect(c.stdout()).toMatch(/published\s+1\.9\.5, 1\.10\.0/);
  });
});
