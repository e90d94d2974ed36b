// The upstream release's page and notes for PR bodies; best effort: a PR is still useful without notes.
import { githubTokenFor } from '@alloy-sysext/common';
import { getRelease } from '@alloy-sysext/sysext-image';

export async function releaseInfo(opts: {
  apiUrl: string;
  repo: string;
  version: string;
  token?: string;
  env?: NodeJS.ProcessEnv;
  log: (line: string) => void;
}): Promise<{ url: string; notes?: string }> {
  const fallback = { url: `https://github.com/${opts.repo}/releases/tag/v${opts.version}` };
  try {
    const release = await getRelease({
      apiUrl: opts.apiUrl,
      repo: opts.repo,
      version: opts.version,
      token: githubTokenFor(opts.apiUrl, opts.token, opts.env),
      retry: { attempts: 2, stallTimeoutMs: 15_000 },
    });
    return { url: release.html_url || fallback.url, notes: release.body || undefined };
  } catch (error) {
    opts.log(`release notes for v${opts.version} unavailable (${(error as Error).message}); linking ${fallback.url}`);
    return fallback;
  }
}
