// Issues (which include PRs, as on GitHub), comments, labels and assignees.
import { actingLogin, repoFor } from '../access.js';
import { HttpError, bodyObject, json, notFound, paginate, validationFailed, type Ctx, type Routes } from '../http.js';
import { issue, issueComment, label } from '../shapes.js';
import { newId, now, type IssueRec, type RepoRec } from '../state.js';

const P = '/repos/{owner}/{repo}';

function issueOr404(r: RepoRec, n: string | undefined): IssueRec {
  const i = r.issues.find((x) => x.number === Number(n));
  if (!i) throw notFound();
  return i;
}

/** GitHub creates unknown labels on the fly when they are applied to an issue. */
function ensureLabel(r: RepoRec, name: string): string {
  const key = name.toLowerCase();
  if (!r.labels.has(key)) r.labels.set(key, { id: newId(), name, color: 'ededed', description: '' });
  return r.labels.get(key)!.name;
}

function labelNames(raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' && 'labels' in raw ? (raw as { labels: unknown }).labels : [];
  return (Array.isArray(list) ? list : [list])
    .map((l) => (typeof l === 'string' ? l : (l as { name: string }).name))
    .filter((s) => typeof s === 'string');
}

function addUnique(list: string[], items: string[]): void {
  for (const it of items) if (!list.some((x) => x.toLowerCase() === it.toLowerCase())) list.push(it);
}

function touch(i: IssueRec): void {
  i.updatedAt = now();
}

