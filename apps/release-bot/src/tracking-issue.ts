// One tracking issue per upstream version in this repository: found by its label and exact title, created once,
// commented on and closed when the version is released.
import type { ThisRepo } from './github.js';
import { call } from './github.js';

export const TRACKING_LABEL = 'alloy-release';

export interface TrackingIssue {
  number: number;
  url: string;
  state: 'open' | 'closed';
  title: string;
}

export function trackingTitle(name: string, version: string): string {
  return `Release ${name} ${version}`;
}

const marker = (name: string, version: string, what: string) => `<!-- alloy-sysext:${what} ${name} ${version} -->`;

export async function findTrackingIssue(gh: ThisRepo, name: string, version: string): Promise<TrackingIssue | undefined> {
  const title = trackingTitle(name, version);
  const issues = await call(gh, `searching ${gh.full} for the tracking issue "${title}"`, () =>
    gh.client.paginate(gh.client.rest.issues.listForRepo, {
      owner: gh.owner,
      repo: gh.repo,
      state: 'all',
      labels: TRACKING_LABEL,
      per_page: 100,
    }),
  );
  const found = issues.filter((i) => !i.pull_request && i.title === title).sort((a, b) => a.number - b.number)[0];
  return found && { number: found.number, url: found.html_url, state: found.state === 'closed' ? 'closed' : 'open', title: found.title };
}

export function trackingBody(opts: { name: string; version: string; upstreamUrl: string; published: string[] }): string {
  return [
    `Upstream released **${opts.version}** (${opts.upstreamUrl}); the bucket does not serve it yet` +
      (opts.published.length ? ` (published: ${opts.published.join(', ')}).` : ' (nothing published yet).'),
    '',
    'The release workflow builds, signs and publishes it, opens the consumer PRs, tags the release and closes this issue. By hand:',
    '',
    '```sh',
    `npm run release-bot -- release --version ${opts.version}`,
    '```',
    '',
    marker(opts.name, opts.version, 'tracking'),
    '',
  ].join('\n');
}

export async function createTrackingIssue(gh: ThisRepo, body: string, name: string, version: string): Promise<TrackingIssue> {
  const title = trackingTitle(name, version);
  const { data } = await call(gh, `creating the tracking issue "${title}" in ${gh.full}`, () =>
    gh.client.rest.issues.create({ owner: gh.owner, repo: gh.repo, title, body, labels: [TRACKING_LABEL] }),
  );
  return { number: data.number, url: data.html_url, state: 'open', title };
}

/**
 * Comments that the version is released (once: a comment carrying the marker is not repeated) and closes the issue.
 * Returns what it did; a closed issue is left alone.
 */
export async function closeTrackingIssue(
  gh: ThisRepo,
  issue: TrackingIssue,
  opts: { name: string; version: string; text: string },
): Promise<'closed' | 'already-closed'> {
  if (issue.state === 'closed') return 'already-closed';
  const tag = marker(opts.name, opts.version, 'released');
  const comments = await call(gh, `reading comments of #${issue.number} in ${gh.full}`, () =>
    gh.client.paginate(gh.client.rest.issues.listComments, { owner: gh.owner, repo: gh.repo, issue_number: issue.number, per_page: 100 }),
  );
  if (!comments.some((c) => c.body?.includes(tag))) {
    await call(gh, `commenting on #${issue.number} in ${gh.full}`, () =>
      gh.client.rest.issues.createComment({ owner: gh.owner, repo: gh.repo, issue_number: issue.number, body: `${opts.text}\n\n${tag}\n` }),
    );
  }
  await call(gh, `closing #${issue.number} in ${gh.full}`, () =>
    gh.client.rest.issues.update({
      owner: gh.owner,
      repo: gh.repo,
      issue_number: issue.number,
      state: 'closed',
      state_reason: 'completed',
    }),
  );
  return 'closed';
}
