// What every command gets: environment, workspace root, output streams. Injected so commands are testable without
// touching process.env or the real stdout.
import path from 'node:path';
import type { RetryOptions, ThrottleOptions } from '@alloy-sysext/github';
import { storeFromEnv, type ObjectStore } from '@alloy-sysext/r2';
import { localBucketDir, loadRecipe, type Recipe, DEFAULT_RECIPE } from '@alloy-sysext/pipeline';

export interface Writer {
  write(text: string): unknown;
}

export interface Ctx {
  env: NodeJS.ProcessEnv;
  /** Workspace root: the recipe, dist/ and the local bucket resolve from here. */
  root: string;
  /** Directory relative paths given by the user (e.g. `keys generate --out`) resolve from. */
  cwd: string;
  /** Recipe file, absolute or relative to `root` (default apps/alloy/sysext.json). */
  recipe?: string;
  stdout: Writer;
  stderr: Writer;
  /** Octokit plugin options (tests: throttling off, short retry delays). */
  octokit?: { retry?: RetryOptions; throttle?: ThrottleOptions };
}

export { DEFAULT_RECIPE } from '@alloy-sysext/pipeline';

export function out(ctx: Ctx, line = ''): void {
  ctx.stdout.write(`${line}\n`);
}

/** Progress and diagnostics go to stderr, so stdout stays the command's result (and pure JSON with --json). */
export function logger(ctx: Ctx): (line: string) => void {
  return (line) => ctx.stderr.write(`${line}\n`);
}

export function recipeFor(ctx: Ctx): Promise<Recipe> {
  return loadRecipe(path.resolve(ctx.root, ctx.recipe ?? DEFAULT_RECIPE), ctx.env);
}

/** The bucket the publish target writes to: R2/S3 from R2_* variables, else the local directory bucket. */
export function bucketFor(ctx: Ctx, recipe: Recipe): ObjectStore {
  return storeFromEnv(
    ctx.env,
    { bucket: recipe.bucket.name, prefix: recipe.bucket.prefix, directory: localBucketDir(ctx.root, ctx.env) },
    { log: logger(ctx) },
  );
}
