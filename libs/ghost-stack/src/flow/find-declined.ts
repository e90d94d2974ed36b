// A pull request a human closed (or merged) for exactly this proposal is respected: the flow does not reopen it.
import type { ConsumerRepo, PullLike } from '../consumer-repo.js';
import type { ConsumerEdit } from '../edit.js';
import { parseMarker } from '../pr-body.js';

export async function findDeclined(repo: ConsumerRepo, edit: ConsumerEdit): Promise<PullLike | undefined> {
  const closed = await repo.closedPulls(edit.branch);
  return closed.find((p) => {
    const m = parseMarker(p.body);
    return m !== undefined && edit.relation(m) === 'same' && (m.consumer === undefined || m.consumer === repo.consumer.name);
  });
}
