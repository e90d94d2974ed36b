// `check`: is the newest stable upstream release published? If not, make sure its tracking issue exists.
import semver from 'semver';
import { markdownTable, writeOutputs, writeSummary } from '../actions.js';
import { bucketFor, logger, out, recipeFor, type Ctx } from '../context.js';
import { bucketHealth, checkedText, healthKeys, MANIFEST, type BucketHealth } from '@alloy-sysext/pipeline';
import { EXIT } from '../exit-codes.js';
import { thisRepo } from '../github.js';
import { bucketHistory, listedText, repairVersion, type HistoryReport } from '../history.js';
import { createTrackingIssue, findTrackingIssue, trackingBody, type TrackingIssue } from '../tracking-issue.js';
import { latestStable, listUpstreamReleases, upstreamToken } from '../upstream.js';

export interface CheckOptions {
  dryRun?: boolean;
  json?: boolean;
  /** Read and hash every listed object (default: the newest version's). */
  deep?: boolean;
}

export interface CheckResult {
  name: string;
  version: string;
  new: boolean;
  upstreamUrl: string;
  published: string[];
  /** SHA256SUMS.gpg over SHA256SUMS and each listed object (read and hashed for the newest version, or all with --deep). */
  health: BucketHealth;
  /** The signed version state against SHA256SUMS and the witnesses: rollbacks and revived versions. */
  history: HistoryReport;
  /** The tracking issue (number and url are absent when a dry run would create it). */
  issue?: { action: 'created' | 'reused' | 'would-create'; number?: number; url?: string; state?: TrackingIssue['state'] };
  /** Why no tracking issue was looked at (no credentials), or why none is needed. */
  issueSkipped?: string;
  dryRun: boolean;
}

/** The bucket is broken when hosts cannot use it or its version set went backwards (a rollback, a revived version). */
export const bucketBroken = (r: Pick<CheckResult, 'health' | 'history'>): boolean => !r.health.ok || !r.history.ok;

/** Exit code 5 when the bucket is broken, else 10 when a new stable version is found, 0 when it is already published. */
export async function check(ctx: Ctx, opts: CheckOptions = {}): Promise<number> {
  const result = await checkUpstream(ctx, opts);
  if (opts.json) {
    out(ctx, JSON.stringify(result, null, 2));
  } else {
    out(ctx, `upstream latest stable: ${result.version} (${result.upstreamUrl})`);
    out(ctx, `published: ${listedText(result.published, result.history)}`);
    out(ctx, result.new ? `new version: ${result.version}` : upToDate(result));
    if (result.issue?.action === 'would-create') out(ctx, 'tracking issue: would be opened (dry run)');
    else if (result.issue) out(ctx, `tracking issue: #${result.issue.number} ${result.issue.url} (${result.issue.action})`);
    else if (result.issueSkipped) out(ctx, `tracking issue: skipped: ${result.issueSkipped}`);
    if (result.dryRun && result.new) out(ctx, 'dry run: no changes made on GitHub');
    out(ctx, healthLine(result));
  }
  const broken = bucketBroken(result);
  await writeOutputs(ctx.env, {
    version: result.version,
    new: result.new,
    issue: result.issue?.number,
    broken,
    repair_version: broken ? repairVersion(result.history, result.published) : undefined,
  });
  await writeSummary(ctx.env, summary(result));
  if (broken) return EXIT.BUCKET_BROKEN;
  return result.new ? EXIT.NEW_VERSION : EXIT.OK;
}

function upToDate(r: CheckResult): string {
  if (r.history.removed.includes(r.version))
    return `up to date: ${r.version} was removed from the bucket (revoked or pruned) and is not released again`;
  if (!r.published.includes(r.version)) return `up to date: ${r.version} was published, but ${MANIFEST} lacks it (see bucket)`;
  return `up to date: ${r.version} is published`;
}

