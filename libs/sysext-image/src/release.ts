import { TransientError, withRetries, type RetryOptions } from './retry.js';

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
}

/** The release tagged `v<version>` from a GitHub-compatible releases API. */
export async function getRelease(opts: {
  apiUrl: string;
  repo: string;
  version: string;
  token?: string;
  retry?: RetryOptions;
  log?: (line: string) => void;
}): Promise<Release> {
  if (!/^[\w.-]+\/[\w.-]+$/.test(opts.repo)) throw new Error(`upstream repo "${opts.repo}" is not owner/name`);
  const url = `${opts.apiUrl.replace(/\/+$/, '')}/repos/${opts.repo}/releases/tags/v${encodeURIComponent(opts.version)}`;
  return withRetries(`GET ${url}`, opts.retry ?? {}, opts.log, async () => {
    const res = await fetch(url, {
      headers: {
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      },
      // a release API that accepts and never answers must not hang the run
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status >= 500 || res.status === 429) throw new TransientError(`HTTP ${res.status}`);
    if (res.status === 404) {
      throw new Error(`release v${opts.version} not found in ${opts.repo} (GET ${url} → 404): check the version exists upstream`);
    }
    if (!res.ok) throw new Error(`GET ${url} → HTTP ${res.status}: expected 200 with the release`);
    const body = (await res.json()) as Release;
    if (!Array.isArray(body.assets)) throw new Error(`GET ${url}: response has no assets array`);
    return body;
  });
}
