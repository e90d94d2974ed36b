// A consumer (a repository whose Butane file pins an image), and the version bump through the pull-request flow:
// feature/update-<name>-sysext-to-<version>, committed through the git data API, with this bot's older pull requests
// for the same consumer closed. Reruns with the same inputs make no write requests.
import type { Arch, Pinned } from './butane.js';
import { versionBump } from './edits/version-bump.js';
import { runConsumerFlow, type ConsumerFlowResult, type ConsumerStatus } from './flow/run-consumer-flow.js';
import type { GitHubAuth, RetryOptions, ThrottleOptions } from './github.js';

export type { ConsumerStatus };

export interface Consumer {
  name: string;
  /** owner/name */
  repo: string;
  /** path of the Butane file (or .bu.tftpl template) in the repo */
  path: string;
  /** base branch */
  base: string;
  arch: Arch;
  auth: GitHubAuth;
  assignees?: string[];
  /** logins, or org/team-slug for team reviewers */
  reviewers?: string[];
  labels?: string[];
}

export interface UpdateConsumerOptions {
  consumer: Consumer;
  version: string;
  sha256: string;
  /** what the pipeline believes the consumer pinned before; only compared with the file and logged */
  previous?: { version: string; sha256?: string };
  release: { url: string; notes?: string };
  /** URL of this version's image for the consumer's arch (ends in .raw), or the base URL the image file lives under */
  imageUrl: string;
  /** API base URL, default https://api.github.com */
  githubUrl?: string;
  dryRun?: boolean;
  /** where a dry run writes <consumer>.diff and <consumer>.pr.md */
  outDir: string;
  log?: (line: string) => void;
  octokitOptions?: { retry?: RetryOptions; throttle?: ThrottleOptions };
  /** sysext name, default alloy */
  name?: string;
}

export interface UpdateConsumerResult extends Omit<ConsumerFlowResult<Pinned>, 'state'> {
  /** what the base branch pinned */
  pinned?: Pinned;
}

/** Bumps the consumer's pin to `version` and `sha256`: the pull-request flow with the version-bump edit. */
export async function updateConsumer(opts: UpdateConsumerOptions): Promise<UpdateConsumerResult> {
  const { name = 'alloy', version, sha256, imageUrl, release, previous } = opts;
  const edit = versionBump({ name, version, sha256, imageUrl, release, previous });
  const { state, ...result } = await runConsumerFlow({ ...opts, edit });
  return { ...result, ...(state ? { pinned: state } : {}) };
}
