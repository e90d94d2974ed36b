// Proves the GitHub double's behaviours through a real Octokit (retry + throttling plugins) against the running double.
// Responses are validated against GitHub's OpenAPI description (validateResponses) so a malformed shape fails here.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { createAppAuth } from '@octokit/auth-app';
import { startGitHubDouble, type GitHubDouble } from '../src/github.js';

const Kit = Octokit.plugin(retry, throttling);
type Kit = InstanceType<typeof Kit>;

function client(gh: GitHubDouble, auth?: string, extra: Record<string, unknown> = {}): Kit {
  return new Kit({ baseUrl: gh.url, auth, throttle: { enabled: false }, retry: { retryAfterBaseValue: 5 }, log: quiet, ...extra });
}
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function status(p: Promise<unknown>): Promise<{ status: number; message: string; data: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    const err = e as { status: number; message: string; response?: { data: Record<string, unknown> } };
    return { status: err.status, message: err.message, data: err.response?.data ?? {} };
  }
  throw new Error('expected the request to fail');
}

const BUTANE = 'variant: flatcar\nversion: 1.0.0\n# alloy 1.10.1\n';
const owner = 'noahwhite';
const repo = 'ghost-stack';

let gh: GitHubDouble;
let kit: Kit;

beforeAll(async () => {
  gh = await startGitHubDouble({ validateResponses: true });
  gh.seedRepo({ owner, repo, defaultBranch: 'develop', branches: { develop: { 'userdata/ghost.bu': BUTANE, 'README.md': '# ghost\n' } } });
  kit = client(gh, gh.token());
});
afterAll(async () => {
  await gh.stop();
});

/** Commits one file change on a new branch through the git data API, as the PR flow does. */
async function branchWithChange(k: Kit, o: string, r: string, base: string, branch: string, content: string): Promise<string> {
  const { data: ref } = await k.git.getRef({ owner: o, repo: r, ref: `heads/${base}` });
  const { data: parent } = await k.git.getCommit({ owner: o, repo: r, commit_sha: ref.object.sha });
  const { data: tree } = await k.git.createTree({
    owner: o,
    repo: r,
    base_tree: parent.tree.sha,
    tree: [{ path: 'userdata/ghost.bu', mode: '100644', type: 'blob', content }],
  });
  const { data: commit } = await k.git.createCommit({ owner: o, repo: r, message: 'Update alloy', tree: tree.sha, parents: [parent.sha] });
  await k.git.createRef({ owner: o, repo: r, ref: `refs/heads/${branch}`, sha: commit.sha });
  return commit.sha;
}

