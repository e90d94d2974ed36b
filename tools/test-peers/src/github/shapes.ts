// Response bodies carrying every field the OpenAPI description marks required for the operations served,
// filled plausibly (URLs point back at the double so a printed html_url shows where the object lives).
import { userId, type RepoRec, type LabelRec, type IssueRec, type ReleaseRec, type CommentRec } from './state.js';
import type { CommitObject, GitIdentity } from './git-objects.js';

const EPOCH = '2020-01-01T00:00:00Z';

export function nodeId(kind: string, id: number | string): string {
  return Buffer.from(`${kind}:${id}`).toString('base64url');
}

export function simpleUser(base: string, login: string): Record<string, unknown> {
  const id = userId(login);
  const u = `${base}/users/${encodeURIComponent(login)}`;
  return {
    login,
    id,
    node_id: nodeId('User', id),
    avatar_url: `${base}/avatars/u/${id}`,
    gravatar_id: '',
    url: u,
    html_url: `${base}/${login}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    site_admin: false,
    user_view_type: 'public',
  };
}

export function privateUser(base: string, login: string): Record<string, unknown> {
  return {
    ...simpleUser(base, login),
    name: login,
    company: null,
    blog: '',
    location: null,
    email: null,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: 0,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: EPOCH,
    updated_at: EPOCH,
    private_gists: 0,
    total_private_repos: 0,
    owned_private_repos: 0,
    disk_usage: 0,
    collaborators: 0,
    two_factor_authentication: true,
  };
}

export function repoUrls(base: string, r: RepoRec): Record<string, unknown> {
  const u = `${base}/repos/${r.owner}/${r.name}`;
  return {
    url: u,
    html_url: `${base}/${r.owner}/${r.name}`,
    archive_url: `${u}/{archive_format}{/ref}`,
    assignees_url: `${u}/assignees{/user}`,
    blobs_url: `${u}/git/blobs{/sha}`,
    branches_url: `${u}/branches{/branch}`,
    collaborators_url: `${u}/collaborators{/collaborator}`,
    comments_url: `${u}/comments{/number}`,
    commits_url: `${u}/commits{/sha}`,
    compare_url: `${u}/compare/{base}...{head}`,
    contents_url: `${u}/contents/{+path}`,
    contributors_url: `${u}/contributors`,
    deployments_url: `${u}/deployments`,
    downloads_url: `${u}/downloads`,
    events_url: `${u}/events`,
    forks_url: `${u}/forks`,
    git_commits_url: `${u}/git/commits{/sha}`,
    git_refs_url: `${u}/git/refs{/sha}`,
    git_tags_url: `${u}/git/tags{/sha}`,
    hooks_url: `${u}/hooks`,
    issue_comment_url: `${u}/issues/comments{/number}`,
    issue_events_url: `${u}/issues/events{/number}`,
    issues_url: `${u}/issues{/number}`,
    keys_url: `${u}/keys{/key_id}`,
    labels_url: `${u}/labels{/name}`,
    languages_url: `${u}/languages`,
    merges_url: `${u}/merges`,
    milestones_url: `${u}/milestones{/number}`,
    notifications_url: `${u}/notifications{?since,all,participating}`,
    pulls_url: `${u}/pulls{/number}`,
    releases_url: `${u}/releases{/id}`,
    stargazers_url: `${u}/stargazers`,
    statuses_url: `${u}/statuses/{sha}`,
    subscribers_url: `${u}/subscribers`,
    subscription_url: `${u}/subscription`,
    tags_url: `${u}/tags`,
    teams_url: `${u}/teams`,
    trees_url: `${u}/git/trees{/sha}`,
    git_url: `git://127.0.0.1/${r.owner}/${r.name}.git`,
    ssh_url: `git@127.0.0.1:${r.owner}/${r.name}.git`,
    clone_url: `${base}/${r.owner}/${r.name}.git`,
    svn_url: `${base}/${r.owner}/${r.name}`,
  };
}

