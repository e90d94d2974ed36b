// The published version set only moves forward, as `check` and `status` see it. The tests play a bucket writer without
// the key: an older genuine SHA256SUMS/.gpg pair put back (finding 2 of issue 20), the state put back with it, and a
// revoked version's lines put back (finding 3). Each exits 5 naming the version, with a repair that never re-signs a
// removed version.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createDirectoryStore, type ObjectStore } from '@alloy-sysext/r2';
import { verifyDetached } from '@alloy-sysext/signing';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { EXIT, main } from '../src/index.js';
import { capture, devKey, recordSeededState, seedBucket, tempWorkspace } from './helpers.js';

const OWNER = 'alloy-sysext';
const REPO = 'alloy-sysext';
let upstream: UpstreamHost;
let gh: GitHubDouble;
const workspaces: Array<{ root: string; cleanup: () => Promise<void> }> = [];

beforeAll(async () => {
  upstream = await startUpstreamHost({
    releases: ['1.9.5', '1.10.0', '1.10.1'].map((version) => ({ version, arches: ['amd64' as const] })),
  });
  gh = await startGitHubDouble({ validateResponses: true });
  gh.seedRepo({ owner: OWNER, repo: REPO });
});
afterAll(async () => {
  await Promise.all([upstream?.stop(), gh?.stop(), ...workspaces.map((w) => w.cleanup())]);
});

async function workspace() {
  const ws = await tempWorkspace({ consumers: [] });
  workspaces.push(ws);
  const store = createDirectoryStore(path.join(ws.root, 'dist', 'bucket'), { prefix: 'alloy/' });
  const outputs = path.join(ws.root, 'github-output');
  const env = {
    ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
    ALLOY_GITHUB_API_URL: gh.url,
    ALLOY_GITHUB_TOKEN: gh.token({ readOnly: true }),
    GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
    GITHUB_OUTPUT: outputs,
  };
  /** Runs the command line as typed; returns the exit code, stdout, stderr and what it wrote to $GITHUB_OUTPUT. */
  const run = async (argv: string[], extra: NodeJS.ProcessEnv = {}) => {
    await writeFile(outputs, '');
    const c = capture(ws.root, { ...env, ...extra });
    const code = await main(argv, c.ctx);
    return { code, stdout: c.stdout(), stderr: c.stderr(), outputs: await readFile(outputs, 'utf8') };
  };
  /** What a publish leaves: the versions' objects, SHA256SUMS signed, and the next signed state. */
  const published = async (versions: string[]) => {
    await seedBucket(ws.root, versions);
    await recordSeededState(ws.root);
  };
  return { ...ws, store, run, published };
}

const save = async (store: ObjectStore, keys: string[]) =>
  Object.fromEntries(await Promise.all(keys.map(async (k) => [k, (await store.get(k))!.body] as const)));
const putBack = async (store: ObjectStore, saved: Record<string, Buffer>) => {
  for (const [k, body] of Object.entries(saved)) await store.putBytes(k, body);
};
const PAIR = ['SHA256SUMS', 'SHA256SUMS.gpg'];

/** `check` exited 5 naming the problem, with `repair` printed and in $GITHUB_OUTPUT; `status` says the same. */
async function expectBroken(
  w: { run: (argv: string[]) => Promise<{ code: number; stdout: string }> },
  check: { code: number; stdout: string; outputs: string },
  expected: { named: string; repair: string },
) {
  const repair = `repair: npx nx run alloy:publish --version=${expected.repair}`;
  expect(check.code).toBe(EXIT.BUCKET_BROKEN);
  expect(check.stdout).toContain(expected.named);
  expect(check.stdout).toContain(repair);
  expect(check.outputs).toBe(`version=1.10.1\nnew=false\nbroken=true\nrepair_version=${expected.repair}\n`);
  const status = await w.run(['status']);
  expect(status.code).toBe(EXIT.BUCKET_BROKEN);
  expect(status.stdout).toContain(expected.named);
  expect(status.stdout).toContain(repair);
}

