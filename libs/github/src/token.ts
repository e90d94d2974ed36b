// The one rule for where a GitHub token may go: GitHub's API, or the GitHub API this deployment configured
// (ALLOY_GITHUB_API_URL, e.g. GitHub Enterprise or the test double). A mirror or release host elsewhere never gets it.
const GITHUB_API = 'https://api.github.com';

function origin(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** `token` when `apiUrl` is GitHub's API (or the configured one), otherwise undefined. */
export function githubTokenFor(apiUrl: string, token: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!token) return undefined;
  const trusted = new Set([origin(GITHUB_API), origin(env.ALLOY_GITHUB_API_URL)]);
  return trusted.has(origin(apiUrl)) ? token : undefined;
}
