// `status`: upstream latest stable, what the bucket serves, what each consumer pins and which release keys it trusts.
import semver from 'semver';
import { markdownTable, writeSummary } from '../actions.js';
import { readConsumerPin, type ConsumerPin } from '../consumer-pins.js';
import { bucketFor, out, recipeFor, type Ctx } from '../context.js';
import { bucketHealth, checkedText, consumerKeyPath, healthKeys, type BucketHealth } from '@alloy-sysext/pipeline';
import { EXIT } from '../exit-codes.js';
import { textTable } from '../table.js';
import { latestStable, listUpstreamReleases, upstreamToken } from '../upstream.js';

export interface StatusReport {
  name: string;
  upstream: { repo: string; latest?: string; url?: string; error?: string };
  published: { store: string; versions: string[]; error?: string; health?: BucketHealth };
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
  return report.published.health && !report.published.health.ok ? EXIT.BUCKET_BROKEN : EXIT.OK;
}

/** `deep`: read and hash every listed object (default: the newest version's). */
export async function collectStatus(ctx: Ctx, opts: { deep?: boolean } = {}): Promise<StatusReport> {
  const recipe = await recipeFor(ctx);
  const { repo, apiUrl } = recipe.upstream;
  const upstream = listUpstreamReleases({ apiUrl, repo, token: upstreamToken(ctx.env, apiUrl) }).then(
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
      const health = await bucketHealth(bucket, await healthKeys(recipe, ctx.env, ctx.root), {
        name: recipe.name,
        deep: opts.deep ? 'all' : 'newest',
      });
      return { store, versions: health.versions, health };
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
      ['published', r.published.error ? `error: ${r.published.error}` : r.published.versions.join(', ') || '(none)'],
      ['bucket', r.published.store],
      ['bucket health', healthText(r)],
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

function healthText(r: StatusReport): string {
  const h = r.published.health;
  if (!h) return '-';
  if (h.ok) return `healthy (signature ${h.signature}, ${checkedText(h)})`;
  return `BROKEN: ${h.problems.join('; ')}; repair: npx nx run ${r.name}:publish --version=${r.published.versions.at(-1) ?? '<version>'}`;
}

function statusMarkdown(r: StatusReport): string {
  return [
    `### ${r.name} status`,
    '',
    markdownTable(
      ['', ''],
      [
        ['upstream latest stable', r.upstream.error ? `error: ${r.upstream.error}` : `[${r.upstream.latest}](${r.upstream.url})`],
        ['published', r.published.error ? `error: ${r.published.error}` : r.published.versions.join(', ') || '(none)'],
        ['bucket health', healthText(r)],
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
