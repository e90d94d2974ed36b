import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Octokit } from '@octokit/rest';
import { Manifest } from '@alloy-sysext/manifest';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { chainCommand, EXIT, main, release, type ChainRun, type ChainRunner } from '../src/index.js';
import { capture, tempWorkspace } from './helpers.js';

const OWNER = 'alloy-sysext';
const REPO = 'alloy-sysext';
const SHA = 'c0'.repeat(32);

let gh: GitHubDouble;
let ws: { root: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;

/** Stands in for the Nx chain: records its calls and leaves what the manifest target would leave in dist/. */
function chain(code = 0): ChainRunner & { runs: ChainRun[] } {
  const runs: ChainRun[] = [];
  const runner = async (run: ChainRun) => {
    runs.push(run);
    const dir = path.join(run.root, 'dist/alloy', run.version, 'manifest');
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'SHA256SUMS'),
      Manifest.empty()
        .upsert([{ file: `alloy-${run.version}-amd64.raw`, sha256: SHA }])
        .serialize(),
    );
    return code;
  };
  return Object.assign(runner, { runs });
}

beforeAll(async () => {
  gh = await startGitHubDouble({ validateResponses: true });
  gh.seedRepo({ owner: OWNER, repo: REPO });
  ws = await tempWorkspace({ consumers: [] });
  env = { ALLOY_GITHUB_API_URL: gh.url, GITHUB_TOKEN: gh.token(), GITHUB_REPOSITORY: `${OWNER}/${REPO}` };
});
afterAll(async () => {
  await Promise.all([gh?.stop(), ws?.cleanup()]);
});

async function openTrackingIssue(version: string): Promise<number> {
  const kit = new Octokit({ baseUrl: gh.url, auth: gh.token({ login: 'human' }) });
  const { data } = await kit.rest.issues.create({ owner: OWNER, repo: REPO, title: `Release alloy ${version}`, labels: ['alloy-release'] });
  return data.number;
}

describe('release', () => {
  it('runs the chain, creates release alloy-v<X>, closes the tracking issue; a second run writes nothing', async () => {
    const number = await openTrackingIssue('1.10.2');
    const summaryFile = path.join(ws.root, 'summary.md');
    const runner = chain();
    const c = capture(ws.root, { ...env, GITHUB_STEP_SUMMARY: summaryFile });
    expect(await release(c.ctx, { version: 'v1.10.2', runChain: runner })).toBe(EXIT.OK);
    expect(runner.runs).toEqual([expect.objectContaining({ version: '1.10.2', dryRun: false, root: ws.root })]);

    const [rel] = gh.releases(OWNER, REPO);
    expect(rel).toMatchObject({ tag: 'alloy-v1.10.2', name: 'alloy 1.10.2', draft: false });
    expect(rel!.body).toContain(`| [alloy-1.10.2-amd64.raw](http://127.0.0.1:8080/alloy/alloy-1.10.2-amd64.raw) | \`${SHA}\` |`);
    expect(gh.tags(OWNER, REPO)['alloy-v1.10.2']).toBe(gh.branchHead(OWNER, REPO, 'main'));
    const issue = gh.issues(OWNER, REPO).find((i) => i.number === number)!;
    expect(issue.state).toBe('closed');
    expect(issue.comments).toHaveLength(1);
    expect(issue.comments[0]!.body).toContain('Released alloy 1.10.2');
    expect(c.stdout()).toMatch(/created release alloy-v1\.10\.2 in alloy-sysext\/alloy-sysext/);
    expect(await readFile(summaryFile, 'utf8')).toContain('alloy-v1.10.2');

    const writes = gh.writes().length;
    const again = capture(ws.root, env);
    expect(await release(again.ctx, { version: '1.10.2', runChain: chain() })).toBe(EXIT.OK);
    expect(again.stdout()).toContain('release alloy-v1.10.2 already exists');
    expect(again.stdout()).toContain(`tracking issue #${number} is already closed`);
    expect(gh.writes().length).toBe(writes);
  });

  it('leaves an existing tag alone: no write', async () => {
    const kit = new Octokit({ baseUrl: gh.url, auth: gh.token({ login: 'human' }) });
    await kit.rest.git.createRef({ owner: OWNER, repo: REPO, ref: 'refs/tags/alloy-v1.10.3', sha: gh.branchHead(OWNER, REPO, 'main')! });
    const writes = gh.writes().length;
    const c = capture(ws.root, env);
    expect(await release(c.ctx, { version: '1.10.3', runChain: chain() })).toBe(EXIT.OK);
    expect(c.stdout()).toContain('tag alloy-v1.10.3 already exists');
    expect(gh.writes().length).toBe(writes);
    expect(gh.releases(OWNER, REPO).map((r) => r.tag)).not.toContain('alloy-v1.10.3');
  });

  it('--dry-run forwards dryRun to the chain and writes nothing on GitHub', async () => {
    const number = await openTrackingIssue('1.11.0');
    const writes = gh.writes().length;
    const runner = chain();
    const c = capture(ws.root, env);
    expect(await release(c.ctx, { version: '1.11.0', dryRun: true, runChain: runner })).toBe(EXIT.OK);
    expect(runner.runs[0]!.dryRun).toBe(true);
    expect(c.stdout()).toContain('dry run: would create release alloy-v1.11.0');
    expect(c.stdout()).toContain(`dry run: would comment on and close tracking issue #${number}`);
    expect(gh.writes().length).toBe(writes);
  });

  it('a failed chain exits 3 and tags nothing; a bad version exits 2 before the chain runs', async () => {
    const writes = gh.writes().length;
    const failed = capture(ws.root, env);
    expect(await release(failed.ctx, { version: '1.12.0', runChain: chain(1) })).toBe(EXIT.CHAIN_FAILED);
    expect(failed.stderr()).toContain('the Nx chain failed with exit code 1; alloy-v1.12.0 not created');

    const runner = chain();
    const bad = capture(ws.root, env);
    expect(await main(['release', '--version', '1.12'], bad.ctx, { runChain: runner })).toBe(EXIT.USAGE);
    expect(bad.stderr()).toContain('--version: version "1.12" is not a strict semver version: expected MAJOR.MINOR.PATCH');
    expect(await main(['release', '--version=1.13.0-rc.1'], bad.ctx, { runChain: runner })).toBe(EXIT.USAGE);
    expect(await main(['release'], bad.ctx, { runChain: runner })).toBe(EXIT.USAGE);
    expect(runner.runs).toEqual([]);
    expect(gh.writes().length).toBe(writes);
  });

  it('without GitHub credentials skips the tag and says so', async () => {
    const c = capture(ws.root, {});
    expect(await release(c.ctx, { version: '1.10.4', runChain: chain() })).toBe(EXIT.OK);
    expect(c.stdout()).toContain('skipping release tag alloy-v1.10.4: no GITHUB_REPOSITORY and no ALLOY_GITHUB_TOKEN/GITHUB_TOKEN set');
  });

  it("the default runner is the real Nx chain with the version past Nx's own --version", () => {
    expect(chainCommand('alloy', '1.10.2', false)).toEqual({ command: 'npx', args: ['nx', 'run', 'alloy:pr', '--version=1.10.2'] });
    expect(chainCommand('alloy', '1.10.2', true).args.slice(-2)).toEqual(['--version=1.10.2', '--dryRun']);
  });
});
