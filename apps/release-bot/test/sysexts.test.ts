// Many sysexts: each command takes --sysext <name> and defaults to every recipe in the workspace (apps/*/sysext.json,
// sysexts/*/sysext.json); one tracking issue and one release tag per sysext version. A second recipe of another shape
// (docker/compose-like) lives in the temp workspace only.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ButaneUpdater } from '@alloy-sysext/ghost-stack';
import { createDirectoryStore } from '@alloy-sysext/r2';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { EXIT, main, type ChainRun, type PlanItem } from '../src/index.js';
import { capture, devKey, RECIPE, seedBucket, tempWorkspace } from './helpers.js';

const OWNER = 'alloy-sysext';
const REPO = 'alloy-sysext';

let alloyHost: UpstreamHost;
let composeHost: UpstreamHost;
let gh: GitHubDouble;
let ws: { root: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  alloyHost = await startUpstreamHost({ releases: ['1.9.5', '1.10.0'].map((version) => ({ version, arches: ['amd64' as const] })) });
  composeHost = await startUpstreamHost({
    repo: 'docker/compose',
    releases: ['2.27.0', '2.29.1'].map((version) => ({ version, arches: ['amd64' as const] })),
  });
  gh = await startGitHubDouble({ validateResponses: true });
  gh.seedRepo({ owner: OWNER, repo: REPO });
  // each recipe names its own upstream host (no ALLOY_UPSTREAM_API_URL, which would send both to one)
  ws = await tempWorkspace({
    consumers: [],
    upstream: { ...JSON.parse(await readFile(RECIPE, 'utf8')).upstream, apiUrl: alloyHost.apiUrl },
  });
  const compose = {
    name: 'docker-compose',
    upstream: {
      repo: 'docker/compose',
      apiUrl: composeHost.apiUrl,
      kind: 'binary',
      asset: 'docker-compose-linux-{arch}',
      archNames: { amd64: 'x86_64', arm64: 'aarch64' },
      maxBinaryBytes: 268435456,
    },
    arches: ['amd64', 'arm64'],
    tree: {
      binaryPath: 'usr/local/lib/docker/cli-plugins/docker-compose',
      unit: { source: 'files/docker-compose.service', path: 'usr/lib/systemd/system/docker-compose.service' },
      extensionRelease: { ID: '_any' },
    },
    image: { format: 'squashfs', compressor: 'zstd' },
    bucket: { name: 'sysext', prefix: 'docker-compose/' },
    signing: { identity: 'alloy-sysext release <release@alloy-sysext.invalid>' },
    consumers: [],
  };
  await mkdir(path.join(ws.root, 'sysexts/docker-compose'), { recursive: true });
  await writeFile(path.join(ws.root, 'sysexts/docker-compose/sysext.json'), JSON.stringify(compose, null, 2));
  env = {
    ALLOY_GITHUB_API_URL: gh.url,
    ALLOY_GITHUB_TOKEN: gh.token(),
    GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
    ALLOY_SIGNING_PUBLIC_KEY: (await devKey(ws.root)).publicKeyArmored,
  };
});
afterAll(async () => {
  await Promise.all([alloyHost?.stop(), composeHost?.stop(), gh?.stop(), ws?.cleanup()]);
});

