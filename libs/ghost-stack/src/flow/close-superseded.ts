// Step 6: this bot's older pull requests for the consumer are closed with a pointer to the new one and their branches
// deleted; one with someone else's commits stays open, branch and all (closing it would throw away their work).
import type { ConsumerRepo, PullLike } from '../consumer-repo.js';
import { commitAuthors, foreignCommits } from './check-branch.js';

export async function closeSuperseded(
  repo: ConsumerRepo,
  o: { older: PullLike[]; by: string; baseSha: string },
): Promise<{ closed: number[]; keptOpen: number[] }> {
  const closed: number[] = [];
  const keptOpen: number[] = [];
  for (const old of o.older) {
    const foreign = await foreignCommits(repo, { branch: old.head.ref, head: old.head.sha, baseSha: o.baseSha });
    if (foreign.length > 0) {
      repo.log(
        `${repo.tag} not superseding #${old.number}: ${old.head.ref} has commits by ${commitAuthors(foreign).join(', ')}; leaving it open`,
      );
      keptOpen.push(old.number);
      continue;
    }
    await repo.comment(old.number, `Superseded by ${o.by}.`, `comment "Superseded by ${o.by}" on #${old.number}`);
    await repo.closePull(old.number);
    await repo.deleteBranch(old.head.ref);
    closed.push(old.number);
  }
  return { closed, keptOpen };
}
