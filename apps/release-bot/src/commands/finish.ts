// `finish`: the end of a release workflow run, after its jobs ran the chain of each plan item: the release tag and the
// tracking issue of each version released, then the status table (which fails the run while the bucket is broken).
import { normalizeVersion } from '@alloy-sysext/sysext-image';
import { writeSummary } from '../actions.js';
import { recipeFor, type Ctx } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { finishedSummary, finishRelease } from '../finish-release.js';
import { thisRepo } from '../github.js';
import type { PlanItem } from './plan.js';
import { status } from './status.js';

export interface FinishOptions {
  /** The plan's items (`release-bot plan` wrote them to $GITHUB_OUTPUT as `plan`), as JSON. */
  plan: string;
  /** How the chain jobs ended: success, or anything else (failure, cancelled, skipped). */
  result: string;
  dryRun?: boolean;
}

/** Exit 0 when the chain succeeded and the bucket is healthy, 3 when the chain failed, 5 when the bucket is broken. */
export async function finish(ctx: Ctx, opts: FinishOptions): Promise<number> {
  const items = parsePlan(opts.plan);
  const succeeded = opts.result === 'success';
  const dryRun = Boolean(opts.dryRun);
  for (const item of items) {
    const itemCtx = { ...ctx, recipe: item.recipe };
    const recipe = await recipeFor(itemCtx);
    if (!succeeded) {
      ctx.stderr.write(
        `${item.kind} of ${item.name} ${item.version}: the chain jobs ended with "${opts.result}"; nothing tagged, tracking issue left open\n`,
      );
      await writeSummary(ctx.env, `### ${item.name} ${item.version}: ${item.kind} failed\n\nThe chain jobs ended with "${opts.result}".\n`);
      continue;
    }
    if (item.kind === 'repair') {
      await writeSummary(ctx.env, `### ${item.name} ${item.version}: published again to repair the bucket\n`);
      continue;
    }
    const finished = await finishRelease(itemCtx, { recipe, version: item.version, dryRun, target: await thisRepo(itemCtx) });
    if (recipe.bucket.keep) {
      // prune re-signs SHA256SUMS and deletes objects: it needs both the key and the bucket's write keys, which no job holds
      ctx.stderr.write(
        `bucket.keep ${recipe.bucket.keep}: the release workflow does not prune (it needs the signing key and the bucket's ` +
          `write keys at once); run \`npm run release-bot -- prune\` where both are set\n`,
      );
    }
    await writeSummary(ctx.env, finishedSummary(recipe, item.version, dryRun, finished));
  }
  let health: number = EXIT.OK;
  for (const recipe of new Set(items.length ? items.map((i) => i.recipe) : [ctx.recipe])) {
    const code = await status({ ...ctx, recipe });
    if (code !== EXIT.OK) health = code;
  }
  if (!succeeded && items.length) return EXIT.CHAIN_FAILED;
  return health;
}

function parsePlan(text: string): PlanItem[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`--plan: not JSON (expected the plan output of \`release-bot plan\`): ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (!Array.isArray(value)) throw new UsageError('--plan: expected a JSON list of plan items');
  return value.map((v: Partial<PlanItem>, i) => {
    if (typeof v?.recipe !== 'string' || typeof v.name !== 'string' || (v.kind !== 'release' && v.kind !== 'repair')) {
      throw new UsageError(`--plan: item ${i + 1} is not a plan item (recipe, project, name, version, kind)`);
    }
    try {
      return { ...(v as PlanItem), version: normalizeVersion(String(v.version)) };
    } catch (error) {
      throw new UsageError(`--plan: item ${i + 1}: ${(error as Error).message}`);
    }
  });
}