describe('check and status see the version set go backwards', () => {
  it('an older genuine SHA256SUMS/.gpg pair put back: exit 5 naming the missing version; the repair publishes it', async () => {
    const w = await workspace();
    await seedBucket(w.root, ['1.9.5', '1.10.0']);
    const legacy = await w.run(['check', '--dry-run']);
    expect(legacy.code).toBe(EXIT.NEW_VERSION);
    expect(legacy.stdout).toContain('history: no signed state yet (a bucket from before signed states');
    await w.published(['1.9.5', '1.10.0']);
    const before = await save(w.store, PAIR);
    await w.published(['1.9.5', '1.10.0', '1.10.1']);
    expect((await w.run(['check'])).code).toBe(EXIT.OK);
    await putBack(w.store, before);

    const check = await w.run(['check']);
    await expectBroken(w, check, { named: 'SHA256SUMS lacks 1.10.1', repair: '1.10.1' });
    expect(check.stdout).toMatch(
      /SHA256SUMS lacks 1\.10\.1, which signed state #2 \(alloy-state\.asc in .*\) lists and no tombstone removed: an older SHA256SUMS was put back \(rollback\)/,
    );
    // 1.10.1 is published, only held back: a repair, not a new release
    expect(check.stdout).toContain('up to date: 1.10.1 was published, but SHA256SUMS lacks it (see bucket)');
  });

  it('the state put back with the pair: the workspace that saw the newer state, and the release tags from a fresh clone, exit 5', async () => {
    const w = await workspace();
    await w.published(['1.9.5', '1.10.0']);
    const before = await save(w.store, [...PAIR, 'alloy-state.asc']);
    await w.published(['1.9.5', '1.10.0', '1.10.1']);
    expect((await w.run(['status'])).code).toBe(EXIT.OK); // this workspace sees state #2
    await putBack(w.store, before);

    const seen = await w.run(['check']);
    expect(seen.code).toBe(EXIT.BUCKET_BROKEN);
    expect(seen.stdout).toMatch(
      /alloy-state\.asc in .* is state #1, but this workspace's last state \(.*\) recorded state #2: an older state was put back \(rollback\)/,
    );
    expect(seen.stdout).toContain('SHA256SUMS lacks 1.10.1, which signed state #2');

    // a fresh clone reads the same bucket: without a tag, nothing outside the bucket shows it (README, Version history)
    const fresh = await tempWorkspace({ consumers: [] });
    workspaces.push(fresh);
    await cp(path.join(w.root, '.dev-keys'), path.join(fresh.root, '.dev-keys'), { recursive: true });
    const env = {
      ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
      ALLOY_LOCAL_BUCKET: path.join(w.root, 'dist', 'bucket'),
      ALLOY_GITHUB_API_URL: gh.url,
      ALLOY_GITHUB_TOKEN: gh.token({ readOnly: true }),
      GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
    };
    const blind = capture(fresh.root, env);
    expect(await main(['check', '--dry-run'], blind.ctx)).toBe(EXIT.NEW_VERSION);
    // release-bot release tagged 1.10.1 when it published it: the tag is the witness
    const head = gh.branchHead(OWNER, REPO, 'main');
    const tagged = await fetch(`${gh.url}/repos/${OWNER}/${REPO}/git/refs`, {
      method: 'POST',
      headers: { authorization: `token ${gh.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ref: 'refs/tags/alloy-v1.10.1', sha: head }),
    });
    expect(tagged.status).toBe(201);
    const witnessed = capture(fresh.root, env);
    expect(await main(['check'], witnessed.ctx)).toBe(EXIT.BUCKET_BROKEN);
    expect(witnessed.stdout()).toContain(
      'release tag alloy-v1.10.1 (release tags alloy-v* in alloy-sysext/alloy-sysext) names 1.10.1, which neither SHA256SUMS nor the newest signed state lists',
    );
    expect(witnessed.stdout()).toContain('repair: npx nx run alloy:publish --version=1.10.1');
  });
});

describe('release-bot revoke', () => {
  it('removes a version for good: check no longer offers it; its lines put back exit 5, and the repair is another version', async () => {
    const w = await workspace();
    await w.published(['1.9.5', '1.10.0', '1.10.1']);
    const listing = async () => (await w.store.list('')).map((o) => `${o.key} ${o.etag}`);
    const revokedLines = (await w.store.get('SHA256SUMS'))!.body
      .toString()
      .split('\n')
      .filter((l) => l.includes('-1.10.1'));

    const before = await listing();
    const dry = await w.run(['revoke', '--version', '1.10.1', '--dry-run']);
    expect(dry.code).toBe(EXIT.OK);
    expect(dry.stdout).toContain('dry run: would write alloy-1.10.1.tombstone.asc (revoked)');
    expect(await listing()).toEqual(before);

    const revoked = await w.run(['revoke', '--version', '1.10.1', '--reason', 'crashes on start']);
    expect(revoked.code).toBe(EXIT.OK);
    expect(revoked.stdout).toContain('revoked alloy 1.10.1 in');
    const manifest = (await w.store.get('SHA256SUMS'))!.body;
    expect(manifest.toString()).not.toContain('-1.10.1');
    const key = await devKey(w.root);
    await verifyDetached({
      data: manifest,
      signature: (await w.store.get('SHA256SUMS.gpg'))!.body.toString(),
      publicKey: key.publicKeyArmored,
    });
    expect((await w.store.head('alloy-1.10.1-amd64.raw'))?.size).toBeGreaterThan(0); // objects stay

    // upstream's latest is 1.10.1: not "new" (exit 10 would release it again), the bucket healthy
    const check = await w.run(['check']);
    expect(check.code).toBe(EXIT.OK);
    expect(check.stdout).toContain('up to date: 1.10.1 was removed from the bucket (revoked or pruned) and is not released again');
    expect(check.outputs).toBe('version=1.10.1\nnew=false\nbroken=false\n');
    const again = await w.run(['revoke', '--version', '1.10.1']);
    expect(again.code).toBe(EXIT.OK);
    expect(again.stdout).toContain('alloy 1.10.1 is already removed: it was revoked at state #2: crashes on start');

    // a bucket writer appends its lines again (its own signed fragment would vouch for them)
    await w.store.putBytes('SHA256SUMS', Buffer.from(`${manifest}${revokedLines.join('\n')}\n`));
    const revived = await w.run(['check']);
    // the repair is the newest version the bucket should serve, never the revoked one
    await expectBroken(w, revived, { named: 'SHA256SUMS lists 1.10.1 again', repair: '1.10.0' });
    expect(revived.stdout).toMatch(
      /SHA256SUMS lists 1\.10\.1 again, which was revoked at state #2: crashes on start \(.*\): its lines were put back \(revived\), or the revoke stopped before removing them \(rerun it\)/,
    );
    expect(revived.stdout).toContain('published: 1.9.5, 1.10.0, 1.10.1 (removed, listed again)\n');
  });

  it('refuses a version that was never published, and a malformed one', async () => {
    const w = await workspace();
    await w.published(['1.10.0']);
    const unknown = await w.run(['revoke', '--version', '1.9.0']);
    expect(unknown.code).toBe(EXIT.ERROR);
    expect(unknown.stderr).toContain('alloy 1.9.0 is not published in');
    expect(unknown.stderr).toContain('(SHA256SUMS lists 1.10.0); nothing to revoke');
    const usage = await w.run(['revoke', '--version', '1.10']);
    expect(usage.code).toBe(EXIT.USAGE);
    expect((await w.run(['revoke'])).code).toBe(EXIT.USAGE);
  });
});
