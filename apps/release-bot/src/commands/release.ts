// `release --version X`: run the Nx chain for X, then tag the release and close the tracking issue (both idempotent).
import { writeOutputs, writeSummary } from '../actions.js';
import { runNxChain, type ChainRunner } from '../chain.js';
import { logger, recipeFor, type Ctx } from '../context.js';
import { prune } from './prune.js';
import { finishedSummary, finishRelease } from '../finish-release.js';
import { EXIT, versionOption } from '../exit-codes.js';
import { thisRepo } from '../github.js';
import { releaseTag } from '../release-tag.js';

export interface ReleaseOptions {
  version: string;
  dryRun?: boolean;
  /** Default: `npx nx run alloy:pr --version=X` with inherited output. */
  runChain?: ChainRunner;
}

export async function release(ctx: Ctx, opts: ReleaseOptions): Promise<number> {
  const version = versionOption(opts.version);
  const dryRun = Boolean(opts.dryRun);
  const log = logger(ctx);
  const recipe = await recipeFor(ctx);
  const target = await thisRepo(ctx); // a malformed GITHUB_REPOSITORY fails here, before hours of work
  const tag = releaseTag(recipe.name, version);

  log(`running the Nx chain for ${recipe.name} ${version}${dryRun ? ' (dry run)' : ''}`);
  const code = await (opts.runChain ?? runNxChain)({ version, dryRun, root: ctx.root, env: ctx.env });
  if (code !== 0) {
    ctx.stderr.write(`release ${version}: the Nx chain failed with exit code ${code}; ${tag} not created, tracking issue left open\n`);
    await writeSummary(ctx.env, `### ${recipe.name} ${version}: release failed\n\nThe Nx chain (fetch → … → pr) exited with ${code}.\n`);
    return EXIT.CHAIN_FAILED;
  }

  const finished = await finishRelease(ctx, { recipe, version, dryRun, target });
  // The recipe's retention, by the one rule: the newest bucket.keep versions and every version a consumer pins.
  if (recipe.bucket.keep) await prune(ctx, { keep: recipe.bucket.keep, dryRun });
  await writeOutputs(ctx.env, { version, tag, release_url: finished.releaseUrl });
  await writeSummary(ctx.env, finishedSummary(recipe, version, dryRun, finished));
  return EXIT.OK;
}