async function run(args: string[], extra: NodeJS.ProcessEnv = {}, runChain?: (r: ChainRun) => Promise<number>) {
  const c = capture(ws.root, { ...env, ...extra });
  const code = await main(args, c.ctx, { runChain });
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

const seedBoth = async () => {
  await seedBucket(ws.root, ['1.9.5']);
  await seedBucket(ws.root, ['2.27.0'], { name: 'docker-compose' });
};
const titles = () => gh.issues(OWNER, REPO).map((i) => i.title);

describe('release-bot with two recipes', () => {
  it('check: every sysext by default, one tracking issue per sysext version (reused by a rerun); --sysext picks one', async () => {
    await seedBoth();
    const both = await run(['check']);
    expect([both.code, both.stderr]).toEqual([EXIT.NEW_VERSION, expect.any(String)]);
    expect(both.stdout).toContain('== alloy (apps/alloy/sysext.json) ==\nupstream latest stable: 1.10.0');
    expect(both.stdout).toContain('== docker-compose (sysexts/docker-compose/sysext.json) ==\nupstream latest stable: 2.29.1');
    expect(titles().sort()).toEqual(['Release alloy 1.10.0', 'Release docker-compose 2.29.1']);
    expect((await run(['check'])).code).toBe(EXIT.NEW_VERSION);
    expect(titles()).toHaveLength(2);

    const status = await run(['status']);
    expect(status.code).toBe(EXIT.OK);
    expect(status.stdout).toMatch(/== alloy \(apps\/alloy\/sysext.json\) ==\n[^]*published\s+1\.9\.5\n/);
    expect(status.stdout).toMatch(/== docker-compose \(sysexts\/docker-compose\/sysext.json\) ==\n[^]*published\s+2\.27\.0\n/);

    const one = await run(['check', '--sysext', 'docker-compose', '--json']);
    expect(JSON.parse(one.stdout)).toMatchObject({ name: 'docker-compose', version: '2.29.1', new: true, published: ['2.27.0'] });
    const list = await run(['check', '--json', '--dry-run']);
    expect((JSON.parse(list.stdout) as Array<{ name: string }>).map((r) => r.name)).toEqual(['alloy', 'docker-compose']);

    // step outputs speak for one sysext: none for several, rather than the last one's
    const output = path.join(ws.root, 'github-output');
    await writeFile(output, '');
    const quiet = await run(['check', '--dry-run'], { GITHUB_OUTPUT: output });
    expect([quiet.code, await readFile(output, 'utf8')]).toEqual([EXIT.NEW_VERSION, '']);
    expect(quiet.stderr).toContain('check: 2 sysexts, so no step outputs: use --sysext <name>');
    await run(['check', '--dry-run', '--sysext', 'docker-compose'], { GITHUB_OUTPUT: output });
    expect(await readFile(output, 'utf8')).toContain('version=2.29.1\nnew=true\n');
  });

  it('an unknown sysext is refused with the nearest real one (exit 2); so is --sysext beside --recipe', async () => {
    const typo = await run(['check', '--sysext', 'docker_compose']);
    expect(typo.code).toBe(EXIT.USAGE);
    expect(typo.stderr).toContain('--sysext: no sysext "docker_compose" in this workspace: did you mean "docker-compose"?');
    const status = await run(['status', '--sysext', 'tailscale']);
    expect([status.code, status.stderr]).toEqual([EXIT.USAGE, expect.stringContaining('(recipes: alloy, docker-compose;')]);
    const both = await run(['--recipe', 'apps/alloy/sysext.json', 'prune', '--sysext', 'alloy', '--dry-run']);
    expect([both.code, both.stderr]).toEqual([EXIT.USAGE, expect.stringContaining('both choose a recipe: give one of them')]);
  });

  it("one sysext's broken bucket decides the exit code of a check of all (5 over 10), naming its repair", async () => {
    await seedBoth();
    await createDirectoryStore(path.join(ws.root, 'dist/bucket'), { prefix: 'docker-compose/' }).putBytes(
      'SHA256SUMS.gpg',
      Buffer.from('x'),
    );
    const r = await run(['check', '--dry-run']);
    expect(r.code).toBe(EXIT.BUCKET_BROKEN);
    expect(r.stdout).toContain('repair: npx nx run docker-compose:publish --version=2.27.0');
    expect((await run(['check', '--dry-run', '--sysext', 'alloy'])).code).toBe(EXIT.NEW_VERSION);
  });

  it('R2_PREFIX, one prefix for every sysext, is refused unless --sysext names one', async () => {
    await seedBoth();
    const r = await run(['status'], { R2_PREFIX: 'alloy/' });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('R2_PREFIX "alloy/" would put all 2 sysexts under one prefix: pass --sysext <name>');
    expect((await run(['status', '--sysext', 'alloy'], { R2_PREFIX: 'alloy/' })).code).toBe(EXIT.OK);
    // a malformed one is named as such first: a configuration error (exit 1)
    const bad = await run(['status'], { R2_PREFIX: '../x' });
    expect([bad.code, bad.stderr]).toEqual([
      EXIT.ERROR,
      expect.stringContaining('release-bot status: R2_PREFIX "../x" is not a key prefix'),
    ]);
  });

  it('plan: one item per recipe for the job matrix; --version plans the sysext whose upstream released it', async () => {
    await seedBoth();
    const item = (recipe: string, name: string, version: string): PlanItem => ({ recipe, project: name, name, version, kind: 'release' });
    const all = await run(['plan', '--dry-run']);
    expect(all.code).toBe(EXIT.OK);
    expect(JSON.parse(all.stdout).items).toEqual([
      item('apps/alloy/sysext.json', 'alloy', '1.10.0'),
      item('sysexts/docker-compose/sysext.json', 'docker-compose', '2.29.1'),
    ]);
    const asked = await run(['plan', '--version', '2.29.1', '--dry-run']);
    expect(JSON.parse(asked.stdout).items).toEqual([item('sysexts/docker-compose/sysext.json', 'docker-compose', '2.29.1')]);
    const nobody = await run(['plan', '--version', '3.0.0', '--dry-run']);
    expect([nobody.code, nobody.stderr]).toEqual([
      EXIT.USAGE,
      expect.stringContaining('3.0.0 is not an upstream release of any sysext (alloy, docker-compose): pass --sysext <name>'),
    ]);
  });

  it("release runs the chain of the version's sysext and tags <name>-v<version>; finish does the same per plan item", async () => {
    await seedBoth();
    const runs: ChainRun[] = [];
    const runner = async (r: ChainRun) => (runs.push(r), 0);
    const r = await run(['release', '--version', '2.29.1', '--dry-run'], {}, runner);
    expect(r.code).toBe(EXIT.OK);
    expect(runs.map((x) => [x.project, x.version])).toEqual([['docker-compose', '2.29.1']]);
    expect(r.stdout).toContain('dry run: would create release docker-compose-v2.29.1');

    await seedBucket(ws.root, ['1.9.5', '1.10.0']);
    await seedBucket(ws.root, ['2.27.0', '2.29.1'], { name: 'docker-compose' });
    const plan = JSON.stringify([
      { recipe: 'apps/alloy/sysext.json', project: 'alloy', name: 'alloy', version: '1.10.0', kind: 'release' },
      {
        recipe: 'sysexts/docker-compose/sysext.json',
        project: 'docker-compose',
        name: 'docker-compose',
        version: '2.29.1',
        kind: 'release',
      },
    ]);
    expect((await run(['finish', '--plan', plan, '--result', 'success'])).code).toBe(EXIT.OK);
    expect(
      gh
        .releases(OWNER, REPO)
        .map((x) => x.tag)
        .sort(),
    ).toEqual(['alloy-v1.10.0', 'docker-compose-v2.29.1']);
    expect(
      gh
        .issues(OWNER, REPO)
        .filter((i) => i.state === 'closed')
        .map((i) => i.title)
        .sort(),
    ).toEqual(expect.arrayContaining(['Release alloy 1.10.0', 'Release docker-compose 2.29.1']));
  });

  it('revoke and verify act on the sysext whose bucket lists the version; a version of none is refused', async () => {
    await seedBoth();
    // revoke signs: the workspace's development key, no public key alone
    const r = await run(['revoke', '--version', '2.27.0', '--dry-run'], { ALLOY_SIGNING_PUBLIC_KEY: undefined });
    expect([r.code, r.stderr]).toEqual([EXIT.OK, expect.not.stringContaining('release-bot revoke')]);
    expect(r.stdout).toContain('dry run: would write docker-compose-2.27.0.tombstone.asc');
    const none = await run(['verify', '--version', '1.2.3']);
    expect([none.code, none.stderr]).toEqual([
      EXIT.USAGE,
      expect.stringContaining('1.2.3 is not a published version of any sysext (alloy, docker-compose): pass --sysext <name>'),
    ]);
  });

  it("retention keeps what a consumer pins of this sysext (base branch, the bot's open pull request), not its alloy", async () => {
    const file = path.join(ws.root, 'sysexts/docker-compose/sysext.json');
    const original = await readFile(file, 'utf8');
    const ghostPath = 'opentofu/modules/vultr/instance/userdata/ghost.bu';
    const ghost = await readFile(fileURLToPath(new URL('../../../libs/ghost-stack/test/fixtures/ghost.bu', import.meta.url)), 'utf8');
    // develop pins the bakery's 2.24.5; the bot's open pull request of docker-compose proposes 2.26.0
    const branch = 'feature/update-docker-compose-sysext-to-2.26.0';
    const url = (f: string) => `https://sysext.example.com/docker-compose/${f}`;
    const proposed = new ButaneUpdater({ name: 'docker-compose', version: '2.26.0', sha256: 'd'.repeat(64), arch: 'amd64', imageUrl: url });
    const branches = { develop: { [ghostPath]: ghost }, [branch]: { [ghostPath]: proposed.updateContent(ghost) } };
    gh.seedRepo({ owner: 'noahwhite', repo: 'ghost-stack', defaultBranch: 'develop', branches });
    const pull = { title: 'Update docker-compose sysext to 2.26.0', head: branch, base: 'develop', body: 'bump' };
    const opened = await fetch(`${gh.url}/repos/noahwhite/ghost-stack/pulls`, {
      method: 'POST',
      headers: { authorization: `token ${gh.token()}`, 'content-type': 'application/json', accept: 'application/vnd.github+json' },
      body: JSON.stringify(pull),
    });
    expect(opened.status).toBe(201);
    const consumer = { name: 'ghost-stack', repo: 'noahwhite/ghost-stack', path: ghostPath, base: 'develop', arch: 'amd64', auth: {} };
    await writeFile(file, JSON.stringify({ ...JSON.parse(original), consumers: [consumer] }));
    try {
      await seedBucket(ws.root, ['2.24.5', '2.26.0', '2.27.0', '2.29.1'], { name: 'docker-compose' });
      const r = await run(['prune', '--sysext', 'docker-compose', '--keep', '1', '--dry-run'], { ALLOY_SIGNING_PUBLIC_KEY: undefined });
      expect([r.code, r.stderr]).toEqual([EXIT.OK, expect.not.stringContaining('release-bot prune')]);
      expect(r.stdout).toContain('keep   2.29.1: newest 1 (#1)\n');
      expect(r.stdout).toContain(`keep   2.24.5: pinned by ghost-stack (noahwhite/ghost-stack:${ghostPath}@develop)\n`);
      expect(r.stdout).toContain(
        `keep   2.26.0: pinned by open pull request #${((await opened.json()) as { number: number }).number} of ghost-stack (${branch})\n`,
      );
      expect(r.stdout).toContain('remove 2.27.0\n');
    } finally {
      await writeFile(file, original);
    }
  });
});
