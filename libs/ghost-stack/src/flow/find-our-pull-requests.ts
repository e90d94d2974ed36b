// Step 2: this bot's open pull requests for this consumer in the edit's family, sorted by how they stand to the edit.
import type { ConsumerRepo, PullLike } from '../consumer-repo.js';
import type { ConsumerEdit } from '../edit.js';
import { GitHubError } from '../github.js';
import { parseMarker } from '../pr-body.js';

export interface OurPullRequests {
  /** ours, on this edit's branch: reused */
  current?: PullLike;
  /** ours, proposing something newer than this edit: the edit yields */
  newer?: PullLike;
  /** ours, proposing something older: superseded once this edit's pull request exists */
  older: PullLike[];
}

/** A pull request is ours when its branch is in the family, in the consumer's own repository, with our marker for this
 *  consumer, opened by this client (when the client knows who it is). */
export async function findOurPullRequests(repo: ConsumerRepo, edit: ConsumerEdit): Promise<OurPullRequests> {
  const { full, consumer, tag } = repo;
  const open = await repo.openPulls();
  const me = open.some((p) => p.head.ref.startsWith(edit.family)) ? await repo.login() : undefined;
  const isOurs = (pr: PullLike) => {
    const marker = parseMarker(pr.body);
    return (
      pr.head.ref.startsWith(edit.family) &&
      (pr.head.repo?.full_name ?? full).toLowerCase() === full.toLowerCase() &&
      marker !== undefined &&
      (marker.consumer === undefined || marker.consumer === consumer.name) &&
      (me === undefined || pr.user?.login === me)
    );
  };
  const ours = open.filter(isOurs);
  const current = ours.find((p) => p.head.ref === edit.branch);
  const someoneElses = open.find((p) => p.head.ref === edit.branch && !ours.includes(p));
  if (!current && someoneElses) {
    const other = parseMarker(someoneElses.body)?.consumer;
    throw new GitHubError(
      `${tag} branch ${edit.branch} of ${full} already has pull request #${someoneElses.number} ` +
        (other ? `for consumer "${other}"` : `by ${someoneElses.user?.login ?? 'someone else'}`) +
        '; one branch per proposal per repository: two consumers in the same repository are not supported, and a ' +
        "human's pull request on this branch is left alone",
    );
  }
  const others = ours.filter((p) => p !== current);
  const relation = (p: PullLike) => edit.relation(parseMarker(p.body)!);
  return {
    ...(current ? { current } : {}),
    ...(others.some((p) => relation(p) === 'newer') ? { newer: others.find((p) => relation(p) === 'newer') } : {}),
    older: others.filter((p) => relation(p) === 'older' && p.head.ref !== edit.branch),
  };
}