/** Serves both `repository` and `full-repository` (the latter is a superset). */
export function repository(base: string, r: RepoRec, admin: boolean): Record<string, unknown> {
  const openIssues = r.issues.filter((i) => i.state === 'open').length;
  return {
    id: r.id,
    node_id: nodeId('Repository', r.id),
    name: r.name,
    full_name: `${r.owner}/${r.name}`,
    owner: simpleUser(base, r.owner),
    private: r.private,
    description: null,
    fork: false,
    ...repoUrls(base, r),
    homepage: null,
    language: null,
    forks: 0,
    forks_count: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 1,
    default_branch: r.defaultBranch,
    open_issues: openIssues,
    open_issues_count: openIssues,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: r.private ? 'private' : 'public',
    pushed_at: r.pushedAt,
    created_at: r.createdAt,
    updated_at: r.pushedAt,
    permissions: { admin, maintain: admin, push: admin, triage: admin, pull: true },
    allow_rebase_merge: true,
    allow_squash_merge: true,
    allow_merge_commit: true,
    allow_auto_merge: false,
    delete_branch_on_merge: false,
    allow_update_branch: false,
    allow_forking: true,
    web_commit_signoff_required: false,
    mirror_url: null,
    license: null,
    network_count: 0,
    subscribers_count: 0,
  };
}

export function label(base: string, r: RepoRec, l: LabelRec): Record<string, unknown> {
  return {
    id: l.id,
    node_id: nodeId('Label', l.id),
    url: `${base}/repos/${r.owner}/${r.name}/labels/${encodeURIComponent(l.name)}`,
    name: l.name,
    description: l.description,
    color: l.color,
    default: false,
  };
}

export function gitIdentity(i: GitIdentity): Record<string, unknown> {
  return { name: i.name, email: i.email, date: i.date };
}

export function verification(c: CommitObject): Record<string, unknown> {
  return c.verified
    ? {
        verified: true,
        reason: 'valid',
        signature: '-----BEGIN PGP SIGNATURE-----\n\n(double)\n-----END PGP SIGNATURE-----\n',
        payload: `tree ${c.tree}\n`,
        verified_at: c.committer.date,
      }
    : { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null };
}

/** The `git-commit` schema (git data API). */
export function gitCommit(base: string, r: RepoRec, c: CommitObject): Record<string, unknown> {
  const u = `${base}/repos/${r.owner}/${r.name}`;
  return {
    sha: c.sha,
    node_id: nodeId('Commit', c.sha),
    url: `${u}/git/commits/${c.sha}`,
    html_url: `${base}/${r.owner}/${r.name}/commit/${c.sha}`,
    author: gitIdentity(c.author),
    committer: gitIdentity(c.committer),
    message: c.message,
    tree: { sha: c.tree, url: `${u}/git/trees/${c.tree}` },
    parents: c.parents.map((p) => ({ sha: p, url: `${u}/git/commits/${p}`, html_url: `${base}/${r.owner}/${r.name}/commit/${p}` })),
    verification: verification(c),
  };
}

/** Maps a commit identity to a GitHub account: our noreply emails carry the login. */
function accountFor(base: string, c: CommitObject, who: GitIdentity): Record<string, unknown> | null {
  const m = /^\d+\+(.+)@users\.noreply\.github\.com$/.exec(who.email);
  return m ? simpleUser(base, m[1]!) : null;
}

/** The `commit` schema (repos API: list/get commits, compare). */
export function repoCommit(base: string, r: RepoRec, c: CommitObject): Record<string, unknown> {
  const u = `${base}/repos/${r.owner}/${r.name}`;
  return {
    url: `${u}/commits/${c.sha}`,
    sha: c.sha,
    node_id: nodeId('Commit', c.sha),
    html_url: `${base}/${r.owner}/${r.name}/commit/${c.sha}`,
    comments_url: `${u}/commits/${c.sha}/comments`,
    commit: {
      url: `${u}/git/commits/${c.sha}`,
      author: gitIdentity(c.author),
      committer: gitIdentity(c.committer),
      message: c.message,
      comment_count: 0,
      tree: { sha: c.tree, url: `${u}/git/trees/${c.tree}` },
      verification: verification(c),
    },
    author: accountFor(base, c, c.author),
    committer: accountFor(base, c, c.committer),
    parents: c.parents.map((p) => ({ sha: p, url: `${u}/commits/${p}`, html_url: `${base}/${r.owner}/${r.name}/commit/${p}` })),
  };
}

