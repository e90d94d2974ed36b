// Which sysexts a command acts on: `--sysext <name>` (a recipe's name), `--recipe <file>`, or every recipe in the
// workspace (findRecipes). A command that takes `--version` acts on one sysext: the one that version belongs to.
import { Manifest } from '@alloy-sysext/manifest';
import { MANIFEST } from '@alloy-sysext/common';
import { findRecipes, pickRecipe, RecipeError, tombstoneKey, type Recipe } from '@alloy-sysext/pipeline';
import { normalizePrefix } from '@alloy-sysext/r2';
import { bucketFor, recipeFor, type Ctx } from './context.js';
import { EXIT, UsageError, versionOption } from './exit-codes.js';
import { listUpstreamReleases, upstreamToken } from './upstream.js';

export interface SysextOption {
  /** `--sysext <name>`: one recipe, by its name. */
  sysext?: string;
}

/** The recipe files (relative to the workspace root) a command acts on. */
export async function selectRecipes(ctx: Ctx, opts: SysextOption): Promise<string[]> {
  if (opts.sysext !== undefined && ctx.recipe !== undefined)
    throw new UsageError(`--sysext ${opts.sysext} and --recipe ${ctx.recipe} both choose a recipe: give one of them`);
  if (ctx.recipe !== undefined) return [ctx.recipe];
  const recipes = await findRecipes(ctx.root);
  if (opts.sysext !== undefined) {
    try {
      return [pickRecipe(recipes, opts.sysext).file];
    } catch (error) {
      throw error instanceof RecipeError ? new UsageError(`--sysext: ${error.message}`) : error;
    }
  }
  if (!recipes.length) throw new RecipeError(`no recipe in ${ctx.root} (apps/<name>/sysext.json or sysexts/<name>/sysext.json)`);
  return recipes.map((r) => r.file);
}

/**
 * R2_PREFIX names one prefix for every sysext, whose buckets each have their own (the recipe's bucket.prefix): with
 * several sysexts it would read and write them all in one place.
 */
export function refuseSharedPrefix(ctx: Ctx, files: unknown[]): void {
  if (files.length < 2 || ctx.env.R2_PREFIX === undefined) return;
  normalizePrefix(ctx.env.R2_PREFIX, 'R2_PREFIX'); // a malformed one is a configuration error first (exit 1)
  throw new UsageError(
    `R2_PREFIX ${JSON.stringify(ctx.env.R2_PREFIX)} would put all ${files.length} sysexts under one prefix: ` +
      'pass --sysext <name> to act on one, or unset R2_PREFIX (each recipe names its bucket.prefix)',
  );
}

// The most serious outcome decides the exit code of a command run for several sysexts.
const SEVERITY: number[] = [EXIT.ERROR, EXIT.BUCKET_BROKEN, EXIT.CHAIN_FAILED, EXIT.VERIFY_FAILED, EXIT.NEW_VERSION];

/**
 * Runs `command` once per selected sysext (in name order), each with its own recipe. With several, each one's output
 * starts with its name, `--json` output is one JSON list, no step outputs are written, and a failure in one (exit 1)
 * does not stop the others.
 */
export async function forEachSysext(
  ctx: Ctx,
  opts: SysextOption & { json?: boolean },
  command: (ctx: Ctx) => Promise<number>,
  name: string,
): Promise<number> {
  const files = await selectRecipes(ctx, opts);
  if (files.length === 1) return command({ ...ctx, recipe: files[0] });
  refuseSharedPrefix(ctx, files);
  // one set of step outputs (version=, new=, …) cannot speak for several sysexts: none rather than the last one's
  const { GITHUB_OUTPUT, ...env } = ctx.env;
  if (GITHUB_OUTPUT) ctx.stderr.write(`${name}: ${files.length} sysexts, so no step outputs: use --sysext <name>\n`);
  ctx = { ...ctx, env };
  const codes: number[] = [];
  const documents: string[] = [];
  for (const file of files) {
    const recipe = await recipeFor({ ...ctx, recipe: file });
    let json = '';
    const stdout = opts.json ? { write: (s: string) => (json += s) } : ctx.stdout;
    if (!opts.json) ctx.stdout.write(`${codes.length ? '\n' : ''}== ${recipe.name} (${file}) ==\n`);
    try {
      codes.push(await command({ ...ctx, recipe: file, stdout }));
    } catch (error) {
      if (error instanceof UsageError) throw error;
      ctx.stderr.write(`release-bot ${name} (${recipe.name}): ${(error as Error).message}\n`);
      codes.push(EXIT.ERROR);
    }
    if (opts.json && json.trim()) documents.push(json.trim());
  }
  if (opts.json) ctx.stdout.write(`[\n${documents.join(',\n')}\n]\n`);
  return SEVERITY.find((code) => codes.includes(code)) ?? EXIT.OK;
}

/** How a version is known to be a sysext's (in its bucket, or upstream), and the words for it in a message. */
export interface VersionOf {
  what: string;
  test: (ctx: Ctx, recipe: Recipe, version: string) => Promise<boolean>;
}

/**
 * The one recipe a `--version` command acts on: `--sysext`/`--recipe`, the only recipe, or the one sysext the version
 * is of by `belongs`; a version of none or of several is refused, naming the sysexts to choose from.
 */
export async function recipeOfVersion(
  ctx: Ctx,
  opts: SysextOption & { version: string },
  belongs: VersionOf,
  among?: string[],
): Promise<Ctx & { recipe: string }> {
  const version = versionOption(opts.version);
  const files = among ?? (await selectRecipes(ctx, opts));
  if (files.length === 1) return { ...ctx, recipe: files[0]! };
  refuseSharedPrefix(ctx, files);
  const owners: string[] = [];
  const names: string[] = [];
  for (const file of files) {
    const recipe = await recipeFor({ ...ctx, recipe: file });
    names.push(recipe.name);
    if (await belongs.test({ ...ctx, recipe: file }, recipe, version)) owners.push(file);
  }
  if (owners.length === 1) return { ...ctx, recipe: owners[0]! };
  const choose = 'pass --sysext <name>';
  const named = (list: string[]) => list.map((f) => names[files.indexOf(f)]).join(', ');
  throw new UsageError(
    owners.length
      ? `${version} is ${belongs.what} of several sysexts (${named(owners)}): ${choose}`
      : `${version} is not ${belongs.what} of any sysext (${names.join(', ')}): ${choose}`,
  );
}

/** The bucket lists the version in SHA256SUMS, or holds its tombstone (a version revoke or prune removed). */
export const inBucket: VersionOf = {
  what: 'a published version',
  async test(ctx, recipe, version) {
    const store = bucketFor(ctx, recipe);
    if (await store.head(tombstoneKey(recipe, version))) return true;
    const manifest = await store.get(MANIFEST);
    return Boolean(manifest && Manifest.parse(manifest.body).versions(recipe.name).includes(version));
  },
};

/** The sysext's upstream project has a release of that version. */
export const releasedUpstream: VersionOf = {
  what: 'an upstream release',
  async test(ctx, recipe, version) {
    const { repo, apiUrl } = recipe.upstream;
    const token = upstreamToken(ctx.env, apiUrl);
    const releases = await listUpstreamReleases({ apiUrl, repo, token, env: ctx.env, octokit: ctx.octokit });
    return releases.some((r) => r.version === version);
  },
};
