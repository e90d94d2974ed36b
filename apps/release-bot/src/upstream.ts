// The upstream project's releases (GitHub releases API) and the newest stable one.
import semver from 'semver';
import { githubTokenFor, listReleases, releaseClient, type RetryOptions, type ThrottleOptions } from '@alloy-sysext/github';

export interface UpstreamRelease {
  version: string;
  tag: string;
  url: string;
  draft: boolean;
  prerelease: boolean;
}

/** Every release of `repo` whose tag is a version (`v1.2.3` or `1.2.3`), through the one upstream release reader. */
export async function listUpstreamReleases(opts: {
  apiUrl: string;
  repo: string;
  token?: string;
  env?: NodeJS.ProcessEnv;
  /** Octokit plugin options (tests: throttling off, short retry delays); one retry by default. */
  octokit?: { retry?: RetryOptions; throttle?: ThrottleOptions };
}): Promise<UpstreamRelease[]> {
  const releases: UpstreamRelease[] = [];
  const all = await releaseClient({ ...opts, retry: { retries: 1, ...opts.octokit?.retry }, throttle: opts.octokit?.throttle })
    .then((client) => listReleases(client, opts.repo))
    .catch((error: Error) => {
      throw new Error(`cannot list releases of ${opts.repo} at ${opts.apiUrl.replace(/\/+$/, '')}: ${error.message}`, { cause: error });
    });
  for (const r of all) {
    const version = typeof r.tag_name === 'string' ? semver.valid(r.tag_name.replace(/^v/, '')) : null;
    if (!version || semver.parse(version)!.build.length) continue;
    releases.push({
      version,
      tag: r.tag_name,
      url: r.html_url ?? `https://github.com/${opts.repo}/releases/tag/${r.tag_name}`,
      draft: Boolean(r.draft),
      prerelease: Boolean(r.prerelease),
    });
  }
  return releases;
}

/**
 * The semver-greatest release that is neither a draft nor marked prerelease nor a semver prerelease (1.11.0-rc.1),
 * whatever order the API lists them in.
 */
export function latestStable(releases: readonly UpstreamRelease[]): UpstreamRelease | undefined {
  return releases
    .filter((r) => !r.draft && !r.prerelease && semver.prerelease(r.version) === null)
    .reduce<UpstreamRelease | undefined>((best, r) => (!best || semver.gt(r.version, best.version) ? r : best), undefined);
}

/** The token for upstream API reads (avoids the anonymous rate limit), sent only where the one token rule allows. */
export function upstreamToken(env: NodeJS.ProcessEnv, apiUrl: string): string | undefined {
  return githubTokenFor(apiUrl, env.GITHUB_TOKEN || env.ALLOY_GITHUB_TOKEN || undefined, env);
}
