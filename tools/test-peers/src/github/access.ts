// Who may read or write a repository: mirrors GitHub's answers (404 hides what a credential may not see,
// 401 for anonymous writes, 403 for read-only credentials).
import { HttpError, notFound, type Ctx } from './http.js';
import type { RepoRec } from './state.js';

export function repoFor(ctx: Ctx, access: 'read' | 'write'): RepoRec {
  const owner = ctx.params['owner'] ?? '';
  const name = ctx.params['repo'] ?? '';
  const repo = ctx.state.repo(owner, name);
  const a = ctx.actor;
  if (a.kind === 'app-jwt')
    throw new HttpError(401, 'A JSON web token cannot be used to access this endpoint; use an installation access token');
  if (a.kind === 'installation') {
    // An installation token only sees its own account's repositories (and only the selected ones, if any).
    const inScope =
      a.installation.owner.toLowerCase() === owner.toLowerCase() &&
      (!a.installation.repos || a.installation.repos.some((r) => r.toLowerCase() === name.toLowerCase()));
    if (!inScope) throw notFound();
    const perm = permissionFor(ctx.template);
    // Every installation may read metadata; other permissions are only what was granted.
    const level = a.installation.permissions ? (a.installation.permissions[perm] ?? (perm === 'metadata' ? 'read' : undefined)) : 'write';
    if (!level || (access === 'write' && level !== 'write')) throw new HttpError(403, 'Resource not accessible by integration');
  }
  if (!repo) throw notFound();
  if (a.kind === 'none') {
    if (repo.private) throw notFound();
    if (access === 'write') throw new HttpError(401, 'Requires authentication');
  }
  if (a.kind === 'token' && a.readOnly && access === 'write') throw new HttpError(403, 'Resource not accessible by personal access token');
  return repo;
}

/** The App permission GitHub checks for a route (the subset the double serves). */
export function permissionFor(template: string): string {
  if (/\/pulls(\/|$)/.test(template)) return 'pull_requests';
  if (/\/(issues|labels)(\/|$)/.test(template)) return 'issues';
  if (/^\/repos\/\{owner\}\/\{repo\}$/.test(template)) return 'metadata';
  return 'contents';
}

export function canAdmin(ctx: Ctx): boolean {
  return ctx.actor.kind === 'installation' || (ctx.actor.kind === 'token' && !ctx.actor.readOnly);
}

export function actingLogin(ctx: Ctx): string {
  const a = ctx.actor;
  if (a.kind === 'token' || a.kind === 'installation') return a.login;
  throw new HttpError(401, 'Requires authentication');
}
