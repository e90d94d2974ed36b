// What the pull-request flow is given: an edit of a consumer's Butane file (bump a version, add or remove a release
// key). The edit owns everything that differs between them — how the file changes, how its pull request reads, its
// branch and marker, and how it relates to this bot's other open pull requests; the flow owns the GitHub machinery.
import type { Consumer } from './consumer.js';
import type { Marker } from './pr-body.js';

/** What an edit makes of the file on the base branch: nothing to do, or the new file and its pull request. */
export type EditDecision<S> =
  | { kind: 'up-to-date'; state: S; reason: string }
  | { kind: 'change'; state: S; text: string; title: string; body: string; commitMessage: string };

/** How another open pull request of this edit's family stands to this edit. */
export type Relation = 'same' | 'newer' | 'older' | 'unrelated';

export interface ConsumerEdit<S = unknown> {
  /** What the edit proposes, as its pull request's hidden marker records it (without the consumer). */
  readonly marker: Marker;
  /** The branch of this edit's pull request. */
  readonly branch: string;
  /** The branch prefix of this edit's family: the pull requests that may supersede or yield to each other. */
  readonly family: string;
  /** This edit for logs and comments, e.g. "1.11.0 (sha256 …)". */
  readonly subject: string;
  /** What another marker of the family proposes, for logs, e.g. "alloy 1.12.0". */
  describe(other: Marker): string;
  /** Reads the file on the base branch and decides (pure: no I/O besides what the edit computes). */
  decide(text: string, at: { consumer: Consumer; label: string; log: (line: string) => void }): Promise<EditDecision<S>>;
  /** `other` is a marker of this family; 'same' when it proposes exactly this edit. */
  relation(other: Marker): Relation;
}
