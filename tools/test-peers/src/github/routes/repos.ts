// Repository-level reads and the Contents API: repo, branches, commits (list/get), compare, tags, contents.
import { canAdmin, repoFor } from '../access.js';
import { HttpError, bodyObject, json, notFound, paginate, type Ctx, type Routes } from '../http.js';
import { nodeId, repoCommit, repository, gitCommit } from '../shapes.js';
import { now, resolveCommitish, type RepoRec } from '../state.js';
import { apiCommitIdentity } from './git.js';
import type { CommitObject } from '../git-objects.js';

const P = '/repos/{owner}/{repo}';
const CONTENTS_MAX_BYTES = 1024 * 1024;
function api(ctx: Ctx, r: RepoRec): string {
  return `${ctx.baseUrl}/repos/${r.owner}/${r.name}`;
}
function html(ctx: Ctx, r: RepoRec): string {
  return `${ctx.baseUrl}/${r.owner}/${r.name}`;
}

function commitOr404(r: RepoRec, ref: string, message = 'Not Found'): CommitObject {
  const sha = resolveCommitish(r, ref);
  const c = sha ? r.git.commit(sha) : undefined;
  if (!c) throw new HttpError(404, message);
  return c;
}

/** diff-entry list between two trees (line counts are whole-file, which is all a client here needs). */
function diffFiles(ctx: Ctx, r: RepoRec, fromTree: string | undefined, toTree: string, ref: string): Array<Record<string, unknown>> {
  const a = fromTree ? r.git.flatten(fromTree) : new Map<string, { sha: string }>();
  const b = r.git.flatten(toTree);
  const lines = (sha: string | undefined) => (sha ? r.git.blob(sha)!.content.toString('utf8').split('\n').length : 0);
  const out: Array<Record<string, unknown>> = [];
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const before = a.get(path)?.sha;
    const after = b.get(path)?.sha;
    if (before === after) continue;
    const status = !before ? 'added' : !after ? 'removed' : 'modified';
    const additions = status === 'removed' ? 0 : lines(after);
    const deletions = status === 'added' ? 0 : lines(before);
    out.push({
      sha: after ?? before,
      filename: path,
      status,
      additions,
      deletions,
      changes: additions + deletions,
      blob_url: `${html(ctx, r)}/blob/${ref}/${path}`,
      raw_url: `${html(ctx, r)}/raw/${ref}/${path}`,
      contents_url: `${api(ctx, r)}/contents/${path}?ref=${ref}`,
    });
  }
  return out;
}

function fileEntry(
  ctx: Ctx,
  r: RepoRec,
  ref: string,
  path: string,
  sha: string,
  type: 'file' | 'dir',
  size: number,
): Record<string, unknown> {
  const self = `${api(ctx, r)}/contents/${path}?ref=${encodeURIComponent(ref)}`;
  const git = `${api(ctx, r)}/git/${type === 'file' ? 'blobs' : 'trees'}/${sha}`;
  const htmlUrl = `${html(ctx, r)}/${type === 'file' ? 'blob' : 'tree'}/${ref}/${path}`;
  return {
    type,
    size,
    name: path.split('/').pop(),
    path,
    sha,
    url: self,
    git_url: git,
    html_url: htmlUrl,
    download_url: type === 'file' ? `${html(ctx, r)}/raw/${ref}/${path}` : null,
    _links: { self, git, html: htmlUrl },
  };
}

function wantsRaw(ctx: Ctx): boolean {
  return /application\/vnd\.github(\.v3)?\.raw/.test(String(ctx.headers['accept'] ?? ''));
}

