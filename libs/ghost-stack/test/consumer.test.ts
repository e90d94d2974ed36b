import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync } from 'node:crypto';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { updateConsumer, type Consumer, type UpdateConsumerOptions } from '../src/index.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');
const GHOST = fixture('ghost.bu');
const TFTPL = fixture('infisical.bu.tftpl');
const GHOST_PATH = 'opentofu/modules/vultr/instance/userdata/ghost.bu';
const TFTPL_PATH = 'opentofu/modules/server/userdata/infisical.bu.tftpl';
const OLD = '3f9a1c0e7b2d4c6a8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f';
const H1 = '1'.repeat(64);
const H2 = '2'.repeat(64);
const H3 = '3'.repeat(64);

/** The expected bytes, spelled out independently of the updater. */
function ghostAt(version: string, sha: string): string {
  return GHOST.replaceAll('alloy-1.10.1-amd64.raw', `alloy-${version}-amd64.raw`).replace(`sha256-${OLD}`, `sha256-${sha}`);
}

const rsaPairs: Array<{ privateKey: string; publicKey: string }> = [];
/** RSA key pairs for GitHub Apps, generated once per file (key generation is the slow part on shared cores). */
function rsa(i: number): { privatePem: string; publicPem: string } {
  while (rsaPairs.length <= i)
    rsaPairs.push(
      generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      }),
    );
  return { privatePem: rsaPairs[i]!.privateKey, publicPem: rsaPairs[i]!.publicKey };
}

let gh: GitHubDouble;
let out: string;
let seq = 0;
const fast = { retry: { retryAfterBaseValue: 1 }, throttle: { enabled: false } };

beforeAll(async () => {
  gh = await startGitHubDouble();
  out = await mkdtemp(join(tmpdir(), 'ghost-stack-'));
});
afterAll(async () => {
  await gh?.stop();
  if (out) await rm(out, { recursive: true, force: true });
});

/** A fresh repository per test, so tests do not depend on each other. */
function seedGhost(files: Record<string, string> = { [GHOST_PATH]: GHOST }): { owner: string; repo: string; full: string } {
  const owner = 'noahwhite';
  const repo = `ghost-stack-${++seq}`;
  gh.seedRepo({ owner, repo, defaultBranch: 'develop', branches: { develop: { 'README.md': '# ghost-stack\n', ...files } } });
  return { owner, repo, full: `${owner}/${repo}` };
}

function consumerFor(full: string, auth: Consumer['auth'], extra: Partial<Consumer> = {}): Consumer {
  return {
    name: 'ghost-stack',
    repo: full,
    path: GHOST_PATH,
    base: 'develop',
    arch: 'amd64',
    auth,
    labels: ['dependencies', 'sysext'],
    assignees: ['noahwhite'],
    ...extra,
  };
}

function run(consumer: Consumer, version: string, sha256: string, extra: Partial<UpdateConsumerOptions> = {}) {
  const lines: string[] = [];
  return updateConsumer({
    name: 'alloy',
    consumer,
    version,
    sha256,
    release: {
      url: `https://github.com/grafana/alloy/releases/tag/v${version}`,
      notes: `## v${version}\n\n- Fixed a bug reported by @someone in #1234.\n`,
    },
    imageUrl: `https://sysext.example.com/alloy/alloy-${version}-amd64.raw`,
    githubUrl: gh.url,
    outDir: out,
    octokitOptions: fast,
    log: (l) => lines.push(l),
    ...extra,
  }).then((r) => ({ ...r, lines }));
}

const writesTo = (full: string) => gh.writes().filter((w) => w.path.startsWith(`/repos/${full}/`));
const shape = (ws: Array<{ method: string; path: string }>, full: string) =>
  ws.map((w) => `${w.method} ${w.path.slice(`/repos/${full}`.length)}`);

