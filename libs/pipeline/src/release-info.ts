// The upstream release's page and notes for PR bodies; best effort: a PR is still useful without notes.
import { getReleaseByTag, releaseClient } from '@alloy-sysext/github';

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
    const client = await releaseClient({ ...opts, retry: { retries: 1 }, timeoutMs: 15_000 });
    const release = await getReleaseByTag(client, opts.repo, `v${opts.version}`);
    return { url: release.html_url || fallback.url, notes: release.body || undefined };
  } catch (error) {
    opts.log(`release notes for v${opts.version} unavailable (${(error as Error).message}); linking ${fallback.url}`);
    return fallback;
  }
}
