// GitHub double: a stateful loopback fake of the GitHub REST API for tests. Routing and validation follow GitHub's
// published OpenAPI description; state, auth and faults live in ./github/*. See ARCHITECTURE.md, "Test peers".
import { DoubleServer, servedRoutes, type RecordedRequest } from './github/server.js';
import { commitFiles, identity, resolveCommitish, type RepoRec } from './github/state.js';
import type { FaultRule } from './github/faults.js';

export type { RecordedRequest } from './github/server.js';
export { servedRoutes };

export interface PullSummary {
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  merged: boolean;
  head: string;
  base: string;
  labels: string[];
  assignees: string[];
  requestedReviewers: string[];
  user: string;
  comments: Array<{ body: string; user: string }>;
}
export interface IssueSummary {
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  labels: string[];
  assignees: string[];
  user: string;
  comments: Array<{ body: string; user: string }>;
}
export interface ReleaseSummary {
  tag: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  id: number;
  target: string;
}
export interface CommitSummary {
  sha: string;
  message: string;
  parents: string[];
  tree: string;
  author: { name: string; email: string; date: string };
  committer: { name: string; email: string; date: string };
  verified: boolean;
  createdBy: string;
}

export interface GitHubDouble {
  /** Octokit baseUrl. */
  url: string;
  /** Mints a personal-access-style token (default login 'alloy-bot'); readOnly tokens get 403 on writes. */
  token(opts?: { login?: string; readOnly?: boolean }): string;
  /** permissions (e.g. { contents: 'read' }) narrow what the installation's tokens may do (403 'Resource not accessible by integration'). */
  registerApp(opts: {
    appId: number;
    slug?: string;
    publicKeyPem: string;
    installations: Array<{ id: number; owner: string; repos?: string[]; permissions?: Record<string, 'read' | 'write'> }>;
  }): void;
  /** Creates a repository; each branch gets one commit holding exactly the given files (identical content shares a commit). */
  seedRepo(opts: {
    owner: string;
    repo: string;
    defaultBranch?: string;
    private?: boolean;
    branches?: Record<string, Record<string, string>>;
  }): void;
  readFile(owner: string, repo: string, ref: string, path: string): string | undefined;
  branchHead(owner: string, repo: string, branch: string): string | undefined;
  getCommit(owner: string, repo: string, sha: string): CommitSummary | undefined;
  /** Simulates a human pushing a commit (files written on top of the branch; the branch is created off the default one if missing). */
  commitAs(owner: string, repo: string, branch: string, files: Record<string, string>, opts: { message: string; login?: string }): string;
  pulls(owner: string, repo: string): PullSummary[];
  /** Issues only (pull requests are in pulls()). */
  issues(owner: string, repo: string): IssueSummary[];
  releases(owner: string, repo: string): ReleaseSummary[];
  /** tag → commit sha (annotated tags peeled). */
  tags(owner: string, repo: string): Record<string, string>;
  branches(owner: string, repo: string): Record<string, string>;
  requests: RecordedRequest[];
  /** Requests other than GET/HEAD, excluding installation-token minting (which a read-only run also does). */
  writes(): RecordedRequest[];
  fail(opts: FaultRule): void;
  /** Drops injected faults that have not fired yet. */
  clearFaults(): void;
  stop(): Promise<void>;
}