export const issueRoutes: Routes = {
  [`POST ${P}/issues`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const b = bodyObject(ctx) as {
      title: string | number;
      body?: string;
      labels?: unknown;
      assignees?: string[];
      assignee?: string | null;
    };
    const t = now();
    const rec: IssueRec = {
      number: r.issues.length + 1,
      id: newId(),
      title: String(b.title),
      body: b.body ?? null,
      state: 'open',
      stateReason: null,
      user: actingLogin(ctx),
      labels: labelNames(b.labels ?? []).map((l) => ensureLabel(r, l)),
      assignees: [],
      comments: [],
      createdAt: t,
      updatedAt: t,
      closedAt: null,
    };
    addUnique(rec.assignees, [...(b.assignees ?? []), ...(b.assignee ? [b.assignee] : [])]);
    r.issues.push(rec);
    return json(201, issue(ctx.baseUrl, r, rec), { location: `${ctx.baseUrl}/repos/${r.owner}/${r.name}/issues/${rec.number}` });
  },

  [`GET ${P}/issues`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const state = ctx.query['state'] ?? 'open';
    let list = r.issues.filter((i) => state === 'all' || i.state === state);
    const labels = ctx.query['labels']
      ?.split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    if (labels?.length) list = list.filter((i) => labels.every((l) => i.labels.some((x) => x.toLowerCase() === l)));
    const creator = ctx.query['creator']?.toLowerCase();
    if (creator) list = list.filter((i) => i.user.toLowerCase() === creator);
    const assignee = ctx.query['assignee'];
    if (assignee === 'none') list = list.filter((i) => !i.assignees.length);
    else if (assignee && assignee !== '*') list = list.filter((i) => i.assignees.some((a) => a.toLowerCase() === assignee.toLowerCase()));
    const since = ctx.query['since'];
    if (since) list = list.filter((i) => i.updatedAt >= since);
    const dir = ctx.query['direction'] ?? 'desc';
    const key =
      ctx.query['sort'] === 'updated'
        ? (i: IssueRec) => i.updatedAt
        : ctx.query['sort'] === 'comments'
          ? (i: IssueRec) => String(i.comments.length).padStart(8, '0')
          : (i: IssueRec) => i.createdAt;
    list = [...list].sort((a, b) => (key(a).localeCompare(key(b)) || a.number - b.number) * (dir === 'asc' ? 1 : -1));
    return paginate(
      ctx,
      list.map((i) => issue(ctx.baseUrl, r, i)),
    );
  },

  [`GET ${P}/issues/{issue_number}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    return json(200, issue(ctx.baseUrl, r, issueOr404(r, ctx.params['issue_number'])));
  },

  [`PATCH ${P}/issues/{issue_number}`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const i = issueOr404(r, ctx.params['issue_number']);
    const b = bodyObject(ctx) as {
      title?: string | number | null;
      body?: string | null;
      state?: 'open' | 'closed';
      state_reason?: string | null;
      labels?: unknown;
      assignees?: string[];
      assignee?: string | null;
    };
    if (b.title !== undefined && b.title !== null) i.title = String(b.title);
    if (b.body !== undefined) i.body = b.body;
    if (b.labels !== undefined) i.labels = labelNames(b.labels).map((l) => ensureLabel(r, l));
    if (b.assignees !== undefined) {
      i.assignees = [];
      addUnique(i.assignees, b.assignees);
    }
    if (b.state && b.state !== i.state) {
      if (
        b.state === 'open' &&
        i.pull &&
        r.issues.some((x) => x !== i && x.pull && x.state === 'open' && x.pull.head === i.pull!.head && x.pull.base === i.pull!.base)
      ) {
        throw validationFailed([
          { resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${r.owner}:${i.pull.head}.` },
        ]);
      }
      i.state = b.state;
      i.closedAt = b.state === 'closed' ? now() : null;
      i.stateReason = b.state === 'closed' ? (b.state_reason ?? 'completed') : (b.state_reason ?? 'reopened');
    }
    touch(i);
    return json(200, issue(ctx.baseUrl, r, i));
  },

  [`GET ${P}/issues/{issue_number}/comments`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const i = issueOr404(r, ctx.params['issue_number']);
    const since = ctx.query['since'];
    return paginate(
      ctx,
      i.comments.filter((c) => !since || c.updatedAt >= since).map((c) => issueComment(ctx.baseUrl, r, i, c)),
    );
  },

  [`POST ${P}/issues/{issue_number}/comments`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const i = issueOr404(r, ctx.params['issue_number']);
    const t = now();
    const c = { id: newId(), body: String(bodyObject(ctx)['body']), user: actingLogin(ctx), createdAt: t, updatedAt: t };
    i.comments.push(c);
    touch(i);
    return json(201, issueComment(ctx.baseUrl, r, i, c));
  },

  [`PATCH ${P}/issues/comments/{comment_id}`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const id = Number(ctx.params['comment_id']);
    for (const i of r.issues) {
      const c = i.comments.find((x) => x.id === id);
      if (c) {
        c.body = String(bodyObject(ctx)['body']);
        c.updatedAt = now();
        return json(200, issueComment(ctx.baseUrl, r, i, c));
      }
    }
    throw notFound();
  },

  [`GET ${P}/issues/{issue_number}/labels`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const i = issueOr404(r, ctx.params['issue_number']);
    return paginate(
      ctx,
      i.labels.map((n) => label(ctx.baseUrl, r, r.labels.get(n.toLowerCase())!)),
    );
  },

  [`POST ${P}/issues/{issue_number}/labels`]: (ctx) => setLabels(ctx, 'add'),
  [`PUT ${P}/issues/{issue_number}/labels`]: (ctx) => setLabels(ctx, 'replace'),

  [`DELETE ${P}/issues/{issue_number}/labels/{name}`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const i = issueOr404(r, ctx.params['issue_number']);
    const name = ctx.params['name']!.toLowerCase();
    if (!i.labels.some((l) => l.toLowerCase() === name)) throw new HttpError(404, 'Label does not exist');
    i.labels = i.labels.filter((l) => l.toLowerCase() !== name);
    touch(i);
    return json(
      200,
      i.labels.map((n) => label(ctx.baseUrl, r, r.labels.get(n.toLowerCase())!)),
    );
  },

  [`POST ${P}/issues/{issue_number}/assignees`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const i = issueOr404(r, ctx.params['issue_number']);
    addUnique(i.assignees, (bodyObject(ctx)['assignees'] as string[] | undefined) ?? []);
    touch(i);
    return json(201, issue(ctx.baseUrl, r, i));
  },

  [`DELETE ${P}/issues/{issue_number}/assignees`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const i = issueOr404(r, ctx.params['issue_number']);
    const drop = new Set(((bodyObject(ctx)['assignees'] as string[] | undefined) ?? []).map((s) => s.toLowerCase()));
    i.assignees = i.assignees.filter((a) => !drop.has(a.toLowerCase()));
    touch(i);
    return json(200, issue(ctx.baseUrl, r, i));
  },

  [`GET ${P}/labels`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    return paginate(
      ctx,
      [...r.labels.values()].map((l) => label(ctx.baseUrl, r, l)),
    );
  },

  [`POST ${P}/labels`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const b = bodyObject(ctx) as { name: string; color?: string; description?: string };
    if (r.labels.has(b.name.toLowerCase())) throw validationFailed([{ resource: 'Label', code: 'already_exists', field: 'name' }]);
    const l = { id: newId(), name: b.name, color: (b.color ?? 'ededed').replace(/^#/, ''), description: b.description ?? '' };
    r.labels.set(b.name.toLowerCase(), l);
    return json(201, label(ctx.baseUrl, r, l));
  },
};

function setLabels(ctx: Ctx, mode: 'add' | 'replace') {
  const r = repoFor(ctx, 'write');
  const i = issueOr404(r, ctx.params['issue_number']);
  const names = labelNames(ctx.body).map((l) => ensureLabel(r, l));
  if (mode === 'replace') i.labels = [];
  addUnique(i.labels, names);
  touch(i);
  return json(
    200,
    i.labels.map((n) => label(ctx.baseUrl, r, r.labels.get(n.toLowerCase())!)),
  );
}
