// Octokit with the retry and throttling plugins, authenticated as a GitHub App installation (resolved for the
// repository) or with a token; and errors that say what to check.
import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { createAppAuth } from '@octokit/auth-app';
import { describeNetworkError, networkErrorCode } from '@alloy-sysext/common';

/** Octokit (rest endpoint methods + paginate) with the retry and throttling plugins applied. */
export const GitHubOctokit: typeof Octokit = Octokit.plugin(retry, throttling) as unknown as typeof Octokit;
export type GitHubClient = Octokit;

export interface GitHubAuth {
  app?: { id: number | string; privateKey: string };
  token?: string;
}

export interface RetryOptions {
  enabled?: boolean;
  retries?: number;
  /** milliseconds per retry step (plugin default 1000) */
  retryAfterBaseValue?: number;
  doNotRetry?: number[];
}

export interface ThrottleOptions {
  enabled?: boolean;
  /** how many times a rate-limited request is retried after waiting (default 3) */
  maxRetries?: number;
  /** milliseconds per second GitHub asks to wait (plugin default 1000; tests make it small) */
  retryAfterBaseValue?: number;
  fallbackSecondaryRateRetryAfter?: number;
}

export interface CreateGitHubClientOptions {
  auth: GitHubAuth;
  /** owner/name: the App installation is resolved for this repository */
  repo: string;
  /** API base URL, default https://api.github.com */
  baseUrl?: string;
  retry?: RetryOptions;
  throttle?: ThrottleOptions;
  log?: (line: string) => void;
  userAgent?: string;
  /** Deadline per GitHub request, headers and body (default 60000 ms); a request past it fails and is retried. */
  timeoutMs?: number;
}

export type AuthKind = 'app' | 'token' | 'none';

interface ClientInfo {
  kind: AuthKind;
  appId?: string;
  /** login commits and PRs made by this client show, e.g. my-app[bot]; resolved lazily for tokens */
  login?: string;
}
const infos = new WeakMap<object, ClientInfo>();

export class GitHubError extends Error {
  readonly status?: number;
  /** 'network': GitHub was never reached (DNS, refused, no answer in time); no credential or permission is at fault. */
  readonly kind?: 'network';
  constructor(message: string, status?: number, options?: { cause?: unknown; kind?: 'network' }) {
    super(message, options);
    this.name = 'GitHubError';
    this.status = status;
    this.kind = options?.kind;
  }
}

export function parseRepo(repo: string): { owner: string; repo: string } {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)\/([A-Za-z0-9._-]+)$/.exec(repo);
  if (!m || m[2] === '.' || m[2] === '..') throw new GitHubError(`repo ${JSON.stringify(repo)} is not "owner/name"`);
  return { owner: m[1]!, repo: m[2]! };
}

/** Accept a PEM, a PEM with literal "\n" (as often stored in env vars), or base64 of a PEM. Never echoes the key. */
export function normalizePrivateKey(key: string, label = 'GitHub App private key'): string {
  let k = key.trim();
  if (!k) throw new GitHubError(`${label} is empty (is the environment variable set?)`);
  if (!k.includes('-----BEGIN')) {
    const decoded = Buffer.from(k, 'base64').toString('utf8');
    if (decoded.includes('-----BEGIN')) k = decoded.trim();
    else throw new GitHubError(`${label} is neither a PEM ("-----BEGIN … PRIVATE KEY-----") nor base64 of one`);
  }
  if (k.includes('\\n')) k = k.replace(/\\n/g, '\n');
  return k + '\n';
}

/**
 * fetch() with a deadline over headers and body: Octokit sets none (a GitHub that accepts and never answers would hang
 * the step), and it reads a body that breaks off as an empty one, so the body is read here, within the deadline.
 */