describe('GitHub double: repositories, contents and git data', () => {
  it('serves contents with the blob sha and real git ids', async () => {
    const { data } = await kit.repos.getContent({ owner, repo, path: 'userdata/ghost.bu', ref: 'develop' });
    if (Array.isArray(data) || data.type !== 'file') throw new Error('expected a file');
    expect(Buffer.from(data.content, 'base64').toString('utf8')).toBe(BUTANE);
    const { data: blob } = await kit.git.getBlob({ owner, repo, file_sha: data.sha });
    expect(blob.sha).toBe(data.sha);
    // same id as `git hash-object`
    expect(data.sha).toBe(
      createHash('sha1')
        .update(`blob ${Buffer.byteLength(BUTANE)}\0${BUTANE}`)
        .digest('hex'),
    );
    expect((await status(kit.repos.getContent({ owner, repo, path: 'nope.txt' }))).status).toBe(404);
    const { data: r } = await kit.repos.get({ owner, repo });
    expect(r.default_branch).toBe('develop');
  });

  it('answers 409 on a stale Contents sha and 422 when an update omits it', async () => {
    const put = (content: string, sha?: string) =>
      kit.repos.createOrUpdateFileContents({
        owner,
        repo,
        path: 'mirror/SHA256SUMS',
        message: 'mirror',
        content: Buffer.from(content).toString('base64'),
        branch: 'develop',
        ...(sha ? { sha } : {}),
      });
    const created = await put('a  file\n');
    expect(created.status).toBe(201);
    const first = created.data.content!.sha!;
    const updated = await put('b  file\n', first);
    expect(updated.status).toBe(200);
    const stale = await status(put('c  file\n', first));
    expect(stale.status).toBe(409);
    expect((await status(put('d  file\n'))).status).toBe(422);
    expect(gh.readFile(owner, repo, 'develop', 'mirror/SHA256SUMS')).toBe('b  file\n');
    expect(gh.getCommit(owner, repo, gh.branchHead(owner, repo, 'develop')!)!.verified).toBe(false);
  });

  it('moves refs only fast-forward unless forced, and lists matching refs', async () => {
    const sha = await branchWithChange(kit, owner, repo, 'develop', 'ff-test', 'x\n');
    const base = gh.branchHead(owner, repo, 'develop')!;
    const nonFf = await status(kit.git.updateRef({ owner, repo, ref: 'heads/ff-test', sha: base }));
    expect(nonFf.status).toBe(422);
    expect(nonFf.message).toMatch(/fast forward/);
    await kit.git.updateRef({ owner, repo, ref: 'heads/ff-test', sha: base, force: true });
    expect(gh.branchHead(owner, repo, 'ff-test')).toBe(base);
    expect((await status(kit.git.createRef({ owner, repo, ref: 'refs/heads/ff-test', sha }))).status).toBe(422);
    const { data: refs } = await kit.git.listMatchingRefs({ owner, repo, ref: 'heads/ff' });
    expect(refs.map((r) => r.ref)).toEqual(['refs/heads/ff-test']);
    await kit.git.deleteRef({ owner, repo, ref: 'heads/ff-test' });
    expect((await status(kit.git.getRef({ owner, repo, ref: 'heads/ff-test' }))).status).toBe(404);
  });

  it('lets a client see someone else’s commit on its branch (compare + list commits)', async () => {
    await branchWithChange(kit, owner, repo, 'develop', 'feature/human', 'bot\n');
    const human = gh.commitAs(owner, repo, 'feature/human', { 'notes.md': 'mine\n' }, { message: 'human fix', login: 'noah' });
    const { data: cmp } = await kit.repos.compareCommitsWithBasehead({ owner, repo, basehead: 'develop...feature/human' });
    expect(cmp.status).toBe('ahead');
    expect(cmp.ahead_by).toBe(2);
    expect(cmp.commits.at(-1)!.sha).toBe(human);
    const { data: commits } = await kit.repos.listCommits({ owner, repo, sha: 'feature/human', per_page: 2 });
    expect(commits[0]!.author?.login).toBe('noah');
    expect(commits[1]!.author?.login).toBe('alloy-bot');
    const { data: ref } = await kit.git.getRef({ owner, repo, ref: 'heads/feature/human' });
    expect(ref.object.sha).toBe(human);
  });

  it('serves raw contents, Link pagination, and 422 on an invalid query value', async () => {
    const raw = await kit.repos.getContent({ owner, repo, path: 'userdata/ghost.bu', mediaType: { format: 'raw' } });
    expect(raw.data as unknown).toBe(BUTANE);
    const branches = await kit.paginate(kit.repos.listBranches, { owner, repo, per_page: 1 });
    expect(branches.map((b) => b.name)).toEqual(Object.keys(gh.branches(owner, repo)).sort());
    const bad = await status(kit.request('GET /repos/{owner}/{repo}/pulls', { owner, repo, state: 'bogus' } as never));
    expect(bad.status).toBe(422);
  });
});

