// Identity and App endpoints: /user, /app, installation lookup and token minting, /rate_limit.
import { HttpError, bodyObject, json, notFound, paginate, type Ctx, type Routes } from '../http.js';
import { nodeId, privateUser, repository, simpleUser } from '../shapes.js';
import type { AppRec, InstallationRec } from '../auth.js';

const PERMISSIONS: Record<string, string> = { contents: 'write', pull_requests: 'write', issues: 'write', metadata: 'read' };
const permissionsOf = (i: InstallationRec) => i.permissions ?? PERMISSIONS;

function requireJwt(ctx: Ctx): AppRec {
  if (ctx.actor.kind !== 'app-jwt') {
    throw new HttpError(401, 'A JSON web token could not be decoded');
  }
  return ctx.actor.app;
}

function installationBody(ctx: Ctx, app: AppRec, i: InstallationRec): Record<string, unknown> {
  return {
    // The list operation's schema wants the account to be both a simple-user and an enterprise (allOf), so carry both.
    id: i.id,
    account: {
      ...simpleUser(ctx.baseUrl, i.owner),
      name: i.owner,
      slug: i.owner.toLowerCase(),
      created_at: app.createdAt,
      updated_at: app.createdAt,
    },
    repository_selection: i.repos ? 'selected' : 'all',
    access_tokens_url: `${ctx.baseUrl}/app/installations/${i.id}/access_tokens`,
    repositories_url: `${ctx.baseUrl}/installation/repositories`,
    html_url: `${ctx.baseUrl}/organizations/${i.owner}/settings/installations/${i.id}`,
    app_id: app.appId,
    app_slug: app.slug,
    client_id: `Iv1.${app.appId}`,
    target_id: i.id * 7,
    target_type: 'Organization',
    permissions: permissionsOf(i),
    events: [],
    created_at: app.createdAt,
    updated_at: app.createdAt,
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: null,
    suspended_at: null,
  };
}

function installationFor(ctx: Ctx, owner: string, repo?: string): Record<string, unknown> {
  const app = requireJwt(ctx);
  const inst = app.installations.find(
    (i) =>
      i.owner.toLowerCase() === owner.toLowerCase() && (!repo || !i.repos || i.repos.some((r) => r.toLowerCase() === repo.toLowerCase())),
  );
  if (!inst) throw notFound();
  return installationBody(ctx, app, inst);
}

export const metaRoutes: Routes = {
  'GET /user': (ctx) => {
    if (ctx.actor.kind === 'token') return json(200, privateUser(ctx.baseUrl, ctx.actor.login));
    if (ctx.actor.kind === 'none') throw new HttpError(401, 'Requires authentication');
    throw new HttpError(403, 'Resource not accessible by integration');
  },

  'GET /app': (ctx) => {
    const app = requireJwt(ctx);
    return json(200, {
      id: app.appId,
      slug: app.slug,
      node_id: nodeId('Integration', app.appId),
      client_id: `Iv1.${app.appId}`,
      owner: simpleUser(ctx.baseUrl, app.installations[0]?.owner ?? 'alloy-sysext'),
      name: app.slug,
      description: null,
      external_url: `${ctx.baseUrl}/apps/${app.slug}`,
      html_url: `${ctx.baseUrl}/apps/${app.slug}`,
      created_at: app.createdAt,
      updated_at: app.createdAt,
      permissions: PERMISSIONS,
      events: [],
      installations_count: app.installations.length,
    });
  },

  'GET /app/installations': (ctx) => {
    const app = requireJwt(ctx);
    return paginate(
      ctx,
      app.installations.map((i) => installationBody(ctx, app, i)),
    );
  },

  'GET /app/installations/{installation_id}': (ctx) => {
    const app = requireJwt(ctx);
    const i = app.installations.find((x) => x.id === Number(ctx.params['installation_id']));
    if (!i) throw notFound();
    return json(200, installationBody(ctx, app, i));
  },

  'GET /repos/{owner}/{repo}/installation': (ctx) => json(200, installationFor(ctx, ctx.params['owner']!, ctx.params['repo'])),
  'GET /orgs/{org}/installation': (ctx) => json(200, installationFor(ctx, ctx.params['org']!)),
  'GET /users/{username}/installation': (ctx) => json(200, installationFor(ctx, ctx.params['username']!)),

  'POST /app/installations/{installation_id}/access_tokens': (ctx) => {
    const app = requireJwt(ctx);
    const inst = app.installations.find((x) => x.id === Number(ctx.params['installation_id']));
    if (!inst) throw notFound();
    // Asking for a subset of repositories narrows the token, as on GitHub.
    const wanted = bodyObject(ctx)['repositories'] as string[] | undefined;
    if (wanted && inst.repos && wanted.some((w) => !inst.repos!.some((r) => r.toLowerCase() === w.toLowerCase()))) {
      throw new HttpError(422, 'There is at least one repository that does not exist or is not accessible to the parent installation.');
    }
    const scoped = wanted ? { ...inst, repos: wanted } : inst;
    const { token, expiresAt } = ctx.auth.mintInstallationToken(app, scoped);
    return json(201, {
      token,
      expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      permissions: permissionsOf(scoped),
      repository_selection: scoped.repos ? 'selected' : 'all',
    });
  },

  'GET /installation/repositories': (ctx) => {
    if (ctx.actor.kind !== 'installation') throw new HttpError(403, 'This endpoint requires an installation access token');
    const inst = ctx.actor.installation;
    const repos = [...ctx.state.repos.values()].filter(
      (r) =>
        r.owner.toLowerCase() === inst.owner.toLowerCase() &&
        (!inst.repos || inst.repos.some((n) => n.toLowerCase() === r.name.toLowerCase())),
    );
    return json(200, {
      total_count: repos.length,
      repository_selection: inst.repos ? 'selected' : 'all',
      repositories: repos.map((r) => repository(ctx.baseUrl, r, true)),
    });
  },

  'GET /rate_limit': () => {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    const core = { limit: 5000, used: 0, remaining: 5000, reset };
    return json(200, { resources: { core, search: { limit: 30, used: 0, remaining: 30, reset }, graphql: core }, rate: core });
  },
};
