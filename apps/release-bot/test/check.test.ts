import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { check, EXIT, latestStable, TRACKING_LABEL } from '../src/index.js';
import { upstreamToken } from '../src/upstream.js';
import { capture, seedBucket, tempWorkspace } from './helpers.js';

const OWNER = 'alloy-sysext';
const REPO = 'alloy-sysext';

let upstream: UpstreamHost;
let gh: GitHubDouble;
let ws: { root: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  upstream = await startUpstreamHost({
    releases: [
      { version: '1.9.5', arches: ['amd64'] },
      { version: '1.10.0', arches: ['amd64'] },
      { version: '1.11.0-rc.1', prerelease: true, arches: ['amd64'] },
      { version: '1.12.0', draft: true, arches: ['amd64'] },
    ],
  });
  gh = await startGitHubDouble({ validateResponses: true });
  gh.seedRepo({ owner: OWNER, repo: REPO });
  ws = await tempWorkspace({ consumers: [] });
  env = {
    ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
    ALLOY_GITHUB_API_URL: gh.url,
    ALLOY_GITHUB_TOKEN: gh.token(),
    GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
  };
});
afterAll(async () => {
  await Promise.all([upstream?.stop(), gh?.stop(), ws?.cleanup()]);
});

describe('latestStable', () => {
  it('takes the semver maximum of stable releases, whatever the API order', () => {
    const r = (version: string, extra = {}) => ({ version, tag: `v${version}`, url: '', draft: false, prerelease: false, ...extra });
    const releases = [
      r('1.9.5'),
      r('1.11.0', { draft: true }),
      r('1.10.0'),
      r('1.10.1-rc.0'),
      r('1.12.0', { prerelease: true }),
      r('1.2.0'),
    ];
    expect(latestStable(releases)?.version).toBe('1.10.0');
    expect(latestStable([r('2.0.0', { prerelease: true })])).toBeUndefined();
  });

  it("sends the GitHub token only to GitHub's API, never to an upstream mirror", () => {
    const env = { GITHUB_TOKEN: 't', ALLOY_GITHUB_API_URL: 'http://127.0.0.1:4000' };
    expect(upstreamToken(env, 'https://api.github.com')).toBe('t');
    expect(upstreamToken(env, 'http://127.0.0.1:4000/')).toBe('t');
    expect(upstreamToken(env, 'https://mirror.example.com')).toBeUndefined();
  });
});

describe('check against the upstream release host and the GitHub double', () => {
  it('finds 1.10.0 (not 1.9.5, not the newer prerelease or draft), opens one tracking issue, then reuses it', async () => {
    await seedBucket(ws.root, ['1.9.5']);
    const outputFile = path.join(ws.root, 'github-output');
    const summaryFile = path.join(ws.root, 'summary.md');
    await writeFile(outputFile, '');
    const first = capture(ws.root, { ...env, GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile });
    expect(await check(first.ctx)).toBe(EXIT.NEW_VERSION);
    expect(first.stdout()).toContain('new version: 1.10.0');
    expect(first.stdout()).toContain('published: 1.9.5');
    expect(await readFile(outputFile, 'utf8')).toBe('version=1.10.0\nnew=true\nissue=1\nbroken=false\n');
    expect(await readFile(summaryFile, 'utf8')).toMatch(/new upstream release 1\.10\.0[\s\S]*\| published \| 1\.9\.5 \|/);
    expect(upstream.requests.some((q) => q.path.startsWith('/repos/grafana/alloy/releases'))).toBe(true);

    const issues = gh.issues(OWNER, REPO);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ title: 'Release alloy 1.10.0', state: 'open', labels: [TRACKING_LABEL] });
    expect(issues[0]!.body).toContain('release --version 1.10.0');

    const writesBefore = gh.writes().length;
    const second = capture(ws.root, { ...env });
    expect(await check(second.ctx, { json: true })).toBe(EXIT.NEW_VERSION);
    const json = JSON.parse(second.stdout());
    expect(json).toMatchObject({ version: '1.10.0', new: true, published: ['1.9.5'], issue: { action: 'reused', number: 1 } });
    expect(gh.writes().length).toBe(writesBefore);
    expect(gh.issues(OWNER, REPO)).toHaveLength(1);
  });

  it('--dry-run opens no issue for a new version', async () => {
    await seedBucket(ws.root, ['1.9.5']);
    const local = await startGitHubDouble();
    try {
      local.seedRepo({ owner: OWNER, repo: REPO });
      const c = capture(ws.root, { ...env, ALLOY_GITHUB_API_URL: local.url, ALLOY_GITHUB_TOKEN: local.token() });
      expect(await check(c.ctx, { dryRun: true })).toBe(EXIT.NEW_VERSION);
      expect(c.stdout()).toContain('tracking issue: would be opened (dry run)');
      expect(local.writes()).toEqual([]);
      expect(local.requests.length).toBeGreaterThan(0); // it did look for an existing issue
      expect(local.issues(OWNER, REPO)).toEqual([]);
    } finally {
      await local.stop();
    }
  });

  it('exits 0 and writes nothing on GitHub when the latest stable is published (it reads the release tags, a witness)', async () => {
    await seedBucket(ws.root, ['1.9.5', '1.10.0']);
    const outputFile = path.join(ws.root, 'github-output-2');
    await writeFile(outputFile, '');
    const before = gh.requests.length;
    const c = capture(ws.root, { ...env, GITHUB_OUTPUT: outputFile });
    expect(await check(c.ctx)).toBe(EXIT.OK);
    expect(c.stdout()).toContain('up to date: 1.10.0 is published');
    expect(await readFile(outputFile, 'utf8')).toBe('version=1.10.0\nnew=false\nbroken=false\n');
    expect(gh.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /repos/${OWNER}/${REPO}/git/matching-refs/tags/alloy-v`,
    ]);
  });

  it('without GitHub credentials still reports the new version and says why no issue was opened', async () => {
    await seedBucket(ws.root, ['1.9.5']);
    const c = capture(ws.root, { ALLOY_UPSTREAM_API_URL: upstream.apiUrl });
    expect(await check(c.ctx)).toBe(EXIT.NEW_VERSION);
    expect(c.stdout()).toMatch(/tracking issue: skipped: no GITHUB_REPOSITORY/);
  });
});