export function issueComment(base: string, r: RepoRec, issue: IssueRec, c: CommentRec): Record<string, unknown> {
  const u = `${base}/repos/${r.owner}/${r.name}`;
  return {
    id: c.id,
    node_id: nodeId('IssueComment', c.id),
    url: `${u}/issues/comments/${c.id}`,
    html_url: `${base}/${r.owner}/${r.name}/issues/${issue.number}#issuecomment-${c.id}`,
    body: c.body,
    user: simpleUser(base, c.user),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    issue_url: `${u}/issues/${issue.number}`,
    author_association: c.user === r.owner ? 'OWNER' : 'NONE',
  };
}

export function issue(base: string, r: RepoRec, i: IssueRec): Record<string, unknown> {
  const u = `${base}/repos/${r.owner}/${r.name}`;
  const kind = i.pull ? 'pull' : 'issues';
  const out: Record<string, unknown> = {
    id: i.id,
    node_id: nodeId('Issue', i.id),
    url: `${u}/issues/${i.number}`,
    repository_url: u,
    labels_url: `${u}/issues/${i.number}/labels{/name}`,
    comments_url: `${u}/issues/${i.number}/comments`,
    events_url: `${u}/issues/${i.number}/events`,
    html_url: `${base}/${r.owner}/${r.name}/${kind}/${i.number}`,
    number: i.number,
    state: i.state,
    state_reason: i.stateReason,
    title: i.title,
    body: i.body,
    user: simpleUser(base, i.user),
    labels: i.labels.map((n) => label(base, r, r.labels.get(n.toLowerCase())!)),
    assignee: i.assignees[0] ? simpleUser(base, i.assignees[0]) : null,
    assignees: i.assignees.map((a) => simpleUser(base, a)),
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments: i.comments.length,
    closed_at: i.closedAt,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    author_association: i.user === r.owner ? 'OWNER' : 'NONE',
  };
  if (i.pull) {
    out['pull_request'] = {
      url: `${u}/pulls/${i.number}`,
      html_url: `${base}/${r.owner}/${r.name}/pull/${i.number}`,
      diff_url: `${base}/${r.owner}/${r.name}/pull/${i.number}.diff`,
      patch_url: `${base}/${r.owner}/${r.name}/pull/${i.number}.patch`,
      merged_at: null,
    };
    out['draft'] = i.pull.draft;
  }
  return out;
}

export function release(base: string, r: RepoRec, rel: ReleaseRec): Record<string, unknown> {
  const u = `${base}/repos/${r.owner}/${r.name}`;
  return {
    url: `${u}/releases/${rel.id}`,
    html_url: `${base}/${r.owner}/${r.name}/releases/tag/${encodeURIComponent(rel.tag)}`,
    assets_url: `${u}/releases/${rel.id}/assets`,
    upload_url: `${base}/uploads/repos/${r.owner}/${r.name}/releases/${rel.id}/assets{?name,label}`,
    tarball_url: `${u}/tarball/${encodeURIComponent(rel.tag)}`,
    zipball_url: `${u}/zipball/${encodeURIComponent(rel.tag)}`,
    id: rel.id,
    node_id: nodeId('Release', rel.id),
    tag_name: rel.tag,
    target_commitish: rel.target,
    name: rel.name,
    body: rel.body,
    draft: rel.draft,
    prerelease: rel.prerelease,
    immutable: false,
    created_at: rel.createdAt,
    published_at: rel.publishedAt,
    updated_at: rel.publishedAt ?? rel.createdAt,
    author: simpleUser(base, rel.author),
    assets: [],
  };
}

export function gitRef(base: string, r: RepoRec, ref: string, sha: string): Record<string, unknown> {
  const type = r.git.get(sha)?.type ?? 'commit';
  const u = `${base}/repos/${r.owner}/${r.name}`;
  return {
    ref,
    node_id: nodeId('Ref', `${r.id}:${ref}`),
    url: `${u}/git/${ref}`,
    object: { type, sha, url: `${u}/git/${type}s/${sha}` },
  };
}
