/** The upstream release's page and notes for PR bodies; best effort: a PR is still useful without notes. */
export async function releaseInfo(opts: {
  apiUrl: string;
  repo: string;
  version: string;
  token?: string;
  log: (line: string) => void;
}): Promise<{ url: string; notes?: string }> {
  // The token is GitHub's: never hand it to another host the API URL was pointed at.
  const token = new URL(opts.apiUrl).hostname === 'api.github.com' ? opts.token : undefined;
  const fallback = { url: `https://github.com/${opts.repo}/releases/tag/v${opts.version}` };
  try {
    const res = await fetch(`${opts.apiUrl.replace(/\/+$/, '')}/repos/${opts.repo}/releases/tags/v${opts.version}`, {
      headers: { accept: 'application/vnd.github+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(15000),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const release = (await res.json()) as { html_url?: string; body?: string };
    return { url: release.html_url || fallback.url, notes: release.body || undefined };
  } catch (error) {
    opts.log(`release notes for v${opts.version} unavailable (${(error as Error).message}); linking ${fallback.url}`);
    return fallback;
  }
}