export function fetchWithDeadline(ms: number): typeof fetch {
  return async (input, init) => {
    const deadline = AbortSignal.timeout(ms);
    try {
      const res = await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
      const body = res.body ? await res.arrayBuffer() : null;
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (err) {
      if (!deadline.aborted) throw err;
      const url = input instanceof Request ? input.url : String(input);
      throw new Error(`${init?.method ?? 'GET'} ${url}: no answer within ${ms} ms`, { cause: err });
    }
  };
}

function pluginOptions(opts: CreateGitHubClientOptions) {
  const log = opts.log ?? (() => {});
  const maxRetries = opts.throttle?.maxRetries ?? 3;
  const { maxRetries: _m, ...throttle } = opts.throttle ?? {};
  return {
    baseUrl: (opts.baseUrl ?? 'https://api.github.com').replace(/\/+$/, ''),
    userAgent: opts.userAgent ?? 'alloy-sysext',
    request: { fetch: fetchWithDeadline(opts.timeoutMs ?? 60_000) },
    retry: { ...opts.retry },
    throttle: {
      ...throttle,
      onRateLimit: (retryAfter: number, options: { method: string; url: string }, _o: unknown, retryCount: number) => {
        log(`GitHub rate limit hit on ${options.method} ${options.url}; waiting ${retryAfter}s (retry ${retryCount + 1}/${maxRetries})`);
        return retryCount < maxRetries;
      },
      onSecondaryRateLimit: (retryAfter: number, options: { method: string; url: string }, _o: unknown, retryCount: number) => {
        log(
          `GitHub secondary rate limit hit on ${options.method} ${options.url}; waiting ${retryAfter}s (retry ${retryCount + 1}/${maxRetries})`,
        );
        return retryCount < maxRetries;
      },
    },
    log: { debug: () => {}, info: () => {}, warn: (m: string) => log(`GitHub: ${m}`), error: () => {} },
  };
}

/**
 * An Octokit (rest + retry + throttling). With `auth.app`, the App's installation on `repo` is looked up with the
 * App JWT and the client then uses installation tokens (minted and refreshed by @octokit/auth-app). With
 * `auth.token`, the token is used as is. With neither, requests are anonymous (public reads only).
 */
export async function createGitHubClient(opts: CreateGitHubClientOptions): Promise<GitHubClient> {
  const { owner, repo } = parseRepo(opts.repo);
  const base = pluginOptions(opts);
  if (opts.auth.app) {
    const appId = String(opts.auth.app.id).trim();
    if (!/^[0-9]+$/.test(appId)) throw new GitHubError(`GitHub App id ${JSON.stringify(appId)} is not a number`);
    const privateKey = normalizePrivateKey(opts.auth.app.privateKey, `GitHub App ${appId} private key`);
    const asApp = new GitHubOctokit({ ...base, authStrategy: createAppAuth, auth: { appId, privateKey } });
    let installation: { id: number; app_slug?: string };
    try {
      installation = (await asApp.request('GET /repos/{owner}/{repo}/installation', { owner, repo })).data;
    } catch (e) {
      throw explainGitHubError(e, `looking up GitHub App ${appId}'s installation on ${owner}/${repo}`, {
        kind: 'app',
        appId,
        repo: `${owner}/${repo}`,
      });
    }
    const client = new GitHubOctokit({
      ...base,
      authStrategy: createAppAuth,
      auth: { appId, privateKey, installationId: installation.id },
    });
    infos.set(client, { kind: 'app', appId, login: installation.app_slug ? `${installation.app_slug}[bot]` : undefined });
    return client;
  }
  if (opts.auth.token) {
    const client = new GitHubOctokit({ ...base, auth: opts.auth.token.trim() });
    infos.set(client, { kind: 'token' });
    return client;
  }
  const client = new GitHubOctokit(base);
  infos.set(client, { kind: 'none' });
  return client;
}

export function authKind(client: GitHubClient): AuthKind {
  return infos.get(client)?.kind ?? 'token';
}

/** The login this client's commits and pull requests show (App: `<slug>[bot]`; token: the user). */
export async function clientLogin(client: GitHubClient): Promise<string | undefined> {
  const info = infos.get(client) ?? { kind: 'token' as const };
  if (info.login || info.kind === 'none') return info.login;
  try {
    if (info.kind === 'app') {
      const { token } = (await client.auth({ type: 'app' })) as { token: string };
      const { data } = await client.request('GET /app', { headers: { authorization: `bearer ${token}` } });
      info.login = data?.slug ? `${data.slug}[bot]` : undefined;
    } else {
      info.login = (await client.request('GET /user')).data.login;
    }
  } catch {
    info.login = undefined;
  }
  infos.set(client, info);
  return info.login;
}

/** Turn an Octokit error into one that says what to check. Never includes credentials. */
export function explainGitHubError(
  e: unknown,
  what: string,
  ctx: { kind?: AuthKind; appId?: string; repo: string; notFound?: string },
): Error {
  const err = e as {
    status?: number;
    message?: string;
    request?: { url?: string };
    response?: { data?: { message?: string; errors?: unknown } };
  };
  if (e instanceof GitHubError || typeof err?.status !== 'number') {
    return e instanceof Error ? e : new GitHubError(`${what}: ${String(e)}`);
  }
  // Octokit reports a request that got no answer (DNS, refused, our deadline) as a status 500 without a response
  const net = networkErrorCode(e);
  if (net || !err.response) {
    const where = err.request?.url ? new URL(err.request.url).origin : 'GitHub';
    return new GitHubError(
      `${what}: cannot reach ${where} (${net ? describeNetworkError(net) : err.message}): a network failure, ` +
        `not an answer from GitHub; check the network (or ALLOY_GITHUB_API_URL)`,
      undefined,
      { cause: e, kind: 'network' },
    );
  }
  const gh = err.response?.data?.message ?? err.message ?? '';
  const app = ctx.kind === 'app';
  const who = app ? `GitHub App ${ctx.appId}` : ctx.kind === 'none' ? 'an anonymous client (no credentials given)' : 'the token';
  let hint: string;
  switch (err.status) {
    case 401:
      hint = app
        ? `GitHub rejected the App credentials: check the App id (${ctx.appId}) and that the private key is a current key of that App`
        : ctx.kind === 'none'
          ? 'GitHub requires credentials: give a GitHub App (id + private key) or a token'
          : 'GitHub rejected the token: is it expired or revoked?';
      break;
    case 403:
      hint = /rate limit/i.test(gh)
        ? 'rate limited by GitHub and the retries ran out; try again later'
        : app
          ? `${who} may not do this on ${ctx.repo}: check the installation's repository access and permissions contents: write, pull requests: write and issues: write (for labels, assignees and comments)`
          : `the token may not do this on ${ctx.repo}: it needs contents: write and pull requests: write (classic: repo scope), and branch protection must allow the push`;
      break;
    case 404:
      hint =
        (ctx.notFound ? `${ctx.notFound}, or ` : '') +
        (app
          ? `${who} is not installed on ${ctx.repo} (or the installation does not include that repository)`
          : `${ctx.repo} does not exist or is not visible to ${who}`);
      break;
    case 409:
      hint = `conflict on ${ctx.repo} (is the repository empty or the ref being updated concurrently?)`;
      break;
    case 422: {
      const details = err.response?.data?.errors ? ` ${JSON.stringify(err.response.data.errors)}` : '';
      hint = `GitHub refused the request as invalid${details}`;
      break;
    }
    default:
      hint = `GitHub answered ${err.status}`;
  }
  return new GitHubError(`${what}: ${hint} (HTTP ${err.status}${gh ? `: ${gh}` : ''})`, err.status, { cause: e });
}