describe('GitHub double: pull requests and issues', () => {
  it('rejects a PR without base (422, GitHub error shape)', async () => {
    // Typed Octokit refuses this at compile time; the double must refuse it at run time like GitHub.
    const res = await status(kit.request('POST /repos/{owner}/{repo}/pulls', { owner, repo, title: 'x', head: 'feature/human' } as never));
    expect(res.status).toBe(422);
    expect(res.data['message']).toMatch(/"base" wasn't supplied/);
    expect(res.data['errors']).toEqual([expect.objectContaining({ field: 'base', code: 'missing_field' })]);
    expect(res.data['documentation_url']).toMatch(/^https:\/\/docs\.github\.com\//);
  });

  it('opens, filters, decorates and updates a PR; refuses duplicates and empty ones', async () => {
    await branchWithChange(kit, owner, repo, 'develop', 'feature/update-alloy-sysext-to-1.10.2', 'new\n');
    const { data: pr } = await kit.pulls.create({
      owner,
      repo,
      title: 'Update alloy to 1.10.2',
      head: 'feature/update-alloy-sysext-to-1.10.2',
      base: 'develop',
      body: '<!-- alloy-sysext -->',
    });
    expect(pr.number).toBeGreaterThan(0);
    const dup = await status(
      kit.pulls.create({ owner, repo, title: 'again', head: `${owner}:feature/update-alloy-sysext-to-1.10.2`, base: 'develop' }),
    );
    expect(dup.status).toBe(422);
    expect(JSON.stringify(dup.data['errors'])).toMatch(/already exists/);
    await kit.git.createRef({ owner, repo, ref: 'refs/heads/empty', sha: gh.branchHead(owner, repo, 'develop')! });
    expect((await status(kit.pulls.create({ owner, repo, title: 'e', head: 'empty', base: 'develop' }))).status).toBe(422);
    expect((await status(kit.pulls.create({ owner, repo, title: 'm', head: 'missing', base: 'develop' }))).status).toBe(422);

    await kit.issues.addLabels({ owner, repo, issue_number: pr.number, labels: ['dependencies', 'alloy'] });
    await kit.issues.addAssignees({ owner, repo, issue_number: pr.number, assignees: ['noahwhite'] });
    await kit.pulls.requestReviewers({ owner, repo, pull_number: pr.number, reviewers: ['reviewer1'] });
    await kit.issues.createComment({ owner, repo, issue_number: pr.number, body: 'Superseded by #9' });
    const { data: listed } = await kit.pulls.list({ owner, repo, head: `${owner}:feature/update-alloy-sysext-to-1.10.2`, state: 'open' });
    expect(listed.map((p) => p.number)).toEqual([pr.number]);
    expect((await kit.pulls.list({ owner, repo, head: `${owner}:other` })).data).toEqual([]);
    await kit.pulls.update({ owner, repo, pull_number: pr.number, title: 'Update alloy to 1.10.2 (new hash)', state: 'closed' });
    const { data: got } = await kit.pulls.get({ owner, repo, pull_number: pr.number });
    expect(got.state).toBe('closed');
    expect(gh.pulls(owner, repo).find((p) => p.number === pr.number)).toMatchObject({
      title: 'Update alloy to 1.10.2 (new hash)',
      head: 'feature/update-alloy-sysext-to-1.10.2',
      base: 'develop',
      labels: ['dependencies', 'alloy'],
      assignees: ['noahwhite'],
      requestedReviewers: ['reviewer1'],
      user: 'alloy-bot',
      comments: [{ body: 'Superseded by #9', user: 'alloy-bot' }],
    });
  });

  it('creates and filters issues by label and state', async () => {
    const { data: a } = await kit.issues.create({ owner, repo, title: 'Alloy 1.10.2 released', labels: ['alloy-release'] });
    await kit.issues.create({ owner, repo, title: 'unrelated' });
    const { data: found } = await kit.issues.listForRepo({ owner, repo, labels: 'alloy-release', state: 'open' });
    expect(found.map((i) => i.number)).toEqual([a.number]);
    await kit.issues.update({ owner, repo, issue_number: a.number, state: 'closed' });
    expect((await kit.issues.listForRepo({ owner, repo, labels: 'alloy-release' })).data).toEqual([]);
    expect(gh.issues(owner, repo).find((i) => i.number === a.number)!.state).toBe('closed');
    const { data: hits } = await kit.search.issuesAndPullRequests({
      q: `repo:${owner}/${repo} is:issue label:alloy-release "1.10.2" in:title`,
    });
    expect(hits.items.map((i) => i.number)).toEqual([a.number]);
  });
});

describe('GitHub double: releases', () => {
  it('creates a release and its tag, 422 already_exists on duplicate, 404 for a missing tag', async () => {
    const { data: rel } = await kit.repos.createRelease({ owner, repo, tag_name: 'v1.10.2', name: 'Alloy 1.10.2' });
    expect(gh.tags(owner, repo)['v1.10.2']).toBe(gh.branchHead(owner, repo, 'develop'));
    const dup = await status(kit.repos.createRelease({ owner, repo, tag_name: 'v1.10.2' }));
    expect(dup.status).toBe(422);
    expect(dup.data['errors']).toEqual([expect.objectContaining({ code: 'already_exists' })]);
    expect((await kit.repos.getReleaseByTag({ owner, repo, tag: 'v1.10.2' })).data.id).toBe(rel.id);
    expect((await status(kit.repos.getReleaseByTag({ owner, repo, tag: 'v9.9.9' }))).status).toBe(404);
    expect(gh.releases(owner, repo)).toEqual([expect.objectContaining({ tag: 'v1.10.2', draft: false, id: rel.id })]);
  });
});

describe('GitHub double: auth', () => {
  it('App JWT → installation token → verified commit without custom author; scoped to its owner', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    gh.seedRepo({ owner: 'officina-pub', repo: 'infisical-stack', branches: { main: { 'server.bu.tftpl': 'x\n' } } });
    gh.registerApp({
      appId: 4242,
      slug: 'alloy-sysext',
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      installations: [{ id: 77, owner: 'officina-pub' }],
    });
    const appKit = client(gh, undefined, { authStrategy: createAppAuth, auth: { appId: 4242, privateKey: pem } });
    const { data: inst } = await appKit.apps.getRepoInstallation({ owner: 'officina-pub', repo: 'infisical-stack' });
    expect(inst.id).toBe(77);
    const instKit = client(gh, undefined, { authStrategy: createAppAuth, auth: { appId: 4242, privateKey: pem, installationId: inst.id } });
    const sha = await branchWithChangeIn(instKit, 'officina-pub', 'infisical-stack', 'main');
    expect(gh.getCommit('officina-pub', 'infisical-stack', sha)).toMatchObject({
      verified: true,
      createdBy: 'alloy-sysext[bot]',
      author: { name: 'alloy-sysext[bot]' },
      committer: { name: 'GitHub' },
    });
    const { data: c } = await instKit.git.getCommit({ owner: 'officina-pub', repo: 'infisical-stack', commit_sha: sha });
    expect(c.verification.verified).toBe(true);
    // A custom author makes GitHub skip signing.
    const { data: custom } = await instKit.git.createCommit({
      owner: 'officina-pub',
      repo: 'infisical-stack',
      message: 'm',
      tree: c.tree.sha,
      parents: [sha],
      author: { name: 'x', email: 'x@example.com' },
    });
    expect(custom.verification.verified).toBe(false);
    expect((await status(instKit.repos.get({ owner, repo }))).status).toBe(404);
    expect(gh.requests.some((r) => r.auth === 'app-jwt' && r.path === '/app/installations/77/access_tokens')).toBe(true);
    expect(gh.writes().some((r) => r.path.includes('access_tokens'))).toBe(false);
  });

  it('401 Bad credentials for unknown tokens; 403 for writes with a read-only token', async () => {
    const bad = await status(client(gh, 'ghp_nope').repos.get({ owner, repo }));
    expect(bad).toMatchObject({ status: 401, data: expect.objectContaining({ message: 'Bad credentials' }) });
    const ro = client(gh, gh.token({ readOnly: true }));
    expect((await status(ro.issues.create({ owner, repo, title: 't' }))).status).toBe(403);
    expect((await status(client(gh).issues.create({ owner, repo, title: 't' }))).status).toBe(401);
    const { data: me } = await kit.users.getAuthenticated();
    expect(me.login).toBe('alloy-bot');
    // A JWT signed by a key the App did not register is refused.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = client(gh, undefined, {
      authStrategy: createAppAuth,
      auth: { appId: 4242, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    });
    expect((await status(forged.apps.getAuthenticated())).status).toBe(401);
  });
});

