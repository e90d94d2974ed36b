// The upstream project's releases (GitHub releases API) and the newest stable one.
import semver from 'semver';

export interface UpstreamRelease {
  version: string;
  tag: string;
  url: string;
  draft: boolean;
  prerelease: boolean;
}

const MAX_PAGES = 50;

/** Every release of `repo` whose tag is a version (`v1.2.3` or `1.2.3`), following the Link header's `next` pages. */
export async function listUpstreamReleases(opts: { apiUrl: string; repo: string; token?: string }): Promise<UpstreamRelease[]> {
  const base = opts.apiUrl.replace(/\/+$/, '');
  let url: string | undefined = `${base}/repos/${opts.repo}/releases?per_page=100`;
  const releases: UpstreamRelease[] = [];
  for (let page = 0; url && page < MAX_PAGES; page++) {
    let res: Response;
    try {
      res = await fetch(url, {
        headers: {
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
          'user-agent': 'alloy-sysext-release-bot',
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new Error(`cannot list releases of ${opts.repo} at ${base}: ${(error as Error).message}`);
    }
    if (!res.ok) {
      const hint = res.status === 403 || res.status === 429 ? ' (rate limited? set GITHUB_TOKEN)' : res.status === 404 ? ` (is "${opts.repo}" right?)` : '';
      throw new Error(`listing releases of ${opts.repo} at ${base}: HTTP ${res.status}${hint}`);
    }
    const body = (await res.json()) as unknown;
    if (!Array.isArray(body)) throw new Error(`listing releases of ${opts.repo} at ${base}: expected a JSON array`);
    for (const r of body as Array<{ tag_name?: string; html_url?: string; draft?: boolean; prerelease?: boolean }>) {
      const version = typeof r.tag_name === 'string' ? semver.valid(r.tag_name.replace(/^v/, '')) : null;
      if (!version || semver.parse(version)!.build.length) continue;
      releases.push({
        version,
        tag: r.tag_name!,
        url: r.html_url ?? `https://github.com/${opts.repo}/releases/tag/${r.tag_name}`,
        draft: Boolean(r.draft),
        prerelease: Boolean(r.prerelease),
      });
    }
    url = nextLink(res.headers.get('link'));
  }
  return releases;
}

function nextLink(header: string | null): string | undefined {
  return header?.split(',').map((part) => /<([^>]+)>\s*;\s*rel="next"/.exec(part)?.[1]).find(Boolean);
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

/**
 * The token for upstream API reads (avoids the anonymous rate limit), sent only to GitHub's API (or the configured
 * ALLOY_GITHUB_API_URL): a mirror set through ALLOY_UPSTREAM_API_URL never receives it.
 */
export function upstreamToken(env: NodeJS.ProcessEnv, apiUrl: string): string | undefined {
  const token = env.GITHUB_TOKEN || env.ALLOY_GITHUB_TOKEN || undefined;
  const origin = (url: string) => {
    try {
      return new URL(url).origin;
    } catch {
      return undefined;
    }
  };
  const trusted = new Set([origin('https://api.github.com'), env.ALLOY_GITHUB_API_URL ? origin(env.ALLOY_GITHUB_API_URL) : undefined]);
  return token && trusted.has(origin(apiUrl)) ? token : undefined;
}
