// The one GitHub client: Octokit with the retry and throttling plugins and a deadline on every request, authenticated
// as a GitHub App installation (resolved for the repository), with a token, or anonymously.
import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { createAppAuth } from '@octokit/auth-app';
import { normalizePrivateKey, parseRepo } from './auth.js';
import { explainGitHubError, GitHubError, type AuthKind } from './errors.js';

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

interface ClientInfo {
  kind: AuthKind;
  appId?: string;
  /** login commits and PRs made by this client show, e.g. my-app[bot]; resolved lazily for tokens */
  login?: string;
}
const infos = new WeakMap<object, ClientInfo>();

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
  const waiting = (kind: string) => (retryAfter: number, o: { method: string; url: string }, _k: unknown, retryCount: number) => {
    log(`GitHub ${kind} hit on ${o.method} ${o.url}; waiting ${retryAfter}s (retry ${retryCount + 1}/${maxRetries})`);
    return retryCount < maxRetries;
  };
  return {
    baseUrl: (opts.baseUrl ?? 'https://api.github.com').replace(/\/+$/, ''),
    userAgent: opts.userAgent ?? 'alloy-sysext',
    request: { fetch: fetchWithDeadline(opts.timeoutMs ?? 60_000) },
    retry: { ...opts.retry },
    throttle: { ...throttle, onRateLimit: waiting('rate limit'), onSecondaryRateLimit: waiting('secondary rate limit') },
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
        baseUrl: base.baseUrl,
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
