// `check`: is the newest stable upstream release published? If not, make sure its tracking issue exists.
import semver from 'semver';
import { markdownTable, writeOutputs, writeSummary } from '../actions.js';
import { bucketFor, logger, out, recipeFor, type Ctx } from '../context.js';
import { bucketHealth, checkedText, healthKeys, type BucketHealth } from '@alloy-sysext/pipeline';
import { EXIT } from '../exit-codes.js';
import { thisRepo } from '../github.js';
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
  /** The tracking issue (number and url are absent when a dry run would create it). */
  issue?: { action: 'created' | 'reused' | 'would-create'; number?: number; url?: string; state?: TrackingIssue['state'] };
  /** Why no tracking issue was looked at (no credentials), or why none is needed. */
  issueSkipped?: string;
  dryRun: boolean;
}

/** Exit code 5 when the bucket is broken, else 10 when a new stable version is found, 0 when it is already published. */
export async function check(ctx: Ctx, opts: CheckOptions = {}): Promise<number> {
  const result = await checkUpstream(ctx, opts);
  if (opts.json) {
    out(ctx, JSON.stringify(result, null, 2));
  } else {
    out(ctx, `upstream latest stable: ${result.version} (${result.upstreamUrl})`);
    out(ctx, `published: ${result.published.length ? result.published.join(', ') : '(none)'}`);
    out(ctx, result.new ? `new version: ${result.version}` : `up to date: ${result.version} is published`);
    if (result.issue?.action === 'would-create') out(ctx, 'tracking issue: would be opened (dry run)');
    else if (result.issue) out(ctx, `tracking issue: #${result.issue.number} ${result.issue.url} (${result.issue.action})`);
    else if (result.issueSkipped) out(ctx, `tracking issue: skipped: ${result.issueSkipped}`);
    if (result.dryRun && result.new) out(ctx, 'dry run: no changes made on GitHub');
    out(ctx, healthLine(result));
  }
  const repair = result.health.ok ? undefined : result.published.at(-1);
  await writeOutputs(ctx.env, {
    version: result.version,
    new: result.new,
    issue: result.issue?.number,
    broken: !result.health.ok,
    repair_version: repair,
  });
  await writeSummary(ctx.env, summary(result));
  if (!result.health.ok) return EXIT.BUCKET_BROKEN;
  return result.new ? EXIT.NEW_VERSION : EXIT.OK;
}

/** One line (plus one per problem) on the bucket's health, with the repair when it is broken. */
export function healthLine(r: Pick<CheckResult, 'health' | 'published' | 'name'>): string {
  if (r.health.ok) return `bucket: healthy (signature ${r.health.signature}, ${checkedText(r.health)})`;
  const newest = r.published.at(-1) ?? '<version>';
  return [
    `bucket: BROKEN, hosts cannot update until it is repaired:`,
    ...r.health.problems.map((p) => `  ${p}`),
    `repair: npx nx run ${r.name}:publish --version=${newest}   (re-verifies, re-uploads and re-signs; refuses lines nothing vouches for)`,
  ].join('\n');
}

export async function checkUpstream(ctx: Ctx, opts: CheckOptions = {}): Promise<CheckResult> {
  const log = logger(ctx);
  const recipe = await recipeFor(ctx);
  const { repo, apiUrl } = recipe.upstream;
  const latest = latestStable(await listUpstreamReleases({ apiUrl, repo, token: upstreamToken(ctx.env, apiUrl) }));
  if (!latest) throw new Error(`${repo} has no stable release at ${apiUrl} (drafts and prereleases are ignored)`);
  const bucket = bucketFor(ctx, recipe);
  const health = await bucketHealth(bucket, await healthKeys(recipe, ctx.env, ctx.root), {
    name: recipe.name,
    deep: opts.deep ? 'all' : 'newest',
  });
  const published = health.versions;
  const newest = published.at(-1);
  const isNew = !published.includes(latest.version) && (!newest || semver.gt(latest.version, newest));
  const result: CheckResult = {
    name: recipe.name,
    version: latest.version,
    new: isNew,
    upstreamUrl: latest.url,
    published,
    health,
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
        ['bucket', r.health.ok ? `healthy (signature ${r.health.signature})` : `**broken**: ${r.health.problems.join('; ')}`],
      ],
    ),
  ].join('\n');
}
