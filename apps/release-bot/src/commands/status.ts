// `status`: upstream latest stable, what the bucket serves, what each consumer pins and which release keys it trusts.
import semver from 'semver';
import { markdownTable, writeSummary } from '../actions.js';
import { readConsumerPin, type ConsumerPin } from '../consumer-pins.js';
import { bucketFor, out, recipeFor, type Ctx } from '../context.js';
import { bucketHealth, checkedText, consumerKeyPath, healthKeys, type BucketHealth } from '@alloy-sysext/pipeline';
import { EXIT } from '../exit-codes.js';
import { bucketHistory, listedText, repairVersion, type HistoryReport } from '../history.js';
import { textTable } from '../table.js';
import { latestStable, listUpstreamReleases, upstreamToken } from '../upstream.js';

export interface StatusReport {
  name: string;
  upstream: { repo: string; latest?: string; url?: string; error?: string };
  published: { store: string; versions: string[]; error?: string; health?: BucketHealth; history?: HistoryReport };
  consumers: Array<ConsumerPin & { state: string }>;
}

/**
 * Every part is read independently: one that fails shows its reason in the table. Exits 5 when the bucket is broken
 * (hosts cannot update), else 0.
 */
export async function status(ctx: Ctx, opts: { json?: boolean; deep?: boolean } = {}): Promise<number> {
  const report = await collectStatus(ctx, opts);
  if (opts.json) out(ctx, JSON.stringify(report, null, 2));
  else ctx.stdout.write(renderStatus(report));
  await writeSummary(ctx.env, statusMarkdown(report));
  return broken(report) ? EXIT.BUCKET_BROKEN : EXIT.OK;
}

/** `deep`: read and hash every listed object (default: the newest version's). */
export async function collectStatus(ctx: Ctx, opts: { deep?: boolean } = {}): Promise<StatusReport> {
  const recipe = await recipeFor(ctx);
  const { repo, apiUrl } = recipe.upstream;
  const upstream = listUpstreamReleases({ apiUrl, repo, token: upstreamToken(ctx.env, apiUrl), env: ctx.env, octokit: ctx.octokit }).then(
    (releases) => {
      const latest = latestStable(releases);
      return latest ? { repo, latest: latest.version, url: latest.url } : { repo, error: 'no stable release' };
    },
    (error: Error) => ({ repo, error: error.message }),
  );
  // a configuration error (R2_PREFIX, R2_* partly set) is the user's to fix: it stops the command (exit 1), not a table cell
  const bucket = bucketFor(ctx, recipe);
  const published = (async () => {
    const store = bucket.describe();
    try {
      const keys = await healthKeys(recipe, ctx.env, ctx.root);
      const health = await bucketHealth(bucket, keys, { name: recipe.name, deep: opts.deep ? 'all' : 'newest' });
      const history = await bucketHistory(ctx, recipe, bucket, keys, health.versions, { remember: true });
      return { store, versions: health.versions, health, history };
    } catch (error) {
      return { store, versions: [], error: (error as Error).message };
    }
  })();
  const pins = Promise.all(recipe.consumers.map((c) => readConsumerPin(ctx, c, consumerKeyPath(recipe, c))));
  const [u, p, c] = await Promise.all([upstream, published, pins]);
  const newest = p.versions.at(-1);
  return {
    name: recipe.name,
    upstream: u,
    published: p,
    consumers: c.map((row) => ({ ...row, state: pinState(row, p.versions, newest) })),
  };
}

function pinState(row: ConsumerPin, published: string[], newest: string | undefined): string {
  if (row.error) return `error: ${row.error}`;
  const pinned = row.pinned!.version;
  const notInBucket = published.length > 0 && !published.includes(pinned) ? ' (not in bucket)' : '';
  if (!newest || !semver.valid(pinned)) return `pinned${notInBucket}`;
  if (semver.eq(pinned, newest)) return 'up to date';
  if (semver.lt(pinned, newest)) return `behind: ${newest} published${notInBucket}`;
  return `ahead of bucket${notInBucket}`;
}