export async function startGitHubDouble(opts: { validateResponses?: boolean } = {}): Promise<GitHubDouble> {
  const server = new DoubleServer(opts);
  await server.listen();
  const repo = (owner: string, name: string): RepoRec => {
    const r = server.state.repo(owner, name);
    if (!r) throw new Error(`GitHub double: repository ${owner}/${name} was not seeded`);
    return r;
  };
  const peek = (owner: string, name: string) => server.state.repo(owner, name);
  const comments = (cs: Array<{ body: string; user: string }>) => cs.map((c) => ({ body: c.body, user: c.user }));

  return {
    url: server.url,
    requests: server.requests,
    token: (o = {}) => server.auth.mintPat(o.login ?? 'alloy-bot', o.readOnly ?? false),
    registerApp: (o) => server.auth.registerApp(o),

    seedRepo(o) {
      if (server.state.repo(o.owner, o.repo)) throw new Error(`GitHub double: repository ${o.owner}/${o.repo} already exists`);
      const defaultBranch = o.defaultBranch ?? 'main';
      const r = server.state.createRepo(o.owner, o.repo, defaultBranch, o.private ?? false);
      const branches = o.branches ?? { [defaultBranch]: { 'README.md': `# ${o.repo}\n` } };
      if (!branches[defaultBranch]) branches[defaultBranch] = { 'README.md': `# ${o.repo}\n` };
      const seedOne = (name: string, files: Record<string, string>) => {
        // Each branch holds exactly its files, in one commit on top of the default branch (or the same commit as the
        // default branch when the content is identical, so it has nothing to compare).
        const parent = r.refs.get(`refs/heads/${defaultBranch}`);
        const flat = new Map(
          Object.entries(files).map(([p, c]) => [
            p.replace(/^\/+/, ''),
            { sha: r.git.putBlob(Buffer.from(c, 'utf8')).sha, mode: '100644' },
          ]),
        );
        const tree = r.git.buildTree(flat);
        if (parent && r.git.commit(parent)!.tree === tree.sha) {
          r.refs.set(`refs/heads/${name}`, parent);
          return;
        }
        const who = identity(o.owner);
        const c = r.git.putCommit({
          tree: tree.sha,
          parents: parent ? [parent] : [],
          message: name === defaultBranch ? 'Initial commit' : `Seed ${name}`,
          author: who,
          committer: who,
          verified: false,
          createdBy: o.owner,
        });
        r.refs.set(`refs/heads/${name}`, c.sha);
      };
      seedOne(defaultBranch, branches[defaultBranch]!);
      for (const [name, files] of Object.entries(branches)) if (name !== defaultBranch) seedOne(name, files);
    },

    readFile(owner, name, ref, path) {
      const r = peek(owner, name);
      const sha = r && resolveCommitish(r, ref);
      if (!r || !sha) return undefined;
      const entry = r.git.lookup(r.git.commit(sha)!.tree, path);
      return entry?.type === 'blob' ? r.git.blob(entry.sha)!.content.toString('utf8') : undefined;
    },

    branchHead: (owner, name, branch) => peek(owner, name)?.refs.get(`refs/heads/${branch}`),

    getCommit(owner, name, sha) {
      const c = peek(owner, name)?.git.commit(sha);
      if (!c) return undefined;
      return {
        sha: c.sha,
        message: c.message,
        parents: [...c.parents],
        tree: c.tree,
        author: { ...c.author },
        committer: { ...c.committer },
        verified: c.verified,
        createdBy: c.createdBy,
      };
    },

    commitAs(owner, name, branch, files, o) {
      return commitFiles(repo(owner, name), branch, files, { message: o.message, login: o.login ?? 'octo-human' }).sha;
    },

    pulls(owner, name) {
      return (peek(owner, name)?.issues ?? [])
        .filter((i) => i.pull)
        .map((i) => ({
          number: i.number,
          title: i.title,
          body: i.body,
          state: i.state,
          merged: i.pull!.merged,
          head: i.pull!.head,
          base: i.pull!.base,
          labels: [...i.labels],
          assignees: [...i.assignees],
          requestedReviewers: [...i.pull!.requestedReviewers],
          user: i.user,
          comments: comments(i.comments),
        }));
    },

    issues(owner, name) {
      return (peek(owner, name)?.issues ?? [])
        .filter((i) => !i.pull)
        .map((i) => ({
          number: i.number,
          title: i.title,
          body: i.body,
          state: i.state,
          labels: [...i.labels],
          assignees: [...i.assignees],
          user: i.user,
          comments: comments(i.comments),
        }));
    },

    releases(owner, name) {
      return (peek(owner, name)?.releases ?? []).map((x) => ({
        tag: x.tag,
        name: x.name,
        body: x.body,
        draft: x.draft,
        prerelease: x.prerelease,
        id: x.id,
        target: x.target,
      }));
    },

    tags(owner, name) {
      const r = peek(owner, name);
      if (!r) return {};
      return Object.fromEntries(
        [...r.refs].filter(([k]) => k.startsWith('refs/tags/')).map(([k]) => [k.slice(10), resolveCommitish(r, k)!]),
      );
    },

    branches(owner, name) {
      const r = peek(owner, name);
      if (!r) return {};
      return Object.fromEntries([...r.refs].filter(([k]) => k.startsWith('refs/heads/')).map(([k, v]) => [k.slice(11), v]));
    },

    writes: () =>
      server.requests.filter(
        (q) =>
          q.method !== 'GET' &&
          q.method !== 'HEAD' &&
          !(q.method === 'POST' && /^\/app\/installations\/[^/]+\/access_tokens$/.test(q.path)),
      ),

    fail: (o) => server.faults.add(o),
    clearFaults: () => server.faults.clear(),
    stop: () => server.stop(),
  };
}
