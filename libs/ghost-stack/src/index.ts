// libs/ghost-stack: bump the alloy sysext version and hash in consumer Butane files through verified,
// idempotent pull requests.
//   ButaneUpdater / readPinned — pure located edit of a Butane file or .bu.tftpl template
//   updateConsumer             — the GitHub flow for one consumer (branch, git-data commit, PR, supersede, dry-run)
//   createGitHubClient         — Octokit + retry + throttling, GitHub App installation or token auth
export { ButaneUpdater, ButaneError, readPinned } from './butane.js';
export type { Arch, Pinned, ButaneUpdaterOptions } from './butane.js';
export { KeyEntryUpdater, readKeyEntry } from './butane-key.js';
export type { KeyEntry } from './butane-key.js';
export { updateConsumer } from './consumer.js';
export type { Consumer, ConsumerStatus, UpdateConsumerOptions, UpdateConsumerResult } from './consumer.js';
export {
  createGitHubClient,
  clientLogin,
  explainGitHubError,
  normalizePrivateKey,
  parseRepo,
  GitHubError,
  GitHubOctokit,
} from './github.js';
export type { GitHubAuth, GitHubClient, CreateGitHubClientOptions, RetryOptions, ThrottleOptions, AuthKind } from './github.js';
export { branchName, prTitle, prBody, parseMarker, renderMarker } from './pr-body.js';
export type { Marker } from './pr-body.js';
export { readRepoFile, readRepoFileBytes, MAX_CONSUMER_FILE_BYTES } from './read-file.js';
