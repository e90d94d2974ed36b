// Step 5: the edit's pull request exists with the current title and body, and carries the consumer's labels,
// assignees and reviewers (added only when it was opened or changed, so a human's removal sticks).
import type { ConsumerRepo, PullLike } from '../consumer-repo.js';

/** GitHub may hand bodies back with CRLF or without the trailing newline; compare what a reader sees. */
const normalizeBody = (b: string | null | undefined) => (b ?? '').replace(/\r\n/g, '\n').trimEnd();

export async function ensurePullRequest(
  repo: ConsumerRepo,
  o: { pr: PullLike | undefined; branch: string; title: string; body: string; committed: boolean },
): Promise<{ pr: PullLike; outcome: 'opened' | 'updated' | 'unchanged' }> {
  const { title, body } = o;
  let pr = o.pr;
  let outcome: 'opened' | 'updated' | 'unchanged';
  if (pr) {
    let changed = o.committed;
    if (pr.title !== title || normalizeBody(pr.body) !== normalizeBody(body)) {
      await repo.editPull(pr.number, { title, body });
      changed = true;
    }
    outcome = changed ? 'updated' : 'unchanged';
  } else {
    pr = {
      ...(await repo.openPull({ title, branch: o.branch, body })),
      labels: [],
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
    };
    outcome = 'opened';
  }
  if (outcome !== 'unchanged') await decorate(repo, pr);
  return { pr, outcome };
}

/** Labels, assignees and reviewers the consumer asks for that the pull request does not have yet. */
async function decorate(repo: ConsumerRepo, pr: PullLike): Promise<void> {
  const { consumer } = repo;
  const ref = pr.number ? `#${pr.number}` : 'the new pull request';
  const haveLabels = new Set((pr.labels ?? []).map((l) => (typeof l === 'string' ? l : l.name)));
  const labels = (consumer.labels ?? []).filter((l) => !haveLabels.has(l));
  if (labels.length) await repo.addLabels(pr.number, ref, labels);
  const haveAssignees = new Set((pr.assignees ?? []).map((a) => a.login.toLowerCase()));
  const assignees = (consumer.assignees ?? []).filter((a) => !haveAssignees.has(a.toLowerCase()));
  if (assignees.length) await repo.addAssignees(pr.number, ref, assignees);
  const haveReviewers = new Set([
    ...(pr.requested_reviewers ?? []).map((r) => r.login.toLowerCase()),
    ...(pr.requested_teams ?? []).map((t) => t.slug.toLowerCase()),
  ]);
  const slug = (r: string) => (r.includes('/') ? r.slice(r.indexOf('/') + 1) : r);
  const wanted = (consumer.reviewers ?? []).filter((r) => !haveReviewers.has(slug(r).toLowerCase()));
  const reviewers = wanted.filter((r) => !r.includes('/'));
  const teams = wanted.filter((r) => r.includes('/')).map(slug);
  if (reviewers.length || teams.length) await repo.requestReviewers(pr.number, ref, { reviewers, teams, wanted });
}
