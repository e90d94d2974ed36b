// Step 3: decisions about the edit's branch when it already exists — already what the edit would write, or holding
// someone else's commits (then the bot leaves it alone and says so once on the pull request).
import type { BranchCommit, ConsumerRepo, PullLike } from '../consumer-repo.js';
import type { ConsumerEdit } from '../edit.js';
import { blockedComment, blockedMarker, markerFields, parseMarker } from '../pr-body.js';

/** The branch's pull request proposes exactly this edit and the file on the branch is already `text`. */
export async function branchIsCurrent(
  repo: ConsumerRepo,
  o: { edit: ConsumerEdit; pr: PullLike | undefined; head: string; text: string },
): Promise<boolean> {
  const marker = parseMarker(o.pr?.body);
  if (!o.pr || !marker || markerFields(marker) !== markerFields(o.edit.marker)) return false;
  return (await repo.fileAt(o.head, `reading ${repo.consumer.path} on ${o.edit.branch} of ${repo.full}`)) === o.text;
}

/** The commits on `branch` (at `head`) that are not on the base and not this bot's: someone else pushed there. */
export async function foreignCommits(repo: ConsumerRepo, o: { branch: string; head: string; baseSha: string }): Promise<BranchCommit[]> {
  const commits = await repo.commitsBetween(o.baseSha, o.head, o.branch);
  const me = await repo.login();
  return commits.filter((c) => {
    const login = c.author?.login ?? c.committer?.login;
    if (me) return login !== me;
    return !c.commit.message.includes(`Alloy-Sysext-Consumer: ${repo.consumer.name}`);
  });
}

export const commitAuthors = (commits: BranchCommit[]) => [
  ...new Set(commits.map((c) => c.author?.login ?? c.commit.author?.name ?? 'unknown')),
];

/** Leaves a branch with someone else's commits alone, commenting once per proposal and branch head on its pull request. */
export async function leaveForeignBranch(
  repo: ConsumerRepo,
  o: { edit: ConsumerEdit; pr: PullLike | undefined; head: string; foreign: BranchCommit[] },
): Promise<void> {
  const { edit, pr, head, foreign } = o;
  const authors = commitAuthors(foreign);
  repo.log(
    `${repo.tag} ${edit.branch} has commits by ${authors.join(', ')} (${foreign.map((c) => c.sha.slice(0, 7)).join(', ')}); leaving it alone`,
  );
  if (!pr) return;
  const already = (await repo.commentBodies(pr.number)).some((b) => b.includes(blockedMarker(edit.marker, head)));
  if (!already)
    await repo.comment(
      pr.number,
      blockedComment({ marker: edit.marker, proposal: edit.subject, head, authors, branch: edit.branch }),
      `comment on #${pr.number} that the branch has someone else's commits`,
    );
}
