// `verify --version X`: prove a published version from the bucket alone plus the trusted release key, then rebuild it
// from upstream and compare the bytes. Prints a table (check, result, detail); exit 0 only when every check holds.
import path from 'node:path';
import { assetDirOption, imageSettings, type Statement, type Recipe } from '@alloy-sysext/pipeline';
import { sha256File, type Log } from '@alloy-sysext/common';
import { markdownTable, writeSummary } from '../actions.js';
import { bucketFor, logger, out, recipeFor, type Ctx } from '../context.js';
import { EXIT, UsageError, versionOption } from '../exit-codes.js';
import { textTable } from '../table.js';
import { fail, ok, type Check } from '../verify/check.js';
import { checkImages, checkManifest, checkProvenance } from '../verify/published-checks.js';
import { checkDependencies } from '../verify/dependencies.js';
import { rebuildVersion, type Rebuilt } from '../verify/rebuild.js';
import { trustedKey } from '../verify/trusted-key.js';

export interface VerifyOptions {
  version: string;
  /** Directory holding the upstream release assets (air-gapped rebuild); `zipDir` is its first name. */
  assetDir?: string;
  zipDir?: string;
  /** Armored public key file to trust instead of the recipe's signing.publicKey. */
  key?: string;
}

export async function verify(ctx: Ctx, opts: VerifyOptions): Promise<number> {
  const version = versionOption(opts.version);
  let assetDir: string | undefined;
  try {
    const fromCwd = (dir?: string) => dir && path.resolve(ctx.cwd, dir);
    assetDir = assetDirOption({ assetDir: fromCwd(opts.assetDir), zipDir: fromCwd(opts.zipDir) });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const recipe = await recipeFor(ctx);
  const key = await trustedKey({ keyOption: opts.key, cwd: ctx.cwd, recipe });
  const store = bucketFor(ctx, recipe);
  const log = logger(ctx);
  log(`verifying ${recipe.name} ${version} in ${store.describe()} with ${key.fingerprint}`);

  const rows: Check[] = [ok('release key', `${key.fingerprint} (${key.source})`)];
  const manifest = await checkManifest({ store, recipe, version, key });
  rows.push(...manifest.rows);
  const images = await checkImages({ store, recipe, version, key, entries: manifest.entries });
  rows.push(...images.rows);
  const provenance = await checkProvenance({ store, recipe, version, key, entries: manifest.entries, actual: images.actual });
  rows.push(...provenance.rows);
  // Nothing published to compare with: don't download the upstream release for nothing.
  rows.push(
    ...(images.actual.size === 0
      ? [fail('rebuild', `skipped: ${store.describe()} holds no image of ${version}`)]
      : await rebuildChecks(ctx, { recipe, version, assetDir, statement: provenance.statement, published: images.actual, log })),
  );

  const failed = rows.filter((r) => r.result !== 'ok');
  ctx.stdout.write(
    textTable(
      ['check', 'result', 'detail'],
      rows.map((r) => [r.check, r.result, r.detail]),
    ),
  );
  out(
    ctx,
    failed.length
      ? `\n${recipe.name} ${version}: ${failed.length} of ${rows.length} checks FAILED`
      : `\n${recipe.name} ${version}: all ${rows.length} checks hold`,
  );
  await writeSummary(
    ctx.env,
    `### verify ${recipe.name} ${version}: ${failed.length ? `${failed.length} checks failed` : 'verified'}\n\n${markdownTable(
      ['check', 'result', 'detail'],
      rows.map((r) => [r.check, r.result, r.detail]),
    )}`,
  );
  return failed.length ? EXIT.VERIFY_FAILED : EXIT.OK;
}

/** Rebuild with the format and compressor the verified provenance records (the recipe's when it did not verify), compare. */
async function rebuildChecks(
  ctx: Ctx,
  opts: {
    recipe: Recipe;
    version: string;
    assetDir?: string;
    statement?: Statement;
    published: Map<string, string>;
    log: Log;
  },
): Promise<Check[]> {
  const { recipe, statement } = opts;
  const recorded = statement?.predicate.buildDefinition.externalParameters;
  const image = recorded ? { format: recorded.format, compressor: recorded.compressor } : imageSettings(recipe, {});
  let rebuilt: Rebuilt;
  try {
    rebuilt = await rebuildVersion({
      recipe,
      version: opts.version,
      env: ctx.env,
      assetDir: opts.assetDir,
      image,
      log: opts.log,
    });
  } catch (error) {
    return [fail('rebuild', (error as Error).message)];
  }
  const rows: Check[] = statement
    ? checkDependencies({ statement, recipe, version: opts.version, upstream: rebuilt.upstream, offline: Boolean(opts.assetDir) })
    : [];
  const drift = await recipeDrift(recipe, statement);
  for (const [file, sha256] of rebuilt.images) {
    const published = opts.published.get(file);
    rows.push(
      published === sha256
        ? ok(`rebuild ${file}`, `identical bytes (sha256 ${sha256}, ${image.format}${image.compressor ? ` ${image.compressor}` : ''})`)
        : fail(`rebuild ${file}`, `rebuilt sha256 ${sha256}, the bucket has ${published ?? 'no image'}${drift ? `; ${drift}` : ''}`),
    );
  }
  return rows;
}

/** Why a rebuild may differ: the local recipe or unit file is not the one the provenance records. */
async function recipeDrift(recipe: Recipe, statement: Statement | undefined): Promise<string | undefined> {
  const recorded = statement?.predicate.buildDefinition.externalParameters.recipe;
  if (!recorded) return undefined;
  const changes: string[] = [];
  const recipeSha = await sha256File(recipe.file);
  if (recipeSha !== recorded.sha256) changes.push(`recipe ${recorded.path} has sha256 ${recipeSha}, the build used ${recorded.sha256}`);
  const unitSha = recipe.tree.unit && (await sha256File(recipe.tree.unit.source));
  if (unitSha !== recorded.unit?.sha256)
    changes.push(
      `unit ${recorded.unit?.path ?? '(none)'} has sha256 ${unitSha ?? '(none)'}, the build used ${recorded.unit?.sha256 ?? '(none)'}`,
    );
  return changes.join('; ') || undefined;
}