async function branchWithChangeIn(k: Kit, o: string, r: string, base: string): Promise<string> {
  const { data: ref } = await k.git.getRef({ owner: o, repo: r, ref: `heads/${base}` });
  const { data: parent } = await k.git.getCommit({ owner: o, repo: r, commit_sha: ref.object.sha });
  const { data: blob } = await k.git.createBlob({ owner: o, repo: r, content: 'y\n' });
  const { data: tree } = await k.git.createTree({
    owner: o,
    repo: r,
    base_tree: parent.tree.sha,
    tree: [{ path: 'server.bu.tftpl', mode: '100644', type: 'blob', sha: blob.sha }],
  });
  const { data: commit } = await k.git.createCommit({ owner: o, repo: r, message: 'Update alloy', tree: tree.sha, parents: [parent.sha] });
  await k.git.createRef({ owner: o, repo: r, ref: 'refs/heads/feature/app', sha: commit.sha });
  return commit.sha;
}

describe('GitHub double: the rest of the served routes answer in the documented shape', () => {
  it('branches, commits, trees, tags, labels, comments, reviewers, releases, contents root', async () => {
    const o = 'shape';
    const r = 'sweep';
    gh.seedRepo({
      owner: o,
      repo: r,
      branches: { main: { 'a.txt': 'a\n', 'dir/b.txt': 'b\n' }, topic: { 'a.txt': 'A\n', 'dir/b.txt': 'b\n' } },
    });
    const base = { owner: o, repo: r };
    expect((await kit.repos.getBranch({ ...base, branch: 'topic' })).data.commit.sha).toBe(gh.branchHead(o, r, 'topic'));
    const { data: one } = await kit.repos.getCommit({ ...base, ref: 'topic' });
    expect(one.files?.map((f) => [f.filename, f.status])).toEqual([['a.txt', 'modified']]);
    const { data: tree } = await kit.git.getTree({ ...base, tree_sha: 'main', recursive: 'true' });
    expect(tree.tree.map((e) => e.path)).toEqual(['a.txt', 'dir', 'dir/b.txt']);
    const { data: root } = await kit.repos.getContent({ ...base, path: '' });
    expect(Array.isArray(root) && root.map((e) => `${e.type}:${e.path}`)).toEqual(['file:a.txt', 'dir:dir']);

    const { data: tag } = await kit.git.createTag({
      ...base,
      tag: 'v1',
      message: 'v1',
      object: gh.branchHead(o, r, 'main')!,
      type: 'commit',
    });
    await kit.git.createRef({ ...base, ref: 'refs/tags/v1', sha: tag.sha });
    expect((await kit.git.getTag({ ...base, tag_sha: tag.sha })).data.object.sha).toBe(gh.branchHead(o, r, 'main'));
    expect((await kit.repos.listTags(base)).data.map((t) => [t.name, t.commit.sha])).toEqual([['v1', gh.branchHead(o, r, 'main')]]);
    expect(gh.tags(o, r)).toEqual({ v1: gh.branchHead(o, r, 'main') });

    const { data: pr } = await kit.pulls.create({ ...base, title: 't', head: 'topic', base: 'main' });
    await kit.issues.createLabel({ ...base, name: 'sysext', color: 'ff0000', description: 'sysext bumps' });
    expect((await status(kit.issues.createLabel({ ...base, name: 'SYSEXT' }))).status).toBe(422);
    await kit.issues.setLabels({ ...base, issue_number: pr.number, labels: ['sysext', 'alloy'] });
    await kit.issues.removeLabel({ ...base, issue_number: pr.number, name: 'alloy' });
    expect((await kit.issues.listLabelsOnIssue({ ...base, issue_number: pr.number })).data.map((l) => l.name)).toEqual(['sysext']);
    expect((await kit.issues.listLabelsForRepo(base)).data.map((l) => l.name).sort()).toEqual(['alloy', 'sysext']);
    await kit.issues.addAssignees({ ...base, issue_number: pr.number, assignees: ['a1', 'a2'] });
    await kit.issues.removeAssignees({ ...base, issue_number: pr.number, assignees: ['a1'] });
    const { data: c } = await kit.issues.createComment({ ...base, issue_number: pr.number, body: 'one' });
    await kit.issues.updateComment({ ...base, comment_id: c.id, body: 'two' });
    expect((await kit.issues.listComments({ ...base, issue_number: pr.number })).data.map((x) => x.body)).toEqual(['two']);
    await kit.pulls.requestReviewers({ ...base, pull_number: pr.number, reviewers: ['r1', 'r2'] });
    await kit.pulls.removeRequestedReviewers({ ...base, pull_number: pr.number, reviewers: ['r2'] });
    expect((await kit.pulls.listRequestedReviewers({ ...base, pull_number: pr.number })).data.users.map((u) => u.login)).toEqual(['r1']);
    expect((await status(kit.pulls.requestReviewers({ ...base, pull_number: pr.number, reviewers: ['alloy-bot'] }))).status).toBe(422);
    expect((await kit.pulls.listCommits({ ...base, pull_number: pr.number })).data).toHaveLength(1);
    expect((await kit.issues.get({ ...base, issue_number: pr.number })).data.pull_request).toBeDefined();

    // Deleting the head branch closes the PR, as on GitHub.
    await kit.git.deleteRef({ ...base, ref: 'heads/topic' });
    expect((await kit.pulls.get({ ...base, pull_number: pr.number })).data.state).toBe('closed');

    const { data: draft } = await kit.repos.createRelease({ ...base, tag_name: 'v2', draft: true });
    expect(gh.tags(o, r)['v2']).toBeUndefined();
    expect((await status(kit.repos.getReleaseByTag({ ...base, tag: 'v2' }))).status).toBe(404);
    await kit.repos.updateRelease({ ...base, release_id: draft.id, draft: false });
    expect(gh.tags(o, r)['v2']).toBe(gh.branchHead(o, r, 'main'));
    expect((await kit.repos.getLatestRelease(base)).data.tag_name).toBe('v2');
    expect((await kit.repos.listReleases(base)).data.map((x) => x.tag_name)).toEqual(['v2']);

    // Merging: base gets a merge commit whose tree takes the head's change.
    gh.commitAs(o, r, 'topic2', { 'c.txt': 'c\n' }, { message: 'add c' });
    const { data: pr2 } = await kit.pulls.create({ ...base, title: 'c', head: 'topic2', base: 'main' });
    const { data: merge } = await kit.pulls.merge({ ...base, pull_number: pr2.number });
    expect(gh.branchHead(o, r, 'main')).toBe(merge.sha);
    expect(gh.readFile(o, r, 'main', 'c.txt')).toBe('c\n');
    expect((await kit.pulls.get({ ...base, pull_number: pr2.number })).data).toMatchObject({
      merged: true,
      state: 'closed',
      merge_commit_sha: merge.sha,
    });
    expect((await status(kit.pulls.merge({ ...base, pull_number: pr2.number }))).status).toBe(405);

    const { data: file } = await kit.repos.getContent({ ...base, path: 'dir/b.txt' });
    await kit.repos.deleteFile({ ...base, path: 'dir/b.txt', message: 'rm', sha: (file as { sha: string }).sha });
    expect(gh.readFile(o, r, 'main', 'dir/b.txt')).toBeUndefined();
    expect((await kit.rateLimit.get()).data.rate.limit).toBe(5000);
  });

  it('App endpoints: /app, installations, installation repositories; expired JWTs are refused', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    gh.registerApp({
      appId: 99,
      slug: 'sweeper',
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      installations: [{ id: 9, owner: 'shape', repos: ['sweep'] }],
    });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const appKit = client(gh, undefined, { authStrategy: createAppAuth, auth: { appId: 99, privateKey: pem } });
    expect((await appKit.apps.getAuthenticated()).data?.slug).toBe('sweeper');
    expect((await appKit.apps.listInstallations()).data.map((i) => i.id)).toEqual([9]);
    expect((await appKit.apps.getInstallation({ installation_id: 9 })).data.account).toMatchObject({ login: 'shape' });
    expect((await status(appKit.apps.getRepoInstallation({ owner: 'shape', repo: 'other' }))).status).toBe(404);
    const instKit = client(gh, undefined, { authStrategy: createAppAuth, auth: { appId: 99, privateKey: pem, installationId: 9 } });
    expect((await instKit.apps.listReposAccessibleToInstallation()).data.repositories.map((x) => x.full_name)).toEqual(['shape/sweep']);
    expect((await status(instKit.users.getAuthenticated())).status).toBe(403);
    // An installation granted only contents: read can read files but not write them, nor touch PRs.
    gh.registerApp({
      appId: 98,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      installations: [{ id: 8, owner: 'shape', permissions: { contents: 'read' } }],
    });
    const roKit = client(gh, undefined, { authStrategy: createAppAuth, auth: { appId: 98, privateKey: pem, installationId: 8 } });
    expect((await roKit.repos.getContent({ owner: 'shape', repo: 'sweep', path: 'a.txt' })).status).toBe(200);
    expect((await roKit.repos.get({ owner: 'shape', repo: 'sweep' })).status).toBe(200);
    expect((await status(roKit.git.createBlob({ owner: 'shape', repo: 'sweep', content: 'x' }))).status).toBe(403);
    expect((await status(roKit.pulls.list({ owner: 'shape', repo: 'sweep' }))).status).toBe(403);
    // A JWT living longer than GitHub's 10 minutes is refused.
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const nowSec = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: 99, iat: nowSec, exp: nowSec + 3600 })}`;
    const { createSign } = await import('node:crypto');
    const jwt = `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(privateKey).toString('base64url')}`;
    const res = await fetch(`${gh.url}/app`, { headers: { authorization: `Bearer ${jwt}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toMatch(/too far in the future/);
  });
});

