// GitHub errors that say what to check: one class keeping the status and the original as `cause`, and one translation
// of Octokit's errors, where a request that got no answer (DNS, refused connection, deadline) is never "HTTP 500".

import { describeNetworkError, networkErrorCode } from '@alloy-sysext/common';

export class GitHubError extends Error {
  override name = 'GitHubError';
  readonly status?: number;
  /** 'network': GitHub was never reached (DNS, refused, no answer in time); no credential or permission is at fault. */
  readonly kind?: 'network';
  constructor(message: string, status?: number, options?: { cause?: unknown; kind?: 'network' }) {
    super(message, options);
    this.status = status;
    this.kind = options?.kind;
  }
}

export type AuthKind = 'app' | 'token' | 'none';

interface OctokitFailure {
  status?: number;
  message?: string;
  response?: { data?: { message?: string; errors?: unknown } };
  request?: { url?: string };
}

/**
 * Whether a failed Octokit request got no answer at all. Octokit reports DNS failures, refused connections and our
 * deadline as status 500 without a response; the system error (ENOTFOUND, ECONNREFUSED) is in the cause chain.
 */
export function noAnswer(error: unknown): boolean {
  const e = error as OctokitFailure;
  return typeof e?.status === 'number' && (!e.response || networkErrorCode(error) !== undefined);
}

/** Origin of the URL a failed Octokit request went to, for messages. */
function requestOrigin(error: unknown, fallback: string): string {
  const url = (error as OctokitFailure)?.request?.url;
  try {
    return url ? new URL(url).origin : fallback;
  } catch {
    return fallback;
  }
}

/**
 * Turn an Octokit error into one that says what to check. Never includes credentials. `setting` names where the API
 * URL came from, for a host that cannot be reached (default ALLOY_GITHUB_API_URL).
 */
export function explainGitHubError(
  e: unknown,
  what: string,
  ctx: { kind?: AuthKind; appId?: string; repo: string; notFound?: string; baseUrl?: string; setting?: string },
): Error {
  const err = e as OctokitFailure;
  if (e instanceof GitHubError || typeof err?.status !== 'number') {
    return e instanceof Error ? e : new GitHubError(`${what}: ${String(e)}`);
  }
  if (noAnswer(e)) {
    const net = networkErrorCode(e);
    const where = requestOrigin(e, ctx.baseUrl ?? 'GitHub');
    return new GitHubError(
      `${what}: cannot reach ${where} (${net ? describeNetworkError(net) : err.message}): a network failure, ` +
        `not an answer from GitHub; check the network (or ${ctx.setting ?? 'ALLOY_GITHUB_API_URL'})`,
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
        ? 'rate limited by GitHub and the retries ran out; try again later (a token raises the limit)'
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
