// `revoke --version X`: take a bad version out of the published set for good. A signed tombstone, SHA256SUMS without
// its lines (re-signed), and the next signed state: hosts stop updating to it, and no later publish lists it again. Its
// objects stay (a host being provisioned with a pin to it still downloads it: revert the consumer pull requests).
import { Manifest } from '@alloy-sysext/manifest';
import {
  MANIFEST,
  describeRemoval,
  expectedPublicKey,
  historyForChange,
  localWitnessFile,
  removeVersions,
  signingKeyFromEnv,
  tombstoneKey,
  trustedPublicKeys,
  witnessDir,
} from '@alloy-sysext/pipeline';
import { bucketFor, logger, out, recipeFor, type Ctx } from '../context.js';
import { EXIT, versionOption } from '../exit-codes.js';

export interface RevokeOptions {
  version: string;
  reason?: string;
  dryRun?: boolean;
}

export async function revoke(ctx: Ctx, opts: RevokeOptions): Promise<number> {
  const version = versionOption(opts.version);
  const recipe = await recipeFor(ctx);
  const store = bucketFor(ctx, recipe);
  const log = logger(ctx);
  const identity = recipe.signing.identity;
  const { key } = await signingKeyFromEnv({ env: ctx.env, workspaceRoot: ctx.root, identity, log });
  const keys = [await expectedPublicKey(recipe.signing.publicKey, key), ...(await trustedPublicKeys(recipe, key))];
  const witnessFile = localWitnessFile(witnessDir(ctx.root, recipe), store);

  const history = await historyForChange({ store, recipe, keys, witnessFile, env: ctx.env, log });
  const manifest = await store.get(MANIFEST);
  const listed = manifest ? Manifest.parse(manifest.body).versions(recipe.name) : [];
  const earlier = history.removed.get(version);
  const known = listed.includes(version) || history.last?.state.versions.includes(version);
  if (!known && !earlier)
    throw new Error(
      `${recipe.name} ${version} is not published in ${store.describe()} ` +
        `(${MANIFEST} lists ${listed.join(', ') || 'nothing'}); nothing to revoke`,
    );
  if (
    earlier &&
    !listed.includes(version) &&
    history.bucket.kind === 'valid' &&
    history.bucket.value.removed.some((r) => r.version === version)
  ) {
    const how = `${describeRemoval(earlier)} (${earlier.source})`;
    out(ctx, `${recipe.name} ${version} is already removed: it was ${how}; nothing to do`);
    return EXIT.OK;
  }
  if (opts.dryRun) {
    out(
      ctx,
      `dry run: would write ${tombstoneKey(recipe, version)} (revoked${opts.reason ? `: ${opts.reason}` : ''}) ` + `to ${store.describe()}`,
    );
    out(ctx, `dry run: would remove ${version}'s lines from ${MANIFEST}, re-sign it and record the next signed state`);
    out(ctx, `dry run: its objects would stay; nothing was changed`);
    return EXIT.OK;
  }
  const result = await removeVersions({
    store,
    recipe,
    key,
    keys,
    versions: [version],
    by: 'revoke',
    reason: opts.reason,
    witnessFile,
    env: ctx.env,
    log,
    history,
  });
  out(
    ctx,
    `revoked ${recipe.name} ${version} in ${store.describe()}: ${tombstoneKey(recipe, version)} ` +
      `${result.tombstones.length ? 'written' : 'already there'}, ` +
      `${MANIFEST} ${result.manifestChanged ? 'updated' : 'unchanged'} and signed, ` +
      `state #${result.state.sequence}`,
  );
  out(ctx, `hosts no longer update to ${version}; hosts running it keep it until a newer version is published.`);
  out(ctx, `consumers pinning ${version} still install it: revert their pull requests (status shows the pins).`);
  return EXIT.OK;
}
