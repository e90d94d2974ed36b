// The pull-request flow for one consumer and one edit, as the sequence of its steps: read the consumer's state, let the
// edit decide, find this bot's pull requests, check the branch, commit, ensure the pull request, close what it
// supersedes. Every outcome has a name; a rerun with the same inputs makes no write request.
import { ConsumerRepo, type ConnectOptions } from '../consumer-repo.js';
import type { ConsumerEdit } from '../edit.js';
import { parseMarker } from '../pr-body.js';
import { branchIsCurrent, foreignCommits, leaveForeignBranch } from './check-branch.js';
import { closeSuperseded } from './close-superseded.js';
import { dryRunReport } from './dry-run-report.js';
import { ensurePullRequest } from './ensure-pull-request.js';
import { findDeclined } from './find-declined.js';
import { findOurPullRequests } from './find-our-pull-requests.js';
import { readConsumer } from './read-consumer.js';

export type ConsumerStatus = 'up-to-date' | 'opened' | 'updated' | 'unchanged' | 'blocked-by-human-commit' | 'dry-run';

export interface ConsumerFlowOptions<S> extends Omit<ConnectOptions, 'log'> {
  edit: ConsumerEdit<S>;
  /** where a dry run writes <consumer>.diff and <consumer>.pr.md; without it the result carries them */
  outDir?: string;
  log?: (line: string) => void;
}

export interface ConsumerFlowResult<S> {
  status: ConsumerStatus;
  consumer: string;
  /** what the edit read on the base branch (the pin, the keys) */
  state?: S;
  pr?: { number: number; url: string };
  superseded?: number[];
  /** older bot pull requests not superseded because someone else pushed commits to their branch */
  keptOpen?: number[];
  branch?: string;
  /** a dry run's would-be change: files under outDir, or the texts themselves */
  diffFile?: string;
  bodyFile?: string;
  diff?: string;
  body?: string;
}

export async function runConsumerFlow<S>(opts: ConsumerFlowOptions<S>): Promise<ConsumerFlowResult<S>> {
  const log = opts.log ?? (() => {});
  const { edit } = opts;
  const repo = await ConsumerRepo.connect({ ...opts, log });
  const { consumer, tag } = repo;
  const named = { consumer: consumer.name };

  const base = await readConsumer(repo);
  const decision = await edit.decide(base.text, { consumer, label: base.label, log });
  if (decision.kind === 'up-to-date') {
    log(`${tag} ${decision.reason}`);
    return { status: 'up-to-date', ...named, state: decision.state };
  }
  const { state, text, title, body } = decision;
  const at = { ...named, state, branch: edit.branch };

  const pulls = await findOurPullRequests(repo, edit);
  if (pulls.newer) {
    const { number, html_url } = pulls.newer;
    log(
      `${tag} #${number} already proposes ${edit.describe(parseMarker(pulls.newer.body)!)}, newer than ${edit.subject}; not proposing an older one`,
    );
    return { status: 'unchanged', ...at, pr: { number, url: html_url } };
  }
  let pr = pulls.current;
  const branchHead = await repo.branchHead(edit.branch);
  const current = branchHead !== undefined && (await branchIsCurrent(repo, { edit, pr, head: branchHead, text }));
  if (branchHead && !current) {
    const foreign = await foreignCommits(repo, { branch: edit.branch, head: branchHead, baseSha: base.base.sha });
    if (foreign.length > 0) {
      await leaveForeignBranch(repo, { edit, pr, head: branchHead, foreign });
      return {
        status: repo.dry ? 'dry-run' : 'blocked-by-human-commit',
        ...at,
        ...(pr ? { pr: { number: pr.number, url: pr.html_url } } : {}),
      };
    }
  }
  if (!pr) {
    const declined = await findDeclined(repo, edit);
    if (declined) {
      log(`${tag} #${declined.number} for ${edit.subject} was ${declined.merged_at ? 'merged' : 'closed'}; not reopening`);
      return { status: 'unchanged', ...at, pr: { number: declined.number, url: declined.html_url } };
    }
  }

  if (!current) await repo.commitFile({ text, title, message: decision.commitMessage, base: base.base, branch: edit.branch, branchHead });
  const ensured = await ensurePullRequest(repo, { pr, branch: edit.branch, title, body, committed: !current });
  pr = ensured.pr;
  const by = pr.number ? `#${pr.number}` : 'the new pull request';
  const { closed, keptOpen } = await closeSuperseded(repo, { older: pulls.older, by, baseSha: base.base.sha });
  const after = { ...(closed.length ? { superseded: closed } : {}), ...(keptOpen.length ? { keptOpen } : {}) };

  if (repo.dry)
    return {
      status: 'dry-run',
      ...at,
      ...(await dryRunReport(repo, {
        base: base.text,
        text,
        branch: edit.branch,
        title,
        body,
        outcome: ensured.outcome,
        outDir: opts.outDir,
      })),
      ...after,
    };
  log(
    `${tag} ${ensured.outcome} #${pr.number} ${pr.html_url}${closed.length ? `; superseded ${closed.map((n) => `#${n}`).join(', ')}` : ''}`,
  );
  return { status: ensured.outcome, ...at, pr: { number: pr.number, url: pr.html_url }, ...after };
}