describe('GitHub double: faults, rate limits, request log', () => {
  it('an injected 500 reaches the client and plugin-retry retries it', async () => {
    gh.fail({ method: 'GET', path: `/repos/${owner}/${repo}`, status: 500 });
    const before = gh.requests.length;
    await kit.repos.get({ owner, repo });
    expect(gh.requests.slice(before).map((r) => r.status)).toEqual([500, 200]);
    gh.fail({ path: '/repos/{owner}/{repo}/pulls', status: 502, times: 2 });
    const res = await status(client(gh, gh.token(), { retry: { retries: 1, retryAfterBaseValue: 1 } }).pulls.list({ owner, repo }));
    expect(res.status).toBe(502);
  });

  it('primary and secondary rate limits are waited out by plugin-throttling', async () => {
    const seen: string[] = [];
    const throttled = client(gh, gh.token(), {
      throttle: {
        onRateLimit: (after: number) => {
          seen.push(`primary:${after}`);
          return true;
        },
        onSecondaryRateLimit: (after: number) => {
          seen.push(`secondary:${after}`);
          return true;
        },
        retryAfterBaseValue: 50,
      },
    });
    gh.fail({ method: 'GET', path: /\/issues$/, status: 403, rateLimit: 'primary' });
    gh.fail({ method: 'GET', path: '/repos/{owner}/{repo}/pulls', status: 403, rateLimit: 'secondary' });
    await throttled.issues.listForRepo({ owner, repo });
    await throttled.pulls.list({ owner, repo });
    expect(seen).toEqual([expect.stringMatching(/^primary:\d/), 'secondary:1']);
  });

  it('records requests; a read-only sequence makes no writes; unserved routes answer 501', async () => {
    const fresh = await startGitHubDouble();
    try {
      fresh.seedRepo({ owner: 'o', repo: 'r' });
      const k = client(fresh, fresh.token());
      await k.repos.getContent({ owner: 'o', repo: 'r', path: 'README.md' });
      await k.pulls.list({ owner: 'o', repo: 'r', head: 'o:feature/x' });
      await k.repos.getBranch({ owner: 'o', repo: 'r', branch: 'main' });
      expect(fresh.writes()).toEqual([]);
      expect(fresh.requests.map((r) => `${r.method} ${r.status} ${r.auth}`)).toEqual(['GET 200 token', 'GET 200 token', 'GET 200 token']);
      const missing = await status(k.repos.listWebhooks({ owner: 'o', repo: 'r' }));
      expect(missing.status).toBe(501);
      expect(missing.message).toMatch(/GET \/repos\/\{owner\}\/\{repo\}\/hooks/);
    } finally {
      await fresh.stop();
    }
  });
});
