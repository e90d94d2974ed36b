// Reading a repository's releases (an upstream project's, through GitHub's API or a compatible host): the release of a
// tag, or every release. Through the one client, so deadlines, retries and rate limits behave as everywhere else.
import { authKind, createGitHubClient, type GitHubClient, type RetryOptions, type ThrottleOptions } from './client.js';
import { parseRepo } from './auth.js';
import { explainGitHubError, GitHubError, noAnswer } from './errors.js';
import { githubTokenFor } from './token.js';

export interface ReleaseAsset {
  name: string;
  size: number;
  /** `sha256:<hex>` as GitHub computed it on upload; absent or null for assets it has no digest for. */
  digest?: string | null;
  browser_download_url: string;
}

export interface Release {
  tag_name: string;
  prerelease: boolean;
  draft: boolean;
  assets: ReleaseAsset[];
  html_url?: string;
  body?: string | null;
}

/** Upstream release reads give up an attempt after 30 s without an answer (README, "Deadlines"). */
export const RELEASE_TIMEOUT_MS = 30_000;
const MAX_PAGES = 50;

/**
 * A client for reading `repo`'s releases at `apiUrl`. The token goes only where the token rule allows
 * (`githubTokenFor`); reads are anonymous otherwise, which public releases allow at a lower rate limit.
 */
export function releaseClient(opts: {
  apiUrl: string;
  repo: string;
  token?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  retry?: RetryOptions;
  throttle?: ThrottleOptions;
  timeoutMs?: number;
}): Promise<GitHubClient> {
  const token = githubTokenFor(opts.apiUrl, opts.token, opts.env);
  return createGitHubClient({
    auth: token ? { token } : {},
    repo: opts.repo,
    baseUrl: opts.apiUrl,
    log: opts.log,
    retry: opts.retry,
    throttle: opts.throttle,
    timeoutMs: opts.timeoutMs ?? RELEASE_TIMEOUT_MS,
  });
}

/** The release tagged `tag`; a missing release or one without an assets list is an error naming it. */
export async function getReleaseByTag(client: GitHubClient, repo: string, tag: string): Promise<Release> {
  const { owner, repo: name } = parseRepo(repo);
  const url = `${client.request.endpoint.DEFAULTS.baseUrl}/repos/${repo}/releases/tags/${encodeURIComponent(tag)}`;
  let release: Release;
  try {
    release = (await client.rest.repos.getReleaseByTag({ owner, repo: name, tag })).data as Release;
  } catch (error) {
    if ((error as { status?: number }).status === 404 && !noAnswer(error)) {
      throw new GitHubError(`release ${tag} not found in ${repo} (GET ${url} → 404): check the version exists upstream`, 404, {
        cause: error,
      });
    }
    throw explainRead(error, `GET ${url}`, client, repo);
  }
  if (!Array.isArray(release?.assets)) throw new GitHubError(`GET ${url}: the answer has no assets array`);
  return release;
}

/** Every release of `repo`, newest first as GitHub lists them (at most 50 pages of 100). */
export async function listReleases(client: GitHubClient, repo: string): Promise<Release[]> {
  const { owner, repo: name } = parseRepo(repo);
  const releases: Release[] = [];
  let pages = 0;
  try {
    for await (const page of client.paginate.iterator(client.rest.repos.listReleases, { owner, repo: name, per_page: 100 })) {
      if (!Array.isArray(page.data)) throw new GitHubError(`listing releases of ${repo}: expected a JSON array`);
      releases.push(...(page.data as Release[]));
      if (++pages >= MAX_PAGES) break;
    }
  } catch (error) {
    throw explainRead(error, `listing releases of ${repo}`, client, repo);
  }
  return releases;
}

/** A failed read: no answer is named as such; 403/429 as the rate limit a token raises; anything else by its status. */
function explainRead(error: unknown, what: string, client: GitHubClient, repo: string): Error {
  if (error instanceof GitHubError) return error;
  const status = (error as { status?: number }).status;
  const baseUrl = client.request.endpoint.DEFAULTS.baseUrl;
  if (!noAnswer(error) && (status === 403 || status === 429)) {
    const anonymous = authKind(client) === 'none';
    return new GitHubError(
      `${what}: HTTP ${status} (rate limited? ${anonymous ? 'set GITHUB_TOKEN to raise the limit' : 'the token may lack read access'})`,
      status,
      { cause: error },
    );
  }
  if (!noAnswer(error) && status === 404) {
    return new GitHubError(`${what}: HTTP 404 (is "${repo}" right?)`, 404, { cause: error });
  }
  return explainGitHubError(error, what, { kind: authKind(client), repo, baseUrl, setting: "the recipe's upstream.apiUrl" });
}
