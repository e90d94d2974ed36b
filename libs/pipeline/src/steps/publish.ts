// Step `publish`: verified upload of this version to the bucket (R2, or the local directory bucket), the seal last. It
// needs the release key's public part only (ALLOY_SIGNING_PUBLIC_KEY in a job that holds no private key).
import { MANIFEST, MANIFEST_SIGNATURE } from '@alloy-sysext/common';
import { storeFromEnv } from '@alloy-sysext/r2';
import type { UpstreamTrustOptions } from '../digest-roots.js';
import { localBucketDir } from '../layout.js';
import { publishVersion, type PublishResult } from '../publish.js';
import { DEV_KEY_DIR, expectedPublicKey, releaseKeyFromEnv } from '../signing-key.js';
import type { StepContext } from '../step.js';
import { checksBeforeSigning } from './seal.js';
import { trustedPublicKeys } from '../vouch.js';

/** The asset directory options too: provenance names the digest roots this run checks, from the same options fetch had. */
export interface PublishStepOptions extends UpstreamTrustOptions {
  dryRun?: boolean;
  /** Switch the signing key even though a consumer's base branch does not trust the new key yet (loud). */
  allowUntrustedKey?: boolean;
}

export async function publishStep(ctx: StepContext, options: PublishStepOptions = {}): Promise<void> {
  const { recipe, version, layout, root, env, log } = ctx;
  const store = storeFromEnv(
    env,
    { bucket: recipe.bucket.name, prefix: recipe.bucket.prefix, directory: localBucketDir(root, env) },
    { log },
  );
  const key = await releaseKeyFromEnv({ env, workspaceRoot: root, identity: recipe.signing.identity, log });
  // Holding the private key, publish may seal itself (a bucket changed since the seal step): the seal's checks run then,
  // and only then. Otherwise the seal's provenance (made where the key is) is checked against the images verified here.
  const signing = key.signing;
  const beforeSealing = signing
    ? async () => ({
        root,
        env,
        upstream: await checksBeforeSigning(ctx, options, { key: signing, development: key.source === DEV_KEY_DIR, store }),
      })
    : undefined;
  const publicKey = await expectedPublicKey(recipe.signing.publicKey, key);
  const result = await publishVersion({
    recipe,
    version,
    layout,
    store,
    key,
    publicKey,
    trustedKeys: [publicKey, ...(await trustedPublicKeys(recipe, key))],
    dryRun: options.dryRun,
    ...(beforeSealing ? { beforeSealing } : {}),
    log,
    blobs: ctx.blobs,
  });
  log(options.dryRun ? dryRunSummary(version, store.describe(), result) : summary(version, store.describe(), result));
  for (const e of result.entries) log(`  ${recipe.bucket.publicUrl}/${e.file}  sha256 ${e.sha256}`);
}

function summary(version: string, where: string, r: PublishResult): string {
  return (
    `published ${version} to ${where}: ${r.uploaded.length} uploaded, ${r.unchanged.length} unchanged, ` +
    `manifest ${r.manifestChanged ? 'updated' : 'unchanged'}, signature ${r.signatureChanged ? 'updated' : 'unchanged'}` +
    (r.state ? `, version state #${r.state.sequence} ${r.state.written ? 'recorded' : 'unchanged'}` : '')
  );
}

/** A dry run's plan in one line: what a real run would change, and that nothing was. */
function dryRunSummary(version: string, where: string, r: PublishResult): string {
  return (
    `dry run of ${version} to ${where}: would upload ${r.uploaded.length}, unchanged ${r.unchanged.length}; ` +
    `${MANIFEST} ${r.manifestChanged ? 'would change' : 'unchanged'}, ${MANIFEST_SIGNATURE} ${r.signatureChanged ? 'would be signed again' : 'unchanged'}. ` +
    `Nothing was written.`
  );
}
