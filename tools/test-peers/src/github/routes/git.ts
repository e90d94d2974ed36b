// Git data API: blobs, trees, commits, refs, annotated tags.
import { repoFor } from '../access.js';
import { HttpError, bodyObject, json, notFound, type Ctx, type Routes } from '../http.js';
import { gitCommit, gitRef, gitIdentity, nodeId } from '../shapes.js';
import { identity, now, peel, resolveCommitish, type RepoRec } from '../state.js';
import type { FlatTree, GitIdentity, TreeObject } from '../git-objects.js';

const P = '/repos/{owner}/{repo}/git';

function api(ctx: Ctx, r: RepoRec): string {
  return `${ctx.baseUrl}/repos/${r.owner}/${r.name}`;
}

function treeBody(ctx: Ctx, r: RepoRec, tree: TreeObject, recursive: boolean): Record<string, unknown> {
  const entries: Array<Record<string, unknown>> = [];
  const walk = (t: TreeObject, prefix: string) => {
    for (const e of t.entries) {
      const path = prefix ? `${prefix}/${e.name}` : e.name;
      const size = e.type === 'blob' ? r.git.blob(e.sha)?.content.length : undefined;
      entries.push({
        path,
        mode: e.mode,
        type: e.type,
        sha: e.sha,
        ...(size !== undefined ? { size } : {}),
        url: `${api(ctx, r)}/git/${e.type}s/${e.sha}`,
      });
      if (recursive && e.type === 'tree') walk(r.git.tree(e.sha)!, path);
    }
  };
  walk(tree, '');
  return { sha: tree.sha, url: `${api(ctx, r)}/git/trees/${tree.sha}`, tree: entries, truncated: false };
}

/** Normalises the {ref} path parameter ('heads/main', or 'refs/heads/main' which GitHub also tolerates). */
function fullRef(ref: string): string {
  return ref.startsWith('refs/') ? ref : `refs/${ref}`;
}

/** Identity and signature of an API-created commit: App commits without a custom author are signed by GitHub. */
export function apiCommitIdentity(
  ctx: Ctx,
  given: { author?: unknown; committer?: unknown },
): { author: GitIdentity; committer: GitIdentity; verified: boolean; createdBy: string } {
  const a = ctx.actor;
  const login = a.kind === 'token' || a.kind === 'installation' ? a.login : 'unknown';
  const date = now();
  const custom = (v: unknown): GitIdentity | undefined => {
    if (!v || typeof v !== 'object') return undefined;
    const o = v as { name?: string; email?: string; date?: string };
    return { name: o.name ?? login, email: o.email ?? identity(login).email, date: o.date ?? date };
  };
  const author = custom(given.author);
  const committer = custom(given.committer);
  const self = identity(login, date);
  const verified = a.kind === 'installation' && !author && !committer;
  return {
    author: author ?? committer ?? self,
    // Commits GitHub signs for an App are committed by "GitHub" (web-flow), authored by the bot, as on github.com.
    committer: committer ?? author ?? (verified ? { name: 'GitHub', email: 'noreply@github.com', date } : self),
    verified,
    createdBy: login,
  };
}

