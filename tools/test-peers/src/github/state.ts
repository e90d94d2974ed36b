// In-memory state of the double: repositories (git objects + refs) and the issue-tracker side (issues, PRs,
// comments, labels, releases). Routes mutate it; the test-facing accessors in ../github.ts read it.
import { ObjectStore, type CommitObject, type GitIdentity } from './git-objects.js';

export interface CommentRec {
  id: number;
  body: string;
  user: string;
  createdAt: string;
  updatedAt: string;
}
export interface PullRec {
  headOwner: string;
  head: string;
  base: string;
  draft: boolean;
  maintainerCanModify: boolean;
  requestedReviewers: string[];
  merged: boolean;
  /** Head sha when last seen, so a PR whose branch was deleted still has one. */
  lastHeadSha: string;
  mergedAt?: string;
  mergedBy?: string;
  mergeCommitSha?: string;
}
/** Issues and PRs share one number sequence and one record type, as on GitHub (a PR is an issue). */
export interface IssueRec {
  number: number;
  id: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  stateReason: string | null;
  user: string;
  labels: string[];
  assignees: string[];
  comments: CommentRec[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  pull?: PullRec;
}
export interface LabelRec {
  id: number;
  name: string;
  color: string;
  description: string | null;
}
export interface ReleaseRec {
  id: number;
  tag: string;
  target: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  author: string;
  createdAt: string;
  publishedAt: string | null;
}
export interface RepoRec {
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
  private: boolean;
  createdAt: string;
  pushedAt: string;
  git: ObjectStore;
  /** Full ref name ('refs/heads/main', 'refs/tags/v1') → object sha. */
  refs: Map<string, string>;
  issues: IssueRec[];
  labels: Map<string, LabelRec>;
  releases: ReleaseRec[];
}

let nextId = 1000;
export function newId(): number {
  return nextId++;
}

/** GitHub timestamps carry no milliseconds. */
export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class State {
  readonly repos = new Map<string, RepoRec>();

  key(owner: string, repo: string): string {
    return `${owner}/${repo}`.toLowerCase();
  }
  repo(owner: string, repo: string): RepoRec | undefined {
    return this.repos.get(this.key(owner, repo));
  }

  createRepo(owner: string, name: string, defaultBranch: string, isPrivate: boolean): RepoRec {
    const t = now();
    const rec: RepoRec = {
      id: newId(),
      owner,
      name,
      defaultBranch,
      private: isPrivate,
      createdAt: t,
      pushedAt: t,
      git: new ObjectStore(),
      refs: new Map(),
      issues: [],
      labels: new Map(),
      releases: [],
    };
    this.repos.set(this.key(owner, name), rec);
    return rec;
  }
}

/** Resolves a branch name, tag name, full ref or (abbreviated) commit sha to a commit sha. */
export function resolveCommitish(repo: RepoRec, ref: string): string | undefined {
  const candidates = ref.startsWith('refs/') ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`, `refs/${ref}`];
  for (const c of candidates) {
    const sha = repo.refs.get(c);
    if (sha) return peel(repo, sha);
  }
  if (/^[0-9a-f]{4,40}$/i.test(ref)) {
    const lower = ref.toLowerCase();
    if (repo.git.commit(lower)) return lower;
    for (const [sha, o] of repo.git.objects) if (o.type === 'commit' && sha.startsWith(lower)) return sha;
  }
  return undefined;
}

/** Annotated tags point at tag objects; follow them to the commit. */
export function peel(repo: RepoRec, sha: string): string {
  let o = repo.git.get(sha);
  while (o?.type === 'tag') o = repo.git.get(o.object.sha);
  return o?.sha ?? sha;
}

export function identity(login: string, date = now()): GitIdentity {
  return { name: login, email: `${userId(login)}+${login}@users.noreply.github.com`, date };
}

/** Stable fake user ids derived from the login, so the same login always gets the same id. */
export function userId(login: string): number {
  let h = 7;
  for (const ch of login.toLowerCase()) h = (h * 31 + ch.charCodeAt(0)) % 90_000_000;
  return 1_000_000 + h;
}

/** Writes files on top of a branch (or a new branch off the default one) as one commit; used by seedRepo/commitAs. */
export function commitFiles(
  repo: RepoRec,
  branch: string,
  files: Record<string, string>,
  opts: { message: string; login: string; verified?: boolean },
): CommitObject {
  const ref = `refs/heads/${branch}`;
  const parentSha = repo.refs.get(ref) ?? repo.refs.get(`refs/heads/${repo.defaultBranch}`);
  const parent = parentSha ? repo.git.commit(parentSha) : undefined;
  const flat = parent ? repo.git.flatten(parent.tree) : new Map();
  for (const [path, content] of Object.entries(files)) {
    flat.set(path.replace(/^\/+/, ''), { sha: repo.git.putBlob(Buffer.from(content, 'utf8')).sha, mode: '100644' });
  }
  const tree = repo.git.buildTree(flat);
  const who = identity(opts.login);
  const commit = repo.git.putCommit({
    tree: tree.sha,
    parents: parent ? [parent.sha] : [],
    message: opts.message,
    author: who,
    committer: who,
    verified: opts.verified ?? false,
    createdBy: opts.login,
  });
  repo.refs.set(ref, commit.sha);
  repo.pushedAt = now();
  return commit;
}