describe('updateConsumer against the GitHub double', () => {
  it('opens a pull request on the first run, and an identical second run makes no write requests', async () => {
    const { owner, repo, full } = seedGhost();
    const consumer = consumerFor(full, { token: gh.token() });
    const first = await run(consumer, '1.11.0', H1);
    expect(first.status).toBe('opened');
    expect(shape(writesTo(full), full)).toEqual([
      'POST /git/blobs',
      'POST /git/trees',
      'POST /git/commits',
      'POST /git/refs',
      'POST /pulls',
      'POST /issues/1/labels',
      'POST /issues/1/assignees',
    ]);
    const branch = 'feature/update-alloy-sysext-to-1.11.0';
    expect(gh.readFile(owner, repo, branch, GHOST_PATH)).toBe(ghostAt('1.11.0', H1));
    expect(gh.readFile(owner, repo, 'develop', GHOST_PATH)).toBe(GHOST);
    const [pr] = gh.pulls(owner, repo);
    expect(pr).toMatchObject({
      number: 1,
      state: 'open',
      head: branch,
      base: 'develop',
      title: 'Update alloy sysext to 1.11.0',
      labels: ['dependencies', 'sysext'],
      assignees: ['noahwhite'],
      user: 'alloy-bot',
    });
    expect(first.pr).toEqual({ number: 1, url: expect.stringContaining('/pull/1') });
    expect(pr!.body).toContain('from **1.10.1** to **1.11.0**');
    expect(pr!.body).toContain(`| old | 1.10.1 | \`alloy-1.10.1-amd64.raw\` | \`${OLD}\` |`);
    expect(pr!.body).toContain(`| new | 1.11.0 | \`alloy-1.11.0-amd64.raw\` | \`${H1}\` |`);
    expect(pr!.body).toContain('https://github.com/grafana/alloy/releases/tag/v1.11.0');
    expect(pr!.body).toContain('- Fixed a bug reported by @&#8203;someone in grafana/alloy#1234.');
    expect(pr!.body).toContain(`- [ ] \`curl -fsSL https://sysext.example.com/alloy/alloy-1.11.0-amd64.raw | sha256sum\` prints \`${H1}\``);
    expect(pr!.body).toContain(`<!-- alloy-sysext: version=1.11.0 sha256=${H1} consumer=ghost-stack -->`);
    const head = gh.branchHead(owner, repo, branch)!;
    const commit = gh.getCommit(owner, repo, head)!;
    expect(commit.parents).toEqual([gh.branchHead(owner, repo, 'develop')]);
    expect(commit.message).toMatch(/^Update alloy sysext to 1\.11\.0\n/);
    expect(commit.author.name).toBe('alloy-bot');

    const before = gh.writes().length;
    const second = await run(consumer, '1.11.0', H1);
    expect(second.status).toBe('unchanged');
    expect(second.pr?.number).toBe(1);
    expect(gh.writes().length).toBe(before);
    expect(gh.branchHead(owner, repo, branch)).toBe(head);
  });

  it('stops without writing when the base already pins the version and hash', async () => {
    const { full } = seedGhost();
    const r = await run(consumerFor(full, { token: gh.token() }), '1.10.1', OLD);
    expect(r.status).toBe('up-to-date');
    expect(r.lines.join('\n')).toContain('already pins alloy 1.10.1');
    expect(writesTo(full)).toEqual([]);
  });

  it('a new hash for the same version updates the same pull request', async () => {
    const { owner, repo, full } = seedGhost();
    const consumer = consumerFor(full, { token: gh.token() });
    await run(consumer, '1.11.0', H1);
    const mark = writesTo(full).length;
    const r = await run(consumer, '1.11.0', H2);
    expect(r.status).toBe('updated');
    expect(r.pr?.number).toBe(1);
    expect(shape(writesTo(full).slice(mark), full)).toEqual([
      'POST /git/blobs',
      'POST /git/trees',
      'POST /git/commits',
      'PATCH /git/refs/heads/feature/update-alloy-sysext-to-1.11.0',
      'PATCH /pulls/1',
    ]);
    expect(gh.readFile(owner, repo, 'feature/update-alloy-sysext-to-1.11.0', GHOST_PATH)).toBe(ghostAt('1.11.0', H2));
    const pulls = gh.pulls(owner, repo);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]!.body).toContain(`<!-- alloy-sysext: version=1.11.0 sha256=${H2} consumer=ghost-stack -->`);
    // the branch is a single fresh commit on the base head
    const head = gh.getCommit(owner, repo, gh.branchHead(owner, repo, 'feature/update-alloy-sysext-to-1.11.0')!)!;
    expect(head.parents).toEqual([gh.branchHead(owner, repo, 'develop')]);
  });

  it('a newer version opens a new pull request and supersedes the older one', async () => {
    const { owner, repo, full } = seedGhost();
    const consumer = consumerFor(full, { token: gh.token() });
    await run(consumer, '1.11.0', H1);
    const r = await run(consumer, '1.12.0', H3);
    expect(r).toMatchObject({ status: 'opened', pr: { number: 2 }, superseded: [1] });
    const [old, fresh] = gh.pulls(owner, repo);
    expect(old).toMatchObject({ number: 1, state: 'closed', comments: [{ body: 'Superseded by #2.', user: 'alloy-bot' }] });
    expect(fresh).toMatchObject({ number: 2, state: 'open', head: 'feature/update-alloy-sysext-to-1.12.0' });
    expect(gh.readFile(owner, repo, 'feature/update-alloy-sysext-to-1.12.0', GHOST_PATH)).toBe(ghostAt('1.12.0', H3));
    // the superseded bot branch is deleted after its pull request is closed
    expect(gh.branchHead(owner, repo, 'feature/update-alloy-sysext-to-1.11.0')).toBeUndefined();
    expect(shape(writesTo(full), full).slice(-3)).toEqual([
      'POST /issues/1/comments',
      'PATCH /pulls/1',
      'DELETE /git/refs/heads/feature/update-alloy-sysext-to-1.11.0',
    ]);
    // rerunning the newer version is a no-op (the closed older PR stays closed)
    const mark = writesTo(full).length;
    expect((await run(consumer, '1.12.0', H3)).status).toBe('unchanged');
    // a late run for an older version does not propose it next to the newer pull request
    const late = await run(consumer, '1.11.1', H2);
    expect(late).toMatchObject({ status: 'unchanged', pr: { number: 2 } });
    expect(late.lines.join('\n')).toContain('#2 already proposes alloy 1.12.0, newer than 1.11.1');
    expect(writesTo(full).length).toBe(mark);
  });

  it('does not clobber a human commit on the branch: comments once and leaves it', async () => {
    const { owner, repo, full } = seedGhost();
    const consumer = consumerFor(full, { token: gh.token() });
    await run(consumer, '1.11.0', H1);
    const branch = 'feature/update-alloy-sysext-to-1.11.0';
    const human = gh.commitAs(
      owner,
      repo,
      branch,
      { 'NOTES.md': 'tested on staging\n' },
      { message: 'Note staging test', login: 'noahwhite' },
    );
    const mark = writesTo(full).length;
    const r = await run(consumer, '1.11.0', H2);
    expect(r.status).toBe('blocked-by-human-commit');
    expect(gh.branchHead(owner, repo, branch)).toBe(human);
    expect(gh.readFile(owner, repo, branch, GHOST_PATH)).toBe(ghostAt('1.11.0', H1));
    expect(shape(writesTo(full).slice(mark), full)).toEqual(['POST /issues/1/comments']);
    const [pr] = gh.pulls(owner, repo);
    expect(pr!.comments).toHaveLength(1);
    expect(pr!.comments[0]!.body).toContain('has commits by `noahwhite`, so it was left alone');
    expect(pr!.body).toContain(`sha256=${H1}`);
    // a rerun does not repeat the comment
    const again = await run(consumer, '1.11.0', H2);
    expect(again.status).toBe('blocked-by-human-commit');
    expect(writesTo(full).length).toBe(mark + 1);
  });

  it('never supersedes an older bot pull request a human pushed to, and still closes and deletes the untouched one', async () => {
    const { owner, repo, full } = seedGhost();
    const consumer = consumerFor(full, { token: gh.token() });
    await run(consumer, '1.11.0', H1);
    const touched = 'feature/update-alloy-sysext-to-1.11.0';
    const human = gh.commitAs(
      owner,
      repo,
      touched,
      { 'NOTES.md': 'pinned for staging\n' },
      { message: 'Staging notes', login: 'noahwhite' },
    );
    const second = await run(consumer, '1.11.1', H2);
    expect(second).toMatchObject({ status: 'opened', pr: { number: 2 }, keptOpen: [1] });
    expect(second.superseded).toBeUndefined();
    expect(second.lines.join('\n')).toContain(`not superseding #1: ${touched} has commits by noahwhite; leaving it open`);
    const third = await run(consumer, '1.12.0', H3);
    expect(third).toMatchObject({ status: 'opened', pr: { number: 3 }, superseded: [2], keptOpen: [1] });
    const [first, middle, newest] = gh.pulls(owner, repo);
    expect(first).toMatchObject({ number: 1, state: 'open', comments: [] });
    expect(gh.branchHead(owner, repo, touched)).toBe(human);
    expect(middle).toMatchObject({ number: 2, state: 'closed', comments: [{ body: 'Superseded by #3.' }] });
    expect(gh.branchHead(owner, repo, 'feature/update-alloy-sysext-to-1.11.1')).toBeUndefined();
    expect(newest).toMatchObject({ number: 3, state: 'open' });
    expect(shape(writesTo(full), full).filter((w) => /DELETE|PATCH \/pulls/.test(w))).toEqual([
      'PATCH /pulls/2',
      'DELETE /git/refs/heads/feature/update-alloy-sysext-to-1.11.1',
    ]);
  });

  it('gives two consumers two pull requests', async () => {
    const ghost = seedGhost();
    gh.seedRepo({ owner: 'officina-pub', repo: 'infisical-stack', defaultBranch: 'main', branches: { main: { [TFTPL_PATH]: TFTPL } } });
    const infisical: Consumer = {
      name: 'infisical-stack',
      repo: 'officina-pub/infisical-stack',
      path: TFTPL_PATH,
      base: 'main',
      arch: 'amd64',
      auth: { token: gh.token({ login: 'officina-bot' }) },
      labels: ['sysext'],
    };
    const results = await Promise.all([run(consumerFor(ghost.full, { token: gh.token() }), '1.11.0', H1), run(infisical, '1.11.0', H1)]);
    expect(results.map((r) => [r.consumer, r.status, r.pr?.number])).toEqual([
      ['ghost-stack', 'opened', 1],
      ['infisical-stack', 'opened', 1],
    ]);
    expect(gh.pulls(ghost.owner, ghost.repo).map((p) => p.head)).toEqual(['feature/update-alloy-sysext-to-1.11.0']);
    const [ipr] = gh.pulls('officina-pub', 'infisical-stack');
    expect(ipr).toMatchObject({ base: 'main', user: 'officina-bot', labels: ['sysext'] });
    const updated = gh.readFile('officina-pub', 'infisical-stack', 'feature/update-alloy-sysext-to-1.11.0', TFTPL_PATH)!;
    expect(updated).toBe(
      TFTPL.replaceAll('alloy-1.10.1-amd64.raw', 'alloy-1.11.0-amd64.raw').replace(`sha256-${'b'.repeat(64)}`, `sha256-${H1}`),
    );
  });

  it("refuses to take over a branch another consumer's pull request uses", async () => {
    const { full } = seedGhost();
    await run(consumerFor(full, { token: gh.token() }), '1.11.0', H1);
    const mark = writesTo(full).length;
    await expect(run(consumerFor(full, { token: gh.token() }, { name: 'ghost-stack-2' }), '1.11.0', H1)).rejects.toThrow(
      `[ghost-stack-2] branch feature/update-alloy-sysext-to-1.11.0 of ${full} already has pull request #1 for consumer "ghost-stack"`,
    );
    expect(writesTo(full).length).toBe(mark);
  });

  it('commits as a GitHub App with no custom author, so the commit is verified', async () => {
    const { owner, repo, full } = seedGhost();
    const { privatePem: pem, publicPem } = rsa(0);
    gh.registerApp({ appId: 4242, slug: 'ghost-sysext-bot', publicKeyPem: publicPem, installations: [{ id: 77, owner, repos: [repo] }] });
    // stored in an env var with literal \n, as secrets often are
    const r = await run(consumerFor(full, { app: { id: '4242', privateKey: pem.replace(/\n/g, '\\n') } }), '1.11.0', H1);
    expect(r.status).toBe('opened');
    const post = gh.requests.find((q) => q.method === 'POST' && q.path === `/repos/${full}/git/commits`)!;
    expect(post.auth).toBe('installation');
    expect(Object.keys(post.body as object).sort()).toEqual(['message', 'parents', 'tree']);
    const commit = gh.getCommit(owner, repo, gh.branchHead(owner, repo, 'feature/update-alloy-sysext-to-1.11.0')!)!;
    expect(commit.verified).toBe(true);
    expect(commit.createdBy).toBe('ghost-sysext-bot[bot]');
    expect(gh.pulls(owner, repo)[0]!.user).toBe('ghost-sysext-bot[bot]');
    // identical rerun as the App: no writes (installation token minting is not a write)
    const mark = writesTo(full).length;
    expect((await run(consumerFor(full, { app: { id: 4242, privateKey: pem } }), '1.11.0', H1)).status).toBe('unchanged');
    expect(writesTo(full).length).toBe(mark);
    // an installation that does not include the repository
    const other = seedGhost();
    const err = await run(consumerFor(other.full, { app: { id: 4242, privateKey: pem } }), '1.11.0', H1).catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(new RegExp(`GitHub App 4242 is not installed on ${other.full}`));
    expect(String((err as Error).message)).not.toContain('PRIVATE KEY');
    expect(r.lines.join('\n')).not.toMatch(/PRIVATE KEY|ghs_|gho_/);
  });

  it('explains App credential problems without echoing the key', async () => {
    const { owner, repo, full } = seedGhost();
    gh.registerApp({ appId: 5151, publicKeyPem: rsa(0).publicPem, installations: [{ id: 88, owner, repos: [repo] }] });
    const stranger = rsa(1).privatePem;
    const wrongKey = (await run(consumerFor(full, { app: { id: 5151, privateKey: stranger } }), '1.11.0', H1).catch(
      (e: Error) => e,
    )) as Error;
    expect(wrongKey.message).toContain(
      `looking up GitHub App 5151's installation on ${full}: GitHub rejected the App credentials: check the App id (5151) and that the private key is a current key of that App (HTTP 401`,
    );
    const garbage = (await run(consumerFor(full, { app: { id: 5151, privateKey: 'not-a-key-SECRET' } }), '1.11.0', H1).catch(
      (e: Error) => e,
    )) as Error;
    expect(garbage.message).toBe('GitHub App 5151 private key is neither a PEM ("-----BEGIN … PRIVATE KEY-----") nor base64 of one');
    expect(writesTo(full)).toEqual([]);
  });

  it('does not reopen a pull request a human closed for the same version and hash', async () => {
    const { owner, repo, full } = seedGhost();
    const consumer = consumerFor(full, { token: gh.token() });
    await run(consumer, '1.11.0', H1);
    const human = await fetch(`${gh.url}/repos/${full}/pulls/1`, {
      method: 'PATCH',
      headers: {
        authorization: `token ${gh.token({ login: 'noahwhite' })}`,
        'content-type': 'application/json',
        accept: 'application/vnd.github+json',
      },
      body: JSON.stringify({ state: 'closed' }),
    });
    expect(human.status).toBe(200);
    const mark = writesTo(full).length;
    const r = await run(consumer, '1.11.0', H1);
    expect(r).toMatchObject({ status: 'unchanged', pr: { number: 1 } });
    expect(r.lines.join('\n')).toContain('#1 for 1.11.0');
    expect(writesTo(full).length).toBe(mark);
    expect(gh.pulls(owner, repo).map((p) => p.state)).toEqual(['closed']);
  });

  it('waits out rate limits and retries server errors', async () => {
    const { full } = seedGhost();
    gh.fail({ method: 'GET', path: `/repos/${full}/contents/${GHOST_PATH}`, status: 403, rateLimit: 'primary' });
    gh.fail({ method: 'GET', path: new RegExp(`^/repos/${full}/git/commits/`), status: 403, rateLimit: 'secondary' });
    gh.fail({ method: 'GET', path: `/repos/${full}/git/ref/heads/develop`, status: 502 });
    const r = await run(consumerFor(full, { token: gh.token() }), '1.10.1', OLD, {
      octokitOptions: { retry: { retryAfterBaseValue: 1 }, throttle: { retryAfterBaseValue: 1 } },
    });
    expect(r.status).toBe('up-to-date');
    expect(r.lines.filter((l) => l.includes('rate limit hit'))).toEqual([
      expect.stringMatching(/secondary rate limit hit on GET .*git\/commits/),
      expect.stringMatching(/GitHub rate limit hit on GET .*contents/),
    ]);
    const reads = gh.requests
      .filter((q) => q.path.startsWith(`/repos/${full}/`))
      .map((q) => `${q.status} ${q.method} ${q.path.slice(full.length + 8)}`);
    expect(reads).toEqual([
      '502 GET git/ref/heads/develop',
      '200 GET git/ref/heads/develop',
      expect.stringMatching(/^403 GET git\/commits\//),
      expect.stringMatching(/^200 GET git\/commits\//),
      `403 GET contents/${GHOST_PATH}`,
      `200 GET contents/${GHOST_PATH}`,
    ]);
  });

  it('without credentials runs dry: writes the diff and PR body, logs each write, writes nothing to GitHub', async () => {
    const { full } = seedGhost();
    const r = await run(consumerFor(full, {}), '1.11.0', H1);
    expect(r.status).toBe('dry-run');
    expect(writesTo(full)).toEqual([]);
    const diff = await readFile(r.diffFile!, 'utf8');
    expect(diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual([
      '-    - path: /opt/extensions/alloy/alloy-1.10.1-amd64.raw',
      '+    - path: /opt/extensions/alloy/alloy-1.11.0-amd64.raw',
      '-        source: https://sysext.example.com/alloy/alloy-1.10.1-amd64.raw',
      '+        source: https://sysext.example.com/alloy/alloy-1.11.0-amd64.raw',
      `-          hash: sha256-${OLD}   # alloy 1.10.1`,
      `+          hash: sha256-${H1}   # alloy 1.10.1`,
      '-      target: /opt/extensions/alloy/alloy-1.10.1-amd64.raw',
      '+      target: /opt/extensions/alloy/alloy-1.11.0-amd64.raw',
    ]);
    expect(await readFile(r.bodyFile!, 'utf8')).toMatch(/^# Update alloy sysext to 1\.11\.0\n\nBumps the \*\*alloy\*\*/);
    expect(r.lines.filter((l) => l.includes('[dry-run] would'))).toEqual([
      expect.stringContaining('would POST /repos/{owner}/{repo}/git/blobs'),
      expect.stringContaining('would POST /repos/{owner}/{repo}/git/trees'),
      expect.stringContaining('would POST /repos/{owner}/{repo}/git/commits'),
      expect.stringContaining('would POST /repos/{owner}/{repo}/git/refs: create branch feature/update-alloy-sysext-to-1.11.0'),
      expect.stringContaining('would POST /repos/{owner}/{repo}/pulls'),
      expect.stringContaining('would POST /repos/{owner}/{repo}/issues/{issue_number}/labels'),
      expect.stringContaining('would POST /repos/{owner}/{repo}/issues/{issue_number}/assignees'),
    ]);
  });

  it('names a missing base branch or file, and explains a read-only token without leaking it', async () => {
    const { full } = seedGhost();
    const token = gh.token();
    await expect(run(consumerFor(full, { token }, { base: 'main' }), '1.11.0', H1)).rejects.toThrow(
      `base branch "main" does not exist in ${full}`,
    );
    await expect(run(consumerFor(full, { token }, { path: 'ghost.bu' }), '1.11.0', H1)).rejects.toThrow(
      `ghost.bu does not exist on branch "develop" of ${full}`,
    );
    const ro = gh.token({ readOnly: true });
    const err = (await run(consumerFor(full, { token: ro }), '1.11.0', H1).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/creating|blob|forbidden|may not/i);
    expect(err.message).toContain('contents: write and pull requests: write');
    expect(err.message).not.toContain(ro);
  });
});