export const repoRoutes: Routes = {
  [`GET ${P}`]: (ctx) => json(200, repository(ctx.baseUrl, repoFor(ctx, 'read'), canAdmin(ctx))),

  [`GET ${P}/branches`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const items = [...r.refs]
      .filter(([k]) => k.startsWith('refs/heads/'))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, sha]) => ({
        name: k.slice('refs/heads/'.length),
        commit: { sha, url: `${api(ctx, r)}/commits/${sha}` },
        protected: false,
      }));
    return paginate(ctx, items);
  },

  [`GET ${P}/branches/{branch}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const name = ctx.params['branch']!;
    const sha = r.refs.get(`refs/heads/${name}`);
    if (!sha) throw new HttpError(404, 'Branch not found');
    return json(200, {
      name,
      commit: repoCommit(ctx.baseUrl, r, r.git.commit(sha)!),
      protected: false,
      _links: { self: `${api(ctx, r)}/branches/${name}`, html: `${html(ctx, r)}/tree/${name}` },
      protection: { enabled: false, required_status_checks: { enforcement_level: 'off', contexts: [], checks: [] } },
      protection_url: `${api(ctx, r)}/branches/${name}/protection`,
    });
  },

  [`GET ${P}/commits`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const start = commitOr404(r, ctx.query['sha'] ?? r.defaultBranch);
    let list = r.git.ancestors(start.sha).map((s) => r.git.commit(s)!);
    const path = ctx.query['path'];
    if (path) {
      const at = (c: CommitObject | undefined) => (c ? r.git.lookup(c.tree, path)?.sha : undefined);
      list = list.filter((c) => at(c) !== at(c.parents[0] ? r.git.commit(c.parents[0]) : undefined));
    }
    const author = ctx.query['author']?.toLowerCase();
    if (author)
      list = list.filter(
        (c) =>
          c.createdBy.toLowerCase() === author || c.author.email.toLowerCase().includes(author) || c.author.name.toLowerCase() === author,
      );
    return paginate(
      ctx,
      list.map((c) => repoCommit(ctx.baseUrl, r, c)),
    );
  },

  [`GET ${P}/commits/{ref}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const c = commitOr404(r, ctx.params['ref']!, `No commit found for SHA: ${ctx.params['ref']}`);
    const parent = c.parents[0] ? r.git.commit(c.parents[0]) : undefined;
    const files = diffFiles(ctx, r, parent?.tree, c.tree, c.sha);
    const additions = files.reduce((n, f) => n + (f['additions'] as number), 0);
    const deletions = files.reduce((n, f) => n + (f['deletions'] as number), 0);
    return json(200, { ...repoCommit(ctx.baseUrl, r, c), stats: { additions, deletions, total: additions + deletions }, files });
  },

  [`GET ${P}/compare/{basehead}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const m = /^(.+?)(\.\.\.?)(.+)$/.exec(ctx.params['basehead']!);
    if (!m) throw notFound();
    // 'owner:branch' names a branch in a fork; only same-repository comparisons exist here.
    const side = (s: string) => {
      const i = s.indexOf(':');
      if (i >= 0 && s.slice(0, i).toLowerCase() !== r.owner.toLowerCase()) throw notFound();
      return commitOr404(r, i >= 0 ? s.slice(i + 1) : s, `No common ancestor between ${m[1]} and ${m[3]}.`);
    };
    const base = side(m[1]!);
    const head = side(m[3]!);
    const headAnc = r.git.ancestors(head.sha);
    const baseAnc = new Set(r.git.ancestors(base.sha));
    const headSet = new Set(headAnc);
    const mergeBase = headAnc.find((s) => baseAnc.has(s));
    if (!mergeBase) throw new HttpError(404, `No common ancestor between ${m[1]} and ${m[3]}.`);
    const ahead = headAnc.filter((s) => !baseAnc.has(s)).reverse();
    const behind = [...baseAnc].filter((s) => !headSet.has(s)).length;
    const status = ahead.length && behind ? 'diverged' : ahead.length ? 'ahead' : behind ? 'behind' : 'identical';
    const mb = r.git.commit(mergeBase)!;
    return json(200, {
      url: `${api(ctx, r)}/compare/${ctx.params['basehead']}`,
      html_url: `${html(ctx, r)}/compare/${ctx.params['basehead']}`,
      permalink_url: `${html(ctx, r)}/compare/${r.owner}:${base.sha.slice(0, 7)}...${r.owner}:${head.sha.slice(0, 7)}`,
      diff_url: `${html(ctx, r)}/compare/${ctx.params['basehead']}.diff`,
      patch_url: `${html(ctx, r)}/compare/${ctx.params['basehead']}.patch`,
      base_commit: repoCommit(ctx.baseUrl, r, base),
      merge_base_commit: repoCommit(ctx.baseUrl, r, mb),
      status,
      ahead_by: ahead.length,
      behind_by: behind,
      total_commits: ahead.length,
      commits: ahead.map((s) => repoCommit(ctx.baseUrl, r, r.git.commit(s)!)),
      files: diffFiles(ctx, r, mb.tree, head.tree, head.sha),
    });
  },

  [`GET ${P}/tags`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const items = [...r.refs]
      .filter(([k]) => k.startsWith('refs/tags/'))
      .sort(([a], [b]) => b.localeCompare(a))
      .map(([k]) => {
        const name = k.slice('refs/tags/'.length);
        const sha = resolveCommitish(r, k)!;
        return {
          name,
          node_id: nodeId('Tag', `${r.id}:${name}`),
          commit: { sha, url: `${api(ctx, r)}/commits/${sha}` },
          zipball_url: `${api(ctx, r)}/zipball/refs/tags/${name}`,
          tarball_url: `${api(ctx, r)}/tarball/refs/tags/${name}`,
        };
      });
    return paginate(ctx, items);
  },

  [`GET ${P}/contents/{path}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const ref = ctx.query['ref'] ?? r.defaultBranch;
    const c = commitOr404(r, ref, `No commit found for the ref ${ref}`);
    const path = ctx.params['path']!.replace(/^\/+|\/+$/g, '');
    const entry = r.git.lookup(c.tree, path);
    if (!entry) throw notFound();
    if (entry.type === 'tree') {
      const items = r.git.tree(entry.sha)!.entries.map((e) => {
        const p = path ? `${path}/${e.name}` : e.name;
        return fileEntry(
          ctx,
          r,
          ref,
          p,
          e.sha,
          e.type === 'tree' ? 'dir' : 'file',
          e.type === 'blob' ? r.git.blob(e.sha)!.content.length : 0,
        );
      });
      return json(200, items);
    }
    const blob = r.git.blob(entry.sha)!;
    if (wantsRaw(ctx)) return { status: 200, body: blob.content, headers: { 'content-type': 'application/vnd.github.raw; charset=utf-8' } };
    // GitHub: files over 1 MB only through the raw or object media types (object: empty content, encoding "none");
    // the default media type answers 403 too_large and points at the git blobs API.
    if (blob.content.length > CONTENTS_MAX_BYTES) {
      if (/application\/vnd\.github(\.v3)?\.object/.test(String(ctx.headers['accept'] ?? ''))) {
        return json(200, { ...fileEntry(ctx, r, ref, path, blob.sha, 'file', blob.content.length), content: '', encoding: 'none' });
      }
      throw new HttpError(
        403,
        'This API returns blobs up to 1 MB in size. The requested blob is too large to fetch via the API, but you can use the Git Data API to request blobs up to 100 MB in size.',
        {
          errors: [{ resource: 'Blob', field: 'data', code: 'too_large' }],
        },
      );
    }
    return json(200, {
      ...fileEntry(ctx, r, ref, path, blob.sha, 'file', blob.content.length),
      // GitHub wraps base64 at 60 columns; clients must strip newlines before decoding.
      content: blob.content.toString('base64').replace(/(.{60})/g, '$1\n'),
      encoding: 'base64',
    });
  },

  [`PUT ${P}/contents/{path}`]: (ctx) => writeContents(ctx, 'put'),
  [`DELETE ${P}/contents/{path}`]: (ctx) => writeContents(ctx, 'delete'),
};

