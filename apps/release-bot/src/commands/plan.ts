// `plan`: what the release workflow's jobs do in this run, as data (the job matrix). Per recipe at most one version: the
// repair of a broken bucket comes first (the newest published version published again), and a new upstream version
// waits for the next run, since the seal of one version is made against the bucket the previous one left.
import { healthKeys, type Recipe } from '@alloy-sysext/pipeline';
import { normalizeVersion } from '@alloy-sysext/sysext-image';
import { markdownTable, writeOutputs, writeSummary } from '../actions.js';
import { DEFAULT_RECIPE, logger, out, recipeFor, type Ctx } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { checkUpstream, healthLine } from './check.js';

export interface PlanOptions {
  /** Release this version (workflow_dispatch input, release event) instead of asking upstream. */
  version?: string;
  dryRun?: boolean;
}

/** One chain the workflow runs: `npx nx run <project>:<target> --version=<version>` in each job. */
export interface PlanItem {
  /** Recipe file, relative to the workspace root. */
  recipe: string;
  /** The Nx project whose targets the jobs run. */
  project: string;
  /** The sysext's name (object names: `<name>-<version>-<arch>.raw`, `<name>-<version>.SHA256SUMS`). */
  name: string;
  version: string;
  /** release: a version not published yet; repair: the newest published version, published again to fix the bucket. */
  kind: 'release' | 'repair';
}

export interface Plan {
  items: PlanItem[];
  /** Why each recipe has the item it has, or none: one line per recipe. */
  reasons: string[];
  dryRun: boolean;
}

/** Prints the plan (JSON on stdout) and writes `matrix`, `count`, `plan` and `dry_run` to $GITHUB_OUTPUT. Exit 0. */
export async function plan(ctx: Ctx, opts: PlanOptions = {}): Promise<number> {
  let version: string | undefined;
  if (opts.version) {
    try {
      version = normalizeVersion(opts.version);
    } catch (error) {
      throw new UsageError(`--version: ${(error as Error).message}`);
    }
  }
  const result: Plan = { items: [], reasons: [], dryRun: Boolean(opts.dryRun) };
  // One recipe today; the list is what the workflow's matrix iterates over.
  for (const recipeFile of [ctx.recipe ?? DEFAULT_RECIPE]) {
    const recipeCtx = { ...ctx, recipe: recipeFile };
    const decided = await planRecipe(recipeCtx, await recipeFor(recipeCtx), { ...opts, version });
    if (decided.item) result.items.push(decided.item);
    result.reasons.push(decided.reason);
  }
  out(ctx, JSON.stringify(result, null, 2));
  await writeOutputs(ctx.env, {
    matrix: JSON.stringify({ include: result.items }),
    count: result.items.length,
    plan: JSON.stringify(result.items),
    dry_run: result.dryRun,
  });
  await writeSummary(ctx.env, planSummary(result));
  return EXIT.OK;
}

/** The one decision per recipe: an explicit version, else a repair, else a new upstream version, else nothing. */
async function planRecipe(
  ctx: Ctx,
  recipe: Recipe,
  opts: PlanOptions & { version?: string },
): Promise<{ item?: PlanItem; reason: string }> {
  const item = (version: string, kind: PlanItem['kind']): PlanItem => ({
    recipe: ctx.recipe ?? DEFAULT_RECIPE,
    project: recipe.name,
    name: recipe.name,
    version,
    kind,
  });
  if (opts.version) return { item: item(opts.version, 'release'), reason: `${recipe.name} ${opts.version}: asked for` };
  // A signature nobody can check is no health check: plan needs the release key's public part, never the bucket's.
  if (!(await healthKeys(recipe, ctx.env, ctx.root)).length) {
    throw new Error(
      `no release public key to check the bucket's SHA256SUMS.gpg with: set ALLOY_SIGNING_PUBLIC_KEY (in the release ` +
        `workflow: the repository variable ALLOY_SIGNING_PUBLIC_KEY, the armored key \`release-bot keys generate\` wrote) ` +
        `or signing.publicKey in ${recipe.file}`,
    );
  }
  const checked = await checkUpstream(ctx, { dryRun: opts.dryRun });
  if (!checked.health.ok) {
    logger(ctx)(healthLine(checked));
    const newest = checked.published.at(-1);
    if (!newest) throw new Error(`the bucket is broken and lists no version to publish again: ${checked.health.problems.join('; ')}`);
    const later = checked.new ? `; ${checked.version} is released by the next run` : '';
    return { item: item(newest, 'repair'), reason: `${recipe.name} ${newest}: repair (the bucket is broken)${later}` };
  }
  if (checked.new) return { item: item(checked.version, 'release'), reason: `${recipe.name} ${checked.version}: new upstream release` };
  return { reason: `${recipe.name}: up to date (${checked.version} is published)` };
}

function planSummary(p: Plan): string {
  return [
    `### release plan${p.dryRun ? ' (dry run)' : ''}`,
    '',
    markdownTable(
      ['project', 'version', 'kind'],
      p.items.length ? p.items.map((i) => [i.project, i.version, i.kind]) : [['—', '—', 'nothing to do']],
    ),
    ...p.reasons.map((r) => `- ${r}`),
  ].join('\n');
}