/** One line (plus one per problem) on the bucket's health and history, with the repair when it is broken. */
export function healthLine(r: Pick<CheckResult, 'health' | 'history' | 'published' | 'name'>): string {
  const witnesses = r.history.witnesses.length ? `; witnesses: ${r.history.witnesses.join('; ')}` : '';
  const history = `history: ${r.history.state}${witnesses}`;
  const healthy = `bucket: healthy (signature ${r.health.signature}, ${checkedText(r.health)})`;
  if (!bucketBroken(r)) return `${healthy}\n${history}`;
  return [
    `bucket: BROKEN, hosts cannot update until it is repaired:`,
    ...[...r.health.problems, ...r.history.problems].map((p) => `  ${p}`),
    history,
    `repair: npx nx run ${r.name}:publish --version=${repairVersion(r.history, r.published) ?? '<version>'}   ` +
      '(re-verifies, re-uploads and re-signs; refuses lines nothing vouches for, never lists a removed version)',
  ].join('\n');
}

export async function checkUpstream(ctx: Ctx, opts: CheckOptions = {}): Promise<CheckResult> {
  const log = logger(ctx);
  const recipe = await recipeFor(ctx);
  const { repo, apiUrl } = recipe.upstream;
  const latest = latestStable(
    await listUpstreamReleases({ apiUrl, repo, token: upstreamToken(ctx.env, apiUrl), env: ctx.env, octokit: ctx.octokit }),
  );
  if (!latest) throw new Error(`${repo} has no stable release at ${apiUrl} (drafts and prereleases are ignored)`);
  const bucket = bucketFor(ctx, recipe);
  const keys = await healthKeys(recipe, ctx.env, ctx.root);
  const health = await bucketHealth(bucket, keys, { name: recipe.name, deep: opts.deep ? 'all' : 'newest' });
  const published = health.versions;
  const history = await bucketHistory(ctx, recipe, bucket, keys, published, { remember: !opts.dryRun });
  // What the bucket lists or should list (a rolled-back SHA256SUMS lacks what the state records: a repair, not a
  // release), and a removed version is never released again, even when upstream still calls it the latest.
  const known = [...new Set([...published, ...history.expected])].sort(semver.compare);
  const newest = known.at(-1);
  const removed = history.removed.includes(latest.version);
  const isNew = !known.includes(latest.version) && !removed && (!newest || semver.gt(latest.version, newest));
  const result: CheckResult = {
    name: recipe.name,
    version: latest.version,
    new: isNew,
    upstreamUrl: latest.url,
    published,
    health,
    history,
    dryRun: Boolean(opts.dryRun),
  };
  if (!isNew) return result;

  const target = await thisRepo(ctx);
  if (!target.ok) {
    result.issueSkipped = target.reason;
    log(`not looking for a tracking issue: ${target.reason}`);
    return result;
  }
  const { gh } = target;
  const existing = await findTrackingIssue(gh, recipe.name, latest.version);
  if (existing) {
    log(`tracking issue for ${latest.version} exists: #${existing.number} (${existing.state})`);
    result.issue = { action: 'reused', number: existing.number, url: existing.url, state: existing.state };
  } else if (opts.dryRun) {
    log(`dry run: would open a tracking issue for ${latest.version} in ${gh.full}`);
    result.issue = { action: 'would-create' };
  } else {
    const body = trackingBody({ name: recipe.name, version: latest.version, upstreamUrl: latest.url, published });
    const created = await createTrackingIssue(gh, body, recipe.name, latest.version);
    log(`opened tracking issue #${created.number} for ${latest.version}: ${created.url}`);
    result.issue = { action: 'created', number: created.number, url: created.url, state: created.state };
  }
  return result;
}

function summary(r: CheckResult): string {
  const issue = r.issue
    ? r.issue.action === 'would-create'
      ? 'would be opened (dry run)'
      : `[#${r.issue.number}](${r.issue.url}) (${r.issue.action})`
    : (r.issueSkipped ?? '—');
  return [
    `### ${r.name}: ${r.new ? `new upstream release ${r.version}` : `up to date (${r.version})`}`,
    '',
    markdownTable(
      ['', ''],
      [
        ['upstream latest stable', `[${r.version}](${r.upstreamUrl})`],
        ['published', r.published.join(', ') || '(none)'],
        ['tracking issue', r.new ? issue : '—'],
        [
          'bucket',
          bucketBroken(r)
            ? `**broken**: ${[...r.health.problems, ...r.history.problems].join('; ')}`
            : `healthy (signature ${r.health.signature})`,
        ],
        ['history', r.history.state],
      ],
    ),
  ].join('\n');
}
