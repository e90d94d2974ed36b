// The pull-request flow with a key edit (the same machinery as version bumps: marker, supersede, humans respected,
// dry run), against the GitHub double with ghost-stack's layout (the key inline at /etc/systemd/alloy-sysext.gpg.pub).
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { readKeyring, type KeyringKey } from '@alloy-sysext/signing';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { addKey, KeyEntryUpdater, removeKey, runConsumerFlow, type Consumer, type ConsumerEdit } from '../src/index.js';

const GHOST = readFileSync(fileURLToPath(new URL('./fixtures/ghost-with-key.bu', import.meta.url)), 'utf8');
const PATH = 'opentofu/modules/vultr/instance/userdata/ghost.bu';
const KEY_PATH = '/etc/systemd/alloy-sysext.gpg.pub';
const OLD = 'D23EA1FEF045A40CA24ECB3046B0426485FE8513';
const fast = { retry: { retryAfterBaseValue: 1 }, throttle: { enabled: false } };

let gh: GitHubDouble;
let seq = 0;
let k1: KeyringKey;
let k2: KeyringKey;

beforeAll(async () => {
  gh = await startGitHubDouble();
  const make = async (name: string) =>
    (await readKeyring((await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name }] })).publicKey))[0]!;
  [k1, k2] = [await make('K1'), await make('K2')];
});
afterAll(async () => {
  await gh?.stop();
});

function seed(text = GHOST) {
  const owner = 'noahwhite';
  const repo = `ghost-stack-keys-${++seq}`;
  gh.seedRepo({ owner, repo, defaultBranch: 'develop', branches: { develop: { [PATH]: text } } });
  const consumer: Consumer = {
    name: 'ghost-stack',
    repo: `${owner}/${repo}`,
    path: PATH,
    base: 'develop',
    arch: 'amd64',
    auth: { token: gh.token() },
    labels: ['sysext'],
  };
  return { owner, repo, full: `${owner}/${repo}`, consumer };
}

function run(consumer: Consumer, edit: ConsumerEdit, extra: { dryRun?: boolean } = {}) {
  const lines: string[] = [];
  return runConsumerFlow({ consumer, edit, githubUrl: gh.url, octokitOptions: fast, log: (l) => lines.push(l), ...extra }).then((r) => ({
    ...r,
    lines,
  }));
}

const writesTo = (full: string) => gh.writes().filter((w) => w.path.startsWith(`/repos/${full}/`));
const trust = (key: KeyringKey) => addKey(key, { keyPath: KEY_PATH });

describe('key edits through the pull-request flow', () => {
  it('adding a key opens one pull request with exactly the key block added; a rerun writes nothing', async () => {
    const { owner, repo, full, consumer } = seed();
    const r = await run(consumer, trust(k1));
    const branch = `feature/alloy-sysext-trust-key-${k1.fingerprint.slice(-16)}`;
    expect(r).toMatchObject({ status: 'opened', branch, pr: { number: 1 } });
    expect(gh.readFile(owner, repo, branch, PATH)).toBe(await new KeyEntryUpdater(KEY_PATH).addKey(GHOST, k1));
    const [pr] = gh.pulls(owner, repo);
    expect(pr).toMatchObject({ title: `Trust the new alloy-sysext release key ${k1.fingerprint.slice(-16)}`, labels: ['sysext'] });
    expect(pr!.body).toContain(`<!-- alloy-sysext: edit=add-key key=${k1.fingerprint} consumer=ghost-stack -->`);
    expect(pr!.body).toContain(`| before | \`${OLD}\` |`);
    expect(pr!.body).toContain(`| after | \`${OLD}\`<br>\`${k1.fingerprint}\` |`);
    const mark = writesTo(full).length;
    expect((await run(consumer, trust(k1))).status).toBe('unchanged');
    expect(writesTo(full).length).toBe(mark);
  });

  it('a base branch that already trusts the key is up to date, with no pull request', async () => {
    const { full, consumer } = seed(await new KeyEntryUpdater(KEY_PATH).addKey(GHOST, k1));
    const r = await run(consumer, trust(k1));
    expect(r.status).toBe('up-to-date');
    expect(r.lines.join('\n')).toContain(`already trusts ${k1.fingerprint}`);
    expect(writesTo(full)).toEqual([]);
  });

  it('a rotation to another key supersedes the open one; retirements of two keys stay side by side', async () => {
    const { owner, repo, consumer } = seed();
    await run(consumer, trust(k1));
    const second = await run(consumer, trust(k2));
    expect(second).toMatchObject({ status: 'opened', pr: { number: 2 }, superseded: [1] });
    expect(gh.pulls(owner, repo).map((p) => [p.number, p.state])).toEqual([
      [1, 'closed'],
      [2, 'open'],
    ]);
    // both keys trusted on the base: retiring one and then the other gives two open pull requests
    const both = await new KeyEntryUpdater(KEY_PATH).addKey(await new KeyEntryUpdater(KEY_PATH).addKey(GHOST, k1), k2);
    const other = seed(both);
    const retire = (key: KeyringKey) => removeKey(key, { keyPath: KEY_PATH });
    expect((await run(other.consumer, retire(k1))).status).toBe('opened');
    const r = await run(other.consumer, retire(k2));
    expect(r).toMatchObject({ status: 'opened', pr: { number: 2 } });
    expect(r.superseded).toBeUndefined();
    expect(gh.pulls(other.owner, other.repo).map((p) => p.state)).toEqual(['open', 'open']);
  });

  it('a human commit on the key branch is left alone, with one comment', async () => {
    const { owner, repo, full, consumer } = seed();
    await run(consumer, trust(k1));
    const branch = `feature/alloy-sysext-trust-key-${k1.fingerprint.slice(-16)}`;
    const human = gh.commitAs(
      owner,
      repo,
      branch,
      { [PATH]: GHOST.replace('# Release key(s)', '# Our keys') },
      { message: 'x', login: 'noahwhite' },
    );
    const mark = writesTo(full).length;
    const r = await run(consumer, trust(k1));
    expect(r.status).toBe('blocked-by-human-commit');
    expect(gh.branchHead(owner, repo, branch)).toBe(human);
    expect(gh.pulls(owner, repo)[0]!.comments[0]!.body).toContain(
      `<!-- alloy-sysext-blocked: edit=add-key key=${k1.fingerprint} head=${human} -->`,
    );
    expect((await run(consumer, trust(k1))).status).toBe('blocked-by-human-commit');
    expect(writesTo(full).length).toBe(mark + 1);
  });

  it('a dry run without an output directory returns the diff and the body, and writes nothing', async () => {
    const { full, consumer } = seed();
    const r = await run({ ...consumer, auth: {} }, trust(k1));
    expect(r.status).toBe('dry-run');
    expect(writesTo(full)).toEqual([]);
    expect(r.diff!.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).length).toBeGreaterThan(5);
    expect(r.diff!.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---'))).toEqual([]);
    expect(r.body).toMatch(/^# Trust the new alloy-sysext release key/);
  });
});
