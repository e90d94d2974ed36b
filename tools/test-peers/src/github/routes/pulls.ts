// Pull requests: create (with GitHub's 422s), list with filters, get, update, requested reviewers, commits.
import { actingLogin, repoFor } from '../access.js';
import { HttpError, bodyObject, json, notFound, paginate, validationFailed, type Ctx, type Routes } from '../http.js';
import { label, nodeId, repoCommit, repository, simpleUser } from '../shapes.js';
import { identity, newId, now, type IssueRec, type RepoRec } from '../state.js';

const P = '/repos/{owner}/{repo}/pulls';

/** Splits `owner:branch` (or a bare branch) and refuses cross-repository heads, which the double has no forks for. */
function parseHead(r: RepoRec, head: string): string {
  const i = head.indexOf(':');
  if (i < 0) return head;
  if (head.slice(0, i).toLowerCase() !== r.owner.toLowerCase())
    throw validationFailed([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
  return head.slice(i + 1);
}

function pullOr404(r: RepoRec, n: string | undefined): IssueRec & { pull: NonNullable<IssueRec['pull']> } {
  const i = r.issues.find((x) => x.number === Number(n) && x.pull);
  if (!i) throw notFound();
  return i as IssueRec & { pull: NonNullable<IssueRec['pull']> };
}

function aheadCommits(r: RepoRec, base: string, head: string): string[] {
  const b = r.refs.get(`refs/heads/${base}`);
  const h = r.refs.get(`refs/heads/${head}`);
  if (!b || !h) return [];
  const baseAnc = new Set(r.git.ancestors(b));
  return r.git
    .ancestors(h)
    .filter((s) => !baseAnc.has(s))
    .reverse();
}

function end(ctx: Ctx, r: RepoRec, branch: string, sha: string): Record<string, unknown> {
  return {
    label: `${r.owner}:${branch}`,
    ref: branch,
    sha,
    user: simpleUser(ctx.baseUrl, r.owner),
    repo: repository(ctx.baseUrl, r, false),
  };
}

/** `pull-request-simple` (list) or the full `pull-request` (get/create/update). */
export function pullBody(ctx: Ctx, r: RepoRec, i: IssueRec, full: boolean): Record<string, unknown> {
  const p = i.pull!;
  const u = `${ctx.baseUrl}/repos/${r.owner}/${r.name}`;
  const h = `${ctx.baseUrl}/${r.owner}/${r.name}/pull/${i.number}`;
  const headSha = r.refs.get(`refs/heads/${p.head}`) ?? p.lastHeadSha;
  const baseSha = r.refs.get(`refs/heads/${p.base}`) ?? '';
  const out: Record<string, unknown> = {
    url: `${u}/pulls/${i.number}`,
    id: i.id,
    node_id: nodeId('PullRequest', i.id),
    html_url: h,
    diff_url: `${h}.diff`,
    patch_url: `${h}.patch`,
    issue_url: `${u}/issues/${i.number}`,
    commits_url: `${u}/pulls/${i.number}/commits`,
    review_comments_url: `${u}/pulls/${i.number}/comments`,
    review_comment_url: `${u}/pulls/comments{/number}`,
    comments_url: `${u}/issues/${i.number}/comments`,
    statuses_url: `${u}/statuses/${headSha}`,
    number: i.number,
    state: i.state,
    locked: false,
    title: i.title,
    user: simpleUser(ctx.baseUrl, i.user),
    body: i.body,
    labels: i.labels.map((n) => label(ctx.baseUrl, r, r.labels.get(n.toLowerCase())!)),
    milestone: null,
    active_lock_reason: null,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: i.closedAt,
    merged_at: p.mergedAt ?? null,
    merge_commit_sha: p.mergeCommitSha ?? null,
    assignee: i.assignees[0] ? simpleUser(ctx.baseUrl, i.assignees[0]) : null,
    assignees: i.assignees.map((a) => simpleUser(ctx.baseUrl, a)),
    requested_reviewers: p.requestedReviewers.map((a) => simpleUser(ctx.baseUrl, a)),
    requested_teams: [],
    head: end(ctx, r, p.head, headSha),
    base: end(ctx, r, p.base, baseSha),
    _links: {
      self: { href: `${u}/pulls/${i.number}` },
      html: { href: h },
      issue: { href: `${u}/issues/${i.number}` },
      comments: { href: `${u}/issues/${i.number}/comments` },
      review_comments: { href: `${u}/pulls/${i.number}/comments` },
      review_comment: { href: `${u}/pulls/comments{/number}` },
      commits: { href: `${u}/pulls/${i.number}/commits` },
      statuses: { href: `${u}/statuses/${headSha}` },
    },
    author_association: i.user === r.owner ? 'OWNER' : 'CONTRIBUTOR',
    auto_merge: null,
    draft: p.draft,
  };
  if (full) {
    const commits = aheadCommits(r, p.base, p.head).length;
    Object.assign(out, {
      merged: p.merged,
      mergeable: i.state === 'open' ? true : null,
      rebaseable: i.state === 'open' ? true : null,
      mergeable_state: i.state === 'open' ? 'clean' : 'unknown',
      merged_by: p.mergedBy ? simpleUser(ctx.baseUrl, p.mergedBy) : null,
      comments: i.comments.length,
      review_comments: 0,
      maintainer_can_modify: p.maintainerCanModify,
      commits,
      additions: 0,
      deletions: 0,
      changed_files: 0,
    });
  }
  return out;
}

function assertNoDuplicate(r: RepoRec, except: IssueRec | undefined, head: string, base: string): void {
  const dup = r.issues.find((x) => x !== except && x.pull && x.state === 'open' && x.pull.head === head && x.pull.base === base);
  if (dup)
    throw validationFailed([{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${r.owner}:${head}.` }]);
}

/**
 * Three-way merge of whole files: a path changed on one side only takes that side; changed differently on both is
 * a conflict (undefined), which GitHub reports as not mergeable.
 */
function mergeTrees(r: RepoRec, baseSha: string, headSha: string): string | undefined {
  const baseAnc = new Set(r.git.ancestors(baseSha));
  const mb = r.git.ancestors(headSha).find((s) => baseAnc.has(s));
  const tree = (sha: string | undefined) =>
    sha ? r.git.flatten(r.git.commit(sha)!.tree) : new Map<string, { sha: string; mode: string }>();
  const [m, b, h] = [tree(mb), tree(baseSha), tree(headSha)];
  const out = new Map(b);
  for (const path of new Set([...m.keys(), ...b.keys(), ...h.keys()])) {
    const [mv, bv, hv] = [m.get(path)?.sha, b.get(path)?.sha, h.get(path)?.sha];
    if (hv === mv || hv === bv) continue;
    if (bv !== mv) return undefined;
    if (hv === undefined) out.delete(path);
    else out.set(path, h.get(path)!);
  }
  return r.git.buildTree(out).sha;
}

export const pullRoutes: Routes = {
  [`POST ${P}`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const b = bodyObject(ctx) as {
      title?: string;
      body?: string;
      head: string;
      base: string;
      draft?: boolean;
      maintainer_can_modify?: boolean;
      issue?: number;
    };
    const head = parseHead(r, b.head);
    const errors: Array<Record<string, unknown>> = [];
    if (!r.refs.has(`refs/heads/${b.base}`)) errors.push({ resource: 'PullRequest', field: 'base', code: 'invalid' });
    if (!r.refs.has(`refs/heads/${head}`)) errors.push({ resource: 'PullRequest', field: 'head', code: 'invalid' });
    if (errors.length) throw validationFailed(errors);
    if (!b.title && b.issue === undefined) throw validationFailed([{ resource: 'PullRequest', field: 'title', code: 'missing_field' }]);
    assertNoDuplicate(r, undefined, head, b.base);
    if (!aheadCommits(r, b.base, head).length)
      throw validationFailed([{ resource: 'PullRequest', code: 'custom', message: `No commits between ${b.base} and ${head}` }]);
    const t = now();
    let rec: IssueRec;
    const pull = {
      headOwner: r.owner,
      head,
      base: b.base,
      draft: b.draft ?? false,
      maintainerCanModify: b.maintainer_can_modify ?? true,
      requestedReviewers: [],
      merged: false,
      lastHeadSha: r.refs.get(`refs/heads/${head}`)!,
    };
    if (b.issue !== undefined) {
      // Converting an issue into a PR keeps its number, title and body.
      const existing = r.issues.find((x) => x.number === b.issue && !x.pull);
      if (!existing) throw validationFailed([{ resource: 'PullRequest', field: 'issue', code: 'invalid' }]);
      existing.pull = pull;
      rec = existing;
    } else {
      rec = {
        number: r.issues.length + 1,
        id: newId(),
        title: b.title!,
        body: b.body ?? null,
        state: 'open',
        stateReason: null,
        user: actingLogin(ctx),
        labels: [],
        assignees: [],
        comments: [],
        createdAt: t,
        updatedAt: t,
        closedAt: null,
        pull,
      };
      r.issues.push(rec);
    }
    return json(201, pullBody(ctx, r, rec, true), { location: `${ctx.baseUrl}/repos/${r.owner}/${r.name}/pulls/${rec.number}` });
  },

  [`GET ${P}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const state = ctx.query['state'] ?? 'open';
    let list = r.issues.filter((i) => i.pull && (state === 'all' || i.state === state));
    const head = ctx.query['head'];
    // GitHub only applies `head` in the `owner:branch` form.
    if (head && head.includes(':')) {
      const [owner, branch] = [head.slice(0, head.indexOf(':')), head.slice(head.indexOf(':') + 1)];
      list = list.filter((i) => i.pull!.headOwner.toLowerCase() === owner.toLowerCase() && i.pull!.head === branch);
    }
    const base = ctx.query['base'];
    if (base) list = list.filter((i) => i.pull!.base === base);
    const dir = ctx.query['direction'] ?? (ctx.query['sort'] && ctx.query['sort'] !== 'created' ? 'asc' : 'desc');
    const key = ctx.query['sort'] === 'updated' ? (i: IssueRec) => i.updatedAt : (i: IssueRec) => i.createdAt;
    list = [...list].sort((a, b) => (key(a).localeCompare(key(b)) || a.number - b.number) * (dir === 'asc' ? 1 : -1));
    return paginate(
      ctx,
      list.map((i) => pullBody(ctx, r, i, false)),
    );
  },

  [`GET ${P}/{pull_number}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    return json(200, pullBody(ctx, r, pullOr404(r, ctx.params['pull_number']), true));
  },

  [`PATCH ${P}/{pull_number}`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const i = pullOr404(r, ctx.params['pull_number']);
    const b = bodyObject(ctx) as {
      title?: string;
      body?: string;
      state?: 'open' | 'closed';
      base?: string;
      maintainer_can_modify?: boolean;
    };
    if (b.base !== undefined && !r.refs.has(`refs/heads/${b.base}`))
      throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
    if (b.state === 'open' && i.state === 'closed') assertNoDuplicate(r, i, i.pull.head, b.base ?? i.pull.base);
    if (b.title !== undefined) i.title = b.title;
    if (b.body !== undefined) i.body = b.body;
    if (b.base !== undefined) i.pull.base = b.base;
    if (b.maintainer_can_modify !== undefined) i.pull.maintainerCanModify = b.maintainer_can_modify;
    if (b.state && b.state !== i.state) {
      i.state = b.state;
      i.closedAt = b.state === 'closed' ? now() : null;
    }
    i.pull.lastHeadSha = r.refs.get(`refs/heads/${i.pull.head}`) ?? i.pull.lastHeadSha;
    i.updatedAt = now();
    return json(200, pullBody(ctx, r, i, true));
  },

  [`GET ${P}/{pull_number}/commits`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const i = pullOr404(r, ctx.params['pull_number']);
    return paginate(
      ctx,
      aheadCommits(r, i.pull.base, i.pull.head).map((s) => repoCommit(ctx.baseUrl, r, r.git.commit(s)!)),
    );
  },

  [`GET ${P}/{pull_number}/merge`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    if (!pullOr404(r, ctx.params['pull_number']).pull.merged) throw notFound();
    return { status: 204 };
  },

  [`PUT ${P}/{pull_number}/merge`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const i = pullOr404(r, ctx.params['pull_number']);
    const b = bodyObject(ctx) as {
      sha?: string;
      merge_method?: 'merge' | 'squash' | 'rebase';
      commit_title?: string;
      commit_message?: string;
    };
    if (i.state !== 'open') throw new HttpError(405, 'Pull Request is not mergeable');
    const baseSha = r.refs.get(`refs/heads/${i.pull.base}`);
    const headSha = r.refs.get(`refs/heads/${i.pull.head}`);
    if (!baseSha || !headSha) throw new HttpError(405, 'Pull Request is not mergeable');
    if (b.sha && b.sha !== headSha) throw new HttpError(409, 'Head branch was modified. Review and try the merge again.');
    const tree = mergeTrees(r, baseSha, headSha);
    if (!tree) throw new HttpError(405, 'Pull Request is not mergeable');
    const login = actingLogin(ctx);
    const method = b.merge_method ?? 'merge';
    const title =
      b.commit_title ??
      (method === 'merge' ? `Merge pull request #${i.number} from ${r.owner}/${i.pull.head}` : `${i.title} (#${i.number})`);
    const message = b.commit_message ? `${title}\n\n${b.commit_message}` : title;
    const who = identity(login);
    // GitHub signs merge commits it creates (committer web-flow).
    const commit = r.git.putCommit({
      tree,
      parents: method === 'merge' ? [baseSha, headSha] : [baseSha],
      message,
      author: who,
      committer: { name: 'GitHub', email: 'noreply@github.com', date: who.date },
      verified: true,
      createdBy: login,
    });
    r.refs.set(`refs/heads/${i.pull.base}`, commit.sha);
    const t = now();
    Object.assign(i.pull, { merged: true, mergedAt: t, mergedBy: login, mergeCommitSha: commit.sha, lastHeadSha: headSha });
    Object.assign(i, { state: 'closed', closedAt: t, updatedAt: t });
    return json(200, { sha: commit.sha, merged: true, message: 'Pull Request successfully merged' });
  },

  [`GET ${P}/{pull_number}/requested_reviewers`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const i = pullOr404(r, ctx.params['pull_number']);
    return json(200, { users: i.pull.requestedReviewers.map((u) => simpleUser(ctx.baseUrl, u)), teams: [] });
  },

  [`POST ${P}/{pull_number}/requested_reviewers`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const i = pullOr404(r, ctx.params['pull_number']);
    const b = bodyObject(ctx) as { reviewers?: string[]; team_reviewers?: string[] };
    if (!b.reviewers?.length && !b.team_reviewers?.length) {
      throw new HttpError(422, 'Invalid request.\n\n"reviewers" wasn\'t supplied.', {
        errors: [{ resource: 'body', field: 'reviewers', code: 'missing_field' }],
      });
    }
    for (const rev of b.reviewers ?? []) {
      if (rev.toLowerCase() === i.user.toLowerCase()) throw validationFailed([], 'Review cannot be requested from pull request author.');
      if (!i.pull.requestedReviewers.some((x) => x.toLowerCase() === rev.toLowerCase())) i.pull.requestedReviewers.push(rev);
    }
    i.updatedAt = now();
    return json(201, pullBody(ctx, r, i, false));
  },

  [`DELETE ${P}/{pull_number}/requested_reviewers`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const i = pullOr404(r, ctx.params['pull_number']);
    const drop = new Set(((bodyObject(ctx)['reviewers'] as string[] | undefined) ?? []).map((x) => x.toLowerCase()));
    i.pull.requestedReviewers = i.pull.requestedReviewers.filter((x) => !drop.has(x.toLowerCase()));
    return json(200, pullBody(ctx, r, i, false));
  },
};
