// Types shared by the router and the resource modules, plus GitHub's error and pagination conventions.
import type { State } from './state.js';
import type { AuthState, Actor } from './auth.js';

export { HttpError, notFound, validationFailed } from './errors.js';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Ctx {
  method: string;
  pathname: string;
  baseUrl: string;
  docsUrl: string;
  /** The OpenAPI path template that matched, e.g. '/repos/{owner}/{repo}/pulls'. */
  template: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: Record<string, unknown> | unknown[] | undefined;
  headers: Record<string, string | string[] | undefined>;
  actor: Actor;
  state: State;
  auth: AuthState;
}

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;
export type Routes = Record<string, Handler>;

export function json(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return { status, body, headers };
}

/** per_page/page slicing with a Link header, so octokit.paginate walks pages as it does on GitHub. */
export function paginate<T>(ctx: Ctx, items: T[]): Reply {
  const perPage = Math.min(Math.max(Number(ctx.query['per_page'] ?? 30) || 30, 1), 100);
  const page = Math.max(Number(ctx.query['page'] ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const link = (p: number, rel: string) => {
    const q = new URLSearchParams({ ...ctx.query, per_page: String(perPage), page: String(p) });
    return `<${ctx.baseUrl}${ctx.pathname}?${q}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
  if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
  return { status: 200, body: slice, headers: links.length ? { link: links.join(', ') } : undefined };
}

export function bodyObject(ctx: Ctx): Record<string, unknown> {
  return (ctx.body && typeof ctx.body === 'object' && !Array.isArray(ctx.body) ? ctx.body : {}) as Record<string, unknown>;
}