export const gitRoutes: Routes = {
  [`GET ${P}/blobs/{file_sha}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const blob = r.git.blob(ctx.params['file_sha']!);
    if (!blob) throw notFound();
    return json(200, {
      sha: blob.sha,
      node_id: nodeId('Blob', blob.sha),
      size: blob.content.length,
      url: `${api(ctx, r)}/git/blobs/${blob.sha}`,
      content: blob.content.toString('base64').replace(/(.{60})/g, '$1\n'),
      encoding: 'base64',
    });
  },

  [`POST ${P}/blobs`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const b = bodyObject(ctx) as { content: string; encoding?: string };
    const enc = b.encoding ?? 'utf-8';
    if (enc !== 'utf-8' && enc !== 'base64') throw new HttpError(422, `encoding must be utf-8 or base64`);
    const blob = r.git.putBlob(Buffer.from(b.content, enc === 'base64' ? 'base64' : 'utf8'));
    return json(201, { sha: blob.sha, url: `${api(ctx, r)}/git/blobs/${blob.sha}` });
  },

  [`GET ${P}/trees/{tree_sha}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const ref = ctx.params['tree_sha']!;
    let tree = r.git.tree(ref);
    if (!tree) {
      const c = resolveCommitish(r, ref);
      tree = c ? r.git.tree(r.git.commit(c)!.tree) : undefined;
    }
    if (!tree) throw notFound();
    const recursive = ctx.query['recursive'] !== undefined && ctx.query['recursive'] !== '0' && ctx.query['recursive'] !== 'false';
    return json(200, treeBody(ctx, r, tree, recursive));
  },

  [`POST ${P}/trees`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const b = bodyObject(ctx) as {
      base_tree?: string;
      tree: Array<{ path: string; mode?: string; type?: string; sha?: string | null; content?: string }>;
    };
    let flat: FlatTree = new Map();
    if (b.base_tree) {
      if (!r.git.tree(b.base_tree)) throw new HttpError(422, 'GitRPC::BadObjectState');
      flat = r.git.flatten(b.base_tree);
    }
    for (const e of b.tree) {
      const path = e.path.replace(/^\/+|\/+$/g, '');
      const removeUnder = () => {
        for (const k of [...flat.keys()]) if (k === path || k.startsWith(`${path}/`)) flat.delete(k);
      };
      if (e.sha === null) {
        removeUnder();
        continue;
      }
      if (e.content !== undefined) {
        if (e.sha) throw new HttpError(422, 'Must supply either tree.sha or tree.content. Request will be rejected if both are present.');
        removeUnder();
        flat.set(path, { sha: r.git.putBlob(Buffer.from(e.content, 'utf8')).sha, mode: e.mode ?? '100644' });
        continue;
      }
      if (!e.sha) throw new HttpError(422, 'Must supply either tree.sha or tree.content.');
      const obj = r.git.get(e.sha);
      if (e.type === 'tree' || e.mode === '040000') {
        if (obj?.type !== 'tree') throw new HttpError(422, `tree.sha ${e.sha} is not a valid tree`);
        removeUnder();
        for (const [p, v] of r.git.flatten(obj.sha)) flat.set(`${path}/${p}`, v);
      } else {
        if (obj?.type !== 'blob') throw new HttpError(422, `tree.sha ${e.sha} is not a valid blob`);
        removeUnder();
        flat.set(path, { sha: obj.sha, mode: e.mode ?? '100644' });
      }
    }
    return json(201, treeBody(ctx, r, r.git.buildTree(flat), false));
  },

  [`GET ${P}/commits/{commit_sha}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const c = r.git.commit(ctx.params['commit_sha']!);
    if (!c) throw notFound();
    return json(200, gitCommit(ctx.baseUrl, r, c));
  },

  [`POST ${P}/commits`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const b = bodyObject(ctx) as { message: string; tree: string; parents?: string[]; author?: unknown; committer?: unknown };
    if (!r.git.tree(b.tree)) throw new HttpError(422, 'Tree SHA does not exist');
    for (const p of b.parents ?? []) if (!r.git.commit(p)) throw new HttpError(422, 'Parent SHA does not exist or is not a commit object');
    const who = apiCommitIdentity(ctx, b);
    const c = r.git.putCommit({
      tree: b.tree.toLowerCase(),
      parents: (b.parents ?? []).map((p) => p.toLowerCase()),
      message: b.message,
      ...who,
    });
    return json(201, gitCommit(ctx.baseUrl, r, c));
  },

  [`GET ${P}/ref/{ref}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const ref = fullRef(ctx.params['ref']!);
    const sha = r.refs.get(ref);
    if (!sha) throw notFound();
    return json(200, gitRef(ctx.baseUrl, r, ref, sha));
  },

  [`GET ${P}/matching-refs/{ref}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const prefix = fullRef(ctx.params['ref'] ?? '');
    const out = [...r.refs]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => gitRef(ctx.baseUrl, r, k, v));
    return json(200, out);
  },

  [`POST ${P}/refs`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const b = bodyObject(ctx) as { ref: string; sha: string };
    if (!b.ref.startsWith('refs/') || b.ref.split('/').length < 3)
      throw new HttpError(422, "Reference name must start with 'refs/' and have at least two slashes.");
    if (r.refs.has(b.ref)) throw new HttpError(422, 'Reference already exists');
    if (!r.git.get(b.sha)) throw new HttpError(422, 'Object does not exist');
    r.refs.set(b.ref, b.sha.toLowerCase());
    r.pushedAt = now();
    return json(201, gitRef(ctx.baseUrl, r, b.ref, b.sha.toLowerCase()));
  },

  [`PATCH ${P}/refs/{ref}`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const ref = fullRef(ctx.params['ref']!);
    const b = bodyObject(ctx) as { sha: string; force?: boolean };
    const current = r.refs.get(ref);
    if (!current) throw new HttpError(422, 'Reference does not exist');
    const target = b.sha.toLowerCase();
    if (!r.git.get(target)) throw new HttpError(422, 'Object does not exist');
    if (!b.force && ref.startsWith('refs/heads/') && !r.git.ancestors(target).includes(peel(r, current))) {
      throw new HttpError(422, 'Update is not a fast forward');
    }
    r.refs.set(ref, target);
    r.pushedAt = now();
    return json(200, gitRef(ctx.baseUrl, r, ref, target));
  },

  [`DELETE ${P}/refs/{ref}`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const ref = fullRef(ctx.params['ref']!);
    const old = r.refs.get(ref);
    if (!old || !r.refs.delete(ref)) throw new HttpError(422, 'Reference does not exist');
    // GitHub closes open PRs whose head or base branch disappears.
    const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
    for (const i of r.issues) {
      if (branch && i.pull && i.pull.head === branch) i.pull.lastHeadSha = old;
      if (branch && i.pull && i.state === 'open' && (i.pull.head === branch || i.pull.base === branch)) {
        i.state = 'closed';
        i.closedAt = now();
        i.updatedAt = i.closedAt;
      }
    }
    return { status: 204 };
  },

  [`POST ${P}/tags`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const b = bodyObject(ctx) as {
      tag: string;
      message: string;
      object: string;
      type: string;
      tagger?: { name: string; email: string; date?: string };
    };
    const obj = r.git.get(b.object);
    if (!obj) throw new HttpError(422, 'Object does not exist');
    const login = ctx.actor.kind === 'token' || ctx.actor.kind === 'installation' ? ctx.actor.login : 'unknown';
    const tagger = b.tagger ? { name: b.tagger.name, email: b.tagger.email, date: b.tagger.date ?? now() } : identity(login);
    const t = r.git.putTag({ tag: b.tag, message: b.message, object: { sha: obj.sha, type: obj.type }, tagger });
    return json(201, tagBody(ctx, r, t.sha));
  },

  [`GET ${P}/tags/{tag_sha}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const t = r.git.get(ctx.params['tag_sha']!);
    if (t?.type !== 'tag') throw notFound();
    return json(200, tagBody(ctx, r, t.sha));
  },
};

function tagBody(ctx: Ctx, r: RepoRec, sha: string): Record<string, unknown> {
  const t = r.git.get(sha);
  if (t?.type !== 'tag') throw notFound();
  return {
    node_id: nodeId('Tag', t.sha),
    tag: t.tag,
    sha: t.sha,
    url: `${api(ctx, r)}/git/tags/${t.sha}`,
    message: t.message,
    tagger: gitIdentity(t.tagger),
    object: { sha: t.object.sha, type: t.object.type, url: `${api(ctx, r)}/git/${t.object.type}s/${t.object.sha}` },
    verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
  };
}
