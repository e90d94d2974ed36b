// Releases: create (creating the tag like GitHub does), get by id/tag/latest, list, update, delete.
import { actingLogin, repoFor } from '../access.js';
import { bodyObject, json, notFound, paginate, validationFailed, type Ctx, type Routes } from '../http.js';
import { release } from '../shapes.js';
import { newId, now, resolveCommitish, type ReleaseRec, type RepoRec } from '../state.js';

const P = '/repos/{owner}/{repo}/releases';

function byId(r: RepoRec, id: string | undefined): ReleaseRec {
  const rel = r.releases.find((x) => x.id === Number(id));
  if (!rel) throw notFound();
  return rel;
}

/** Publishing a release whose tag does not exist yet creates the tag at target_commitish. */
function ensureTag(r: RepoRec, rel: ReleaseRec): void {
  if (rel.draft || r.refs.has(`refs/tags/${rel.tag}`)) return;
  const sha = resolveCommitish(r, rel.target);
  if (!sha) throw validationFailed([{ resource: 'Release', code: 'invalid', field: 'target_commitish' }]);
  r.refs.set(`refs/tags/${rel.tag}`, sha);
}

function assertUniqueTag(r: RepoRec, tag: string, except?: ReleaseRec): void {
  if (r.releases.some((x) => x !== except && x.tag === tag))
    throw validationFailed([{ resource: 'Release', code: 'already_exists', field: 'tag_name' }]);
}

export const releaseRoutes: Routes = {
  [`POST ${P}`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const b = bodyObject(ctx) as {
      tag_name: string;
      target_commitish?: string;
      name?: string;
      body?: string;
      draft?: boolean;
      prerelease?: boolean;
    };
    assertUniqueTag(r, b.tag_name);
    const target = b.target_commitish ?? r.defaultBranch;
    if (!r.refs.has(`refs/tags/${b.tag_name}`) && !resolveCommitish(r, target)) {
      throw validationFailed([{ resource: 'Release', code: 'invalid', field: 'target_commitish' }]);
    }
    const t = now();
    const rel: ReleaseRec = {
      id: newId(),
      tag: b.tag_name,
      target,
      name: b.name ?? null,
      body: b.body ?? null,
      draft: b.draft ?? false,
      prerelease: b.prerelease ?? false,
      author: actingLogin(ctx),
      createdAt: t,
      publishedAt: b.draft ? null : t,
    };
    ensureTag(r, rel);
    r.releases.push(rel);
    return json(201, release(ctx.baseUrl, r, rel), { location: `${ctx.baseUrl}/repos/${r.owner}/${r.name}/releases/${rel.id}` });
  },

  [`GET ${P}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    return paginate(
      ctx,
      [...r.releases]
        .reverse()
        .filter((x) => !x.draft || canSeeDrafts(ctx))
        .map((x) => release(ctx.baseUrl, r, x)),
    );
  },

  [`GET ${P}/latest`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    const rel = [...r.releases].reverse().find((x) => !x.draft && !x.prerelease);
    if (!rel) throw notFound();
    return json(200, release(ctx.baseUrl, r, rel));
  },

  [`GET ${P}/tags/{tag}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    // Drafts have no tag yet, so GitHub does not find them by tag.
    const rel = r.releases.find((x) => x.tag === ctx.params['tag'] && !x.draft);
    if (!rel) throw notFound();
    return json(200, release(ctx.baseUrl, r, rel));
  },

  [`GET ${P}/{release_id}`]: (ctx) => {
    const r = repoFor(ctx, 'read');
    return json(200, release(ctx.baseUrl, r, byId(r, ctx.params['release_id'])));
  },

  [`PATCH ${P}/{release_id}`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const rel = byId(r, ctx.params['release_id']);
    const b = bodyObject(ctx) as {
      tag_name?: string;
      target_commitish?: string;
      name?: string;
      body?: string;
      draft?: boolean;
      prerelease?: boolean;
    };
    if (b.tag_name !== undefined) {
      assertUniqueTag(r, b.tag_name, rel);
      rel.tag = b.tag_name;
    }
    if (b.target_commitish !== undefined) rel.target = b.target_commitish;
    if (b.name !== undefined) rel.name = b.name;
    if (b.body !== undefined) rel.body = b.body;
    if (b.prerelease !== undefined) rel.prerelease = b.prerelease;
    if (b.draft !== undefined) rel.draft = b.draft;
    if (!rel.draft && !rel.publishedAt) rel.publishedAt = now();
    ensureTag(r, rel);
    return json(200, release(ctx.baseUrl, r, rel));
  },

  [`DELETE ${P}/{release_id}`]: (ctx) => {
    const r = repoFor(ctx, 'write');
    const rel = byId(r, ctx.params['release_id']);
    r.releases.splice(r.releases.indexOf(rel), 1);
    return { status: 204 };
  },
};

function canSeeDrafts(ctx: Ctx): boolean {
  return ctx.actor.kind === 'installation' || (ctx.actor.kind === 'token' && !ctx.actor.readOnly);
}
