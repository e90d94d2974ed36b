// `prune --keep N`: remove old versions from the bucket's SHA256SUMS (re-signed) and delete their objects, keeping the
// newest N and every version a consumer pins on its base branch or in an open bot pull request.
import { Manifest, planRetention, type Pin, type RetentionPlan } from '@alloy-sysext/manifest';
import { deleteObjects, versionKeyFilter, type ObjectStore } from '@alloy-sysext/r2';
import { verifyDetached } from '@alloy-sysext/signing';
import {
  MANIFEST,
  MANIFEST_SIGNATURE,
  type Recipe,
  expectedPublicKey,
  localWitnessFile,
  readTombstones,
  removeVersions,
  signingKeyFromEnv,
  trustedPublicKeys,
  witnessDir,
} from '@alloy-sysext/pipeline';
import { readConsumerPin, readOpenPullPins } from '../consumer-pins.js';
import { bucketFor, logger, out, recipeFor, type Ctx } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';

export interface PruneOptions {
  keep?: string | number;
  dryRun?: boolean;
}

interface PruneReport extends RetentionPlan {
  store: string;
  /** Objects deleted (or, in a dry run, that would be). */
  objects: string[];
  dryRun: boolean;
}

/** `--keep` as given, else the recipe's `bucket.keep`; a whole number >= 1. */
function keepCount(given: string | number | undefined, recipe: Recipe): number {
  const raw = given ?? (recipe.bucket.keep ? recipe.bucket.keep : undefined);
  if (raw === undefined) throw new UsageError('--keep <n> is required (the recipe sets no bucket.keep)');
  const n = typeof raw === 'number' ? raw : /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--keep ${JSON.stringify(String(raw))} is not a whole number >= 1`);
  return n;
}

/** Every version a consumer depends on. Any consumer we cannot read stops the prune: we cannot prove it pins nothing. */
async function consumerPins(ctx: Ctx, recipe: Recipe): Promise<Pin[]> {
  const pins: Pin[] = [];
  for (const entry of recipe.consumers) {
    const base = await readConsumerPin(ctx, entry);
    if (base.error) throw new Error(`cannot tell what consumer ${entry.name} pins (${base.error}); refusing to prune`);
    pins.push({ version: base.pinned!.version, by: `${entry.name} (${entry.repo}:${entry.path}@${entry.base})` });
    const pulls = await readOpenPullPins(ctx, entry).catch((error: Error) => {
      throw new Error(`cannot tell what the open pull requests of consumer ${entry.name} pin (${error.message}); refusing to prune`, {
        cause: error,
      });
    });
    for (const pr of pulls) pins.push({ version: pr.version, by: `open pull request #${pr.number} of ${entry.name} (${pr.branch})` });
  }
  return pins;
}

/** The objects of the removed versions: images, their .sha256 and .asc, the compatibility name, Butane snippets. */
async function objectsOf(store: ObjectStore, recipe: Recipe, versions: string[]): Promise<string[]> {
  const keys = (await store.list('')).map((o) => o.key);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return versions.flatMap((v) => {
    const image = versionKeyFilter(recipe.name, v, recipe.arches);
    const snippet = new RegExp(`^${esc(recipe.name)}-${esc(v)}-(?:${recipe.arches.map(esc).join('|')})\\.bu$`);
    return keys.filter((k) => image(k) || snippet.test(k));
  });
}

export async function prune(ctx: Ctx, opts: PruneOptions = {}): Promise<number> {
  const recipe = await recipeFor(ctx);
  const keep = keepCount(opts.keep, recipe);
  const dryRun = Boolean(opts.dryRun);
  const log = logger(ctx);
  const store = bucketFor(ctx, recipe);
  const { key } = await signingKeyFromEnv({
    env: ctx.env,
    workspaceRoot: ctx.root,
    identity: recipe.signing.identity,
    log,
    signs: !dryRun,
  });
  const publicKey = await expectedPublicKey(recipe.signing.publicKey, key);

  // The bucket's SHA256SUMS is data to verify, never text to re-sign: only a manifest the release key signed is pruned.
  const manifest = await store.get(MANIFEST);
  if (!manifest) {
    out(ctx, `nothing to prune: ${store.describe()} has no ${MANIFEST}`);
    return EXIT.OK;
  }
  const signature = await store.get(MANIFEST_SIGNATURE);
  if (!signature)
    throw new Error(`${MANIFEST} in ${store.describe()} has no ${MANIFEST_SIGNATURE}: refusing to re-sign an unsigned manifest`);
  await verifyDetached({ data: manifest.body, signature: signature.body.toString('utf8'), publicKey }).catch((error: Error) => {
    throw new Error(
      `${MANIFEST_SIGNATURE} in ${store.describe()} does not verify ${MANIFEST} with the release key: refusing to re-sign it (${error.message})`,
      { cause: error },
    );
  });
  const current = Manifest.parse(manifest.body);

  const plan = planRetention(current, recipe.name, { keep, pins: await consumerPins(ctx, recipe) });
  for (const k of plan.keep) out(ctx, `keep   ${k.version}: ${k.reasons.join('; ')}`);
  for (const v of plan.remove) out(ctx, `remove ${v}`);
  const keys = [publicKey, ...(await trustedPublicKeys(recipe, key))];
  // A prune that stopped after recording its removals but before deleting their objects: this one deletes them.
  const { tombstones } = await readTombstones(store, recipe, keys);
  const prunedBefore = tombstones.filter((t) => t.by === 'prune').map((t) => t.version);
  const objects = await objectsOf(store, recipe, [...plan.remove, ...prunedBefore]);
  const report: PruneReport = { ...plan, store: store.describe(), objects, dryRun };
  if (plan.remove.length === 0 && objects.length === 0) {
    out(ctx, `nothing to prune in ${store.describe()}`);
    return EXIT.OK;
  }
  if (dryRun) {
    for (const o of objects) out(ctx, `dry run: would delete ${o}`);
    const removal = `would remove ${plan.remove.join(', ')} from ${MANIFEST}, re-sign it and record the removal`;
    if (plan.remove.length) out(ctx, `dry run: ${removal}`);
    out(ctx, 'dry run: nothing was changed');
    return EXIT.OK;
  }

  // Tombstones, SHA256SUMS, its signature and the signed state first (sysupdate never sees an entry without its file,
  // and no later publish lists a pruned version again), then the objects.
  if (plan.remove.length)
    await removeVersions({
      store,
      recipe,
      key,
      keys,
      versions: plan.remove,
      by: 'prune',
      reason: `retention: keep ${keep}`,
      witnessFile: localWitnessFile(witnessDir(ctx.root, recipe), store),
      env: ctx.env,
      log,
    });
  await deleteObjects(store, objects, { log });
  const deleted = `${objects.length} objects deleted`;
  if (plan.remove.length === 0) out(ctx, `nothing new to prune in ${report.store}: ${deleted} (left by a prune that stopped)`);
  else out(ctx, `pruned ${plan.remove.join(', ')} from ${report.store}: ${deleted}, ${MANIFEST} re-signed, a tombstone for each`);
  return EXIT.OK;
}
