// GitHub through one door: the configured client (retry, throttling, a deadline on every request), the errors that
// say what to check, the token rule, and the release reads. Consumer PRs, the mirror, the release bot and the upstream
// release lookups all use it.
export { parseRepo, normalizePrivateKey } from './auth.js';
export {
  authKind,
  clientLogin,
  createGitHubClient,
  fetchWithDeadline,
  GitHubOctokit,
  type CreateGitHubClientOptions,
  type GitHubAuth,
  type GitHubClient,
  type RetryOptions,
  type ThrottleOptions,
} from './client.js';
export { explainGitHubError, GitHubError, noAnswer, type AuthKind } from './errors.js';
export { getReleaseByTag, listReleases, releaseClient, RELEASE_TIMEOUT_MS, type Release, type ReleaseAsset } from './releases.js';
export { githubTokenFor } from './token.js';