function writeContents(ctx: Ctx, kind: 'put' | 'delete') {
  const r = repoFor(ctx, 'write');
  const b = bodyObject(ctx) as { message: string; content?: string; sha?: string; branch?: string; author?: unknown; committer?: unknown };
  if (kind === 'put' && !/^[A-Za-z0-9+/=\s]*$/.test(b.content ?? '')) throw new HttpError(422, 'content is not valid Base64');
  const branch = b.branch ?? r.defaultBranch;
  const head = r.refs.get(`refs/heads/${branch}`);
  if (!head) throw new HttpError(404, `Branch ${branch} not found`);
  const parent = r.git.commit(head)!;
  const path = ctx.params['path']!.replace(/^\/+|\/+$/g, '');
  const existing = r.git.lookup(parent.tree, path);
  if (existing?.type === 'tree') throw new HttpError(422, `${path} is a directory`);
  if (kind === 'delete' && !existing) throw notFound();
  if (existing && !b.sha)
    throw new HttpError(422, `Invalid request.\n\n"sha" wasn't supplied.`, {
      errors: [{ resource: 'body', field: 'sha', code: 'missing_field' }],
    });
  // The optimistic-concurrency check clients rely on: a stale blob sha is a conflict, not an overwrite.
  if (existing && b.sha!.toLowerCase() !== existing.sha) throw new HttpError(409, `${path} does not match ${b.sha}`);
  const flat = r.git.flatten(parent.tree);
  if (kind === 'delete') flat.delete(path);
  else flat.set(path, { sha: r.git.putBlob(Buffer.from(b.content ?? '', 'base64')).sha, mode: existing?.mode ?? '100644' });
  const tree = r.git.buildTree(flat);
  const commit = r.git.putCommit({ tree: tree.sha, parents: [parent.sha], message: b.message, ...apiCommitIdentity(ctx, b) });
  r.refs.set(`refs/heads/${branch}`, commit.sha);
  r.pushedAt = now();
  const blobSha = flat.get(path)?.sha;
  const content = kind === 'delete' ? null : fileEntry(ctx, r, branch, path, blobSha!, 'file', r.git.blob(blobSha!)!.content.length);
  return json(kind === 'delete' || existing ? 200 : 201, { content, commit: gitCommit(ctx.baseUrl, r, commit) });
}