export function renderStatus(r: StatusReport): string {
  const overview = textTable(
    ['', r.name],
    [
      ['upstream latest stable', r.upstream.error ? `error: ${r.upstream.error}` : `${r.upstream.latest} (${r.upstream.repo})`],
      ['published', r.published.error ? `error: ${r.published.error}` : listedText(r.published.versions, r.published.history)],
      ['bucket', r.published.store],
      ['bucket health', healthText(r)],
      ['history', historyText(r)],
    ],
  );
  const consumers = textTable(
    ['consumer', 'repo', 'base', 'arch', 'pins', 'sha256', 'state'],
    r.consumers.map((c) => [
      c.name,
      c.repo,
      c.base,
      c.arch,
      c.pinned?.version ?? '-',
      c.pinned ? c.pinned.sha256.slice(0, 12) : '-',
      c.state,
    ]),
  );
  if (!r.consumers.length) return `${overview}\n(no consumers in the recipe)\n`;
  const signer = r.published.health?.signer;
  const keys = textTable(
    ['consumer', 'key entry', 'trusts (fingerprints)'],
    r.consumers.map((c) => [c.name, c.keys?.path ?? '-', trustText(c, signer)]),
  );
  const note = signer ? `* signs SHA256SUMS in the bucket\n` : '';
  return `${overview}\n${consumers}\nRelease keys each consumer's base branch trusts:\n${keys}${note}`;
}

/** The fingerprints a consumer trusts, the bucket's signer starred; loud when it does not trust the signer. */
function trustText(c: ConsumerPin, signer: string | undefined): string {
  if (!c.keys) return c.error ? `error: ${c.error}` : '-';
  if (c.keys.error) return `error: ${c.keys.error}`;
  const list = c.keys.fingerprints!.map((f) => (f === signer ? `${f}*` : f)).join(', ');
  return signer && !c.keys.fingerprints!.includes(signer) ? `${list} (does NOT trust the key SHA256SUMS is signed by)` : list;
}

/** Hosts cannot use the bucket, or its version set went backwards (a rollback, a revived version). */
function broken(r: StatusReport): boolean {
  const { health, history } = r.published;
  return (health !== undefined && !health.ok) || (history !== undefined && !history.ok);
}

function healthText(r: StatusReport): string {
  const { health: h, history } = r.published;
  if (!h) return '-';
  if (!broken(r)) return `healthy (signature ${h.signature}, ${checkedText(h)})`;
  const repair = repairVersion(history, r.published.versions);
  const problems = [...h.problems, ...(history?.problems ?? [])];
  return `BROKEN: ${problems.join('; ')}; repair: npx nx run ${r.name}:publish --version=${repair ?? '<version>'}`;
}

function historyText(r: StatusReport): string {
  const history = r.published.history;
  if (!history) return '-';
  return [history.state, ...history.witnesses].join('; ');
}

function statusMarkdown(r: StatusReport): string {
  return [
    `### ${r.name} status`,
    '',
    markdownTable(
      ['', ''],
      [
        ['upstream latest stable', r.upstream.error ? `error: ${r.upstream.error}` : `[${r.upstream.latest}](${r.upstream.url})`],
        ['published', r.published.error ? `error: ${r.published.error}` : listedText(r.published.versions, r.published.history)],
        ['bucket health', healthText(r)],
        ['history', historyText(r)],
      ],
    ),
    markdownTable(
      ['consumer', 'file', 'pins', 'state', 'trusts (release keys)'],
      r.consumers.map((c) => [
        c.name,
        `${c.repo}:${c.path}@${c.base}`,
        c.pinned ? `${c.pinned.version} (\`${c.pinned.sha256.slice(0, 12)}\`)` : '-',
        c.state,
        trustText(c, r.published.health?.signer),
      ]),
    ),
  ].join('\n');
}
