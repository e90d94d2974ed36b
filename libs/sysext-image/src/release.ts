// The one reader of upstream releases (GitHub's releases API or a compatible host): one release by tag, or every
// release page by page. Every request has a deadline and transient failures are retried.
import { DEFAULT_STALL_TIMEOUT_MS, TransientError, stallDeadline, withRetries, type RetryOptions } from './retry.js';

export interface ReleaseAsset {
  name: string;
  size: number;
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

export interface ReleaseSource {
  apiUrl: string;
  /** owner/name */
  repo: string;
  /** Sent only as the caller decides (see `githubTokenFor` in @alloy-sysext/common). */
  token?: string;
  retry?: RetryOptions;
  log?: (line: string) => void;
}

const MAX_PAGES = 50;

/** The release tagged `v<version>`. */
export async function getRelease(opts: ReleaseSource & { version: string }): Promise<Release> {
  const url = `${base(opts)}/repos/${opts.repo}/releases/tags/v${encodeURIComponent(opts.version)}`;
  const { status, body } = await getJson(opts, url);
  if (status === 404)
    throw new Error(`release v${opts.version} not found in ${opts.repo} (GET ${url} → 404): check the version exists upstream`);
  if (status !== 200) throw new Error(`GET ${url} → HTTP ${status}: expected 200 with the release`);
  if (!Array.isArray((body as Release).assets)) throw new Error(`GET ${url}: response has no assets array`);
  return body as Release;
}

/** Every release of the repository, following the Link header's `next` pages (at most 50 pages of 100). */
export async function listReleases(opts: ReleaseSource): Promise<Release[]> {
  let url: string | undefined = `${base(opts)}/repos/${opts.repo}/releases?per_page=100`;
  const releases: Release[] = [];
  for (let page = 0; url && page < MAX_PAGES; page++) {
    const { status, body, link }: { status: number; body: unknown; link: string | null } = await getJson(opts, url);
    if (status !== 200) {
      const hint =
        status === 403 || status === 429 ? ' (rate limited? set GITHUB_TOKEN)' : status === 404 ? ` (is "${opts.repo}" right?)` : '';
      throw new Error(`listing releases of ${opts.repo} at ${base(opts)}: HTTP ${status}${hint}`);
    }
    if (!Array.isArray(body)) throw new Error(`listing releases of ${opts.repo} at ${base(opts)}: expected a JSON array`);
    releases.push(...(body as Release[]));
    url = nextLink(link);
  }
  return releases;
}

function base(opts: ReleaseSource): string {
  if (!/^[\w.-]+\/[\w.-]+$/.test(opts.repo)) throw new Error(`upstream repo "${opts.repo}" is not owner/name`);
  return opts.apiUrl.replace(/\/+$/, '');
}

async function getJson(opts: ReleaseSource, url: string): Promise<{ status: number; body: unknown; link: string | null }> {
  return withRetries(`GET ${url}`, opts.retry ?? {}, opts.log, async () => {
    // The answer is a small JSON document: the deadline covers the whole request, headers and body.
    const deadline = stallDeadline(`GET ${url}`, opts.retry?.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS);
    try {
      const res = await fetch(url, {
        signal: deadline.signal,
        headers: {
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
          'user-agent': 'alloy-sysext',
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
      });
      if (res.status >= 500 || res.status === 429) throw new TransientError(`HTTP ${res.status}`);
      return { status: res.status, body: res.ok ? await res.json() : undefined, link: res.headers.get('link') };
    } finally {
      deadline.clear();
    }
  });
}

function nextLink(header: string | null): string | undefined {
  return header
    ?.split(',')
    .map((part) => /<([^>]+)>\s*;\s*rel="next"/.exec(part)?.[1])
    .find(Boolean);
}
