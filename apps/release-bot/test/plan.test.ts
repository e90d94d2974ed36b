// `plan` and `finish`: the release workflow asks the bot what to do (a job matrix) and hands it the end of the run.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createDirectoryStore } from '@alloy-sysext/r2';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { EXIT, main, type PlanItem } from '../src/index.js';
import { capture, devKey, seedBucket, tempWorkspace } from './helpers.js';

const OWNER = 'alloy-sysext';
const REPO = 'alloy-sysext';

let upstream: UpstreamHost;
let gh: GitHubDouble;
let ws: { root: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  upstream = await startUpstreamHost({ releases: ['1.9.5', '1.10.0'].map((version) => ({ version, arches: ['amd64' as const] })) });
  gh = await startGitHubDouble({ validateResponses: true });
  gh.seedRepo({ owner: OWNER, repo: REPO });
  ws = await tempWorkspace({ consumers: [] });
  // what the release workflow's plan job holds: the public key alone (its repository variable), no private key
  env = {
    ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
    ALLOY_GITHUB_API_URL: gh.url,
    ALLOY_GITHUB_TOKEN: gh.token(),
    GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
    ALLOY_SIGNING_PUBLIC_KEY: (await devKey(ws.root)).publicKeyArmored,
  };
});
afterAll(async () => {
  await Promise.all([upstream?.stop(), gh?.stop(), ws?.cleanup()]);
});

/** `release-bot plan …` as the workflow's step runs it: the JSON printed and the step outputs written. */
async function runPlan(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const output = path.join(ws.root, `output-${Math.random()}`);
  await writeFile(output, '');
  const c = capture(ws.root, { ...env, GITHUB_OUTPUT: output, ...extra });
  const code = await main(['plan', ...args], c.ctx);
  const outputs = Object.fromEntries(
    (await readFile(output, 'utf8'))
      .trimEnd()
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { code, json: code === 0 ? JSON.parse(c.stdout()) : undefined, outputs, stderr: c.stderr() };
}

const item = (version: string, kind: PlanItem['kind']): PlanItem => ({
  recipe: 'apps/alloy/sysext.json',
  project: 'alloy',
  name: 'alloy',
  version,
  kind,
});

describe('plan', () => {
  it('a new upstream release: one release item for the job matrix, its tracking issue opened', async () => {
    await seedBucket(ws.root, ['1.9.5']);
    const r = await runPlan([]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.json.items).toEqual([item('1.10.0', 'release')]);
    expect(JSON.parse(r.outputs.matrix!)).toEqual({ include: [item('1.10.0', 'release')] });
    expect([r.outputs.count, r.outputs.dry_run]).toEqual(['1', 'false']);
    expect(JSON.parse(r.outputs.plan!)).toEqual([item('1.10.0', 'release')]);
    expect(gh.issues(OWNER, REPO).map((i) => i.title)).toEqual(['Release alloy 1.10.0']);
  });

  it('a broken bucket: the repair of the newest published version, alone (the new version waits for the next run)', async () => {
    await seedBucket(ws.root, ['1.9.5']);
    await createDirectoryStore(path.join(ws.root, 'dist/bucket'), { prefix: 'alloy/' }).putBytes('SHA256SUMS.gpg', Buffer.from('broken'));
    const r = await runPlan([]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.json.items).toEqual([item('1.9.5', 'repair')]);
    expect(r.json.reasons).toEqual(['alloy 1.9.5: repair (the bucket is broken); 1.10.0 is released by the next run']);
    expect(r.outputs.count).toBe('1');
  });

  it('up to date: an empty plan; an explicit --version plans that version without asking upstream', async () => {
    await seedBucket(ws.root, ['1.9.5', '1.10.0']);
    const none = await runPlan([]);
    expect([none.code, none.json.items, none.outputs.count]).toEqual([EXIT.OK, [], '0']);
    expect(JSON.parse(none.outputs.matrix!)).toEqual({ include: [] });
    const before = upstream.requests.length;
    const asked = await runPlan(['--version', 'v1.10.1', '--dry-run']);
    expect([asked.json.items, asked.outputs.dry_run]).toEqual([[item('1.10.1', 'release')], 'true']);
    expect(upstream.requests.length).toBe(before);
    expect((await runPlan(['--version', '1.10'])).code).toBe(EXIT.USAGE);
  });

  it('without a release public key it refuses: a bucket signature nobody can check is no health check', async () => {
    const bare = await tempWorkspace({ consumers: [] });
    try {
      const c = capture(bare.root, { ALLOY_UPSTREAM_API_URL: upstream.apiUrl });
      expect(await main(['plan'], c.ctx)).toBe(EXIT.ERROR);
      expect(c.stderr()).toContain('no release public key to check the bucket');
      expect(c.stderr()).toContain('repository variable ALLOY_SIGNING_PUBLIC_KEY');
    } finally {
      await bare.cleanup();
    }
  });
});

describe('finish', () => {
  it('the chain succeeded: tags the release, closes its tracking issue, prints the status; a failed chain tags nothing (exit 3)', async () => {
    await seedBucket(ws.root, ['1.9.5', '1.10.0']);
    const plan = JSON.stringify([item('1.10.0', 'release')]);
    const failed = capture(ws.root, env);
    expect(await main(['finish', '--plan', plan, '--result', 'failure'], failed.ctx)).toBe(EXIT.CHAIN_FAILED);
    expect(failed.stderr()).toContain('release of alloy 1.10.0: the chain jobs ended with "failure"; nothing tagged');
    expect(gh.releases(OWNER, REPO)).toEqual([]);

    const done = capture(ws.root, env);
    expect(await main(['finish', '--plan', plan, '--result', 'success'], done.ctx)).toBe(EXIT.OK);
    expect(gh.releases(OWNER, REPO).map((r) => r.tag)).toEqual(['alloy-v1.10.0']);
    expect(gh.issues(OWNER, REPO).find((i) => i.title === 'Release alloy 1.10.0')!.state).toBe('closed');
    expect(done.stdout()).toMatch(/published\s+1\.9\.5, 1\.10\.0/);
  });

  it('an empty plan only prints the status, which fails the run while the bucket is broken (exit 5)', async () => {
    await seedBucket(ws.root, ['1.9.5', '1.10.0']);
    await createDirectoryStore(path.join(ws.root, 'dist/bucket'), { prefix: 'alloy/' }).delete('alloy-1.10.0-arm64.raw');
    const writes = gh.writes().length;
    const c = capture(ws.root, env);
    expect(await main(['finish', '--plan', '[]', '--result', 'skipped'], c.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(gh.writes().length).toBe(writes);
    expect(await main(['finish', '--plan', '{"x":1}', '--result', 'success'], capture(ws.root, env).ctx)).toBe(EXIT.USAGE);
  });
});
