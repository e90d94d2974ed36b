// Step `seal`: sign what publish will write over the bucket's state (seal.ts), reading the bucket but writing only dist/.
// The checks that belong with the key run here too: a key switch consumers cannot follow is refused, and the upstream
// assets the provenance names are re-checked against their digest roots.
import { r2Configured, storeFromEnv, type ObjectStore } from '@alloy-sysext/r2';
import type { SigningKey } from '@alloy-sysext/signing';
import { restoreMissingImages, versionImages } from '../artifacts.js';
import { checkConsumersTrustKey } from '../consumer-trust.js';
import type { UpstreamTrustOptions } from '../digest-roots.js';
import { localBucketDir } from '../layout.js';
import { sealVersion } from '../seal.js';
import { expectedPublicKey, signingKeyFromEnv } from '../signing-key.js';
import type { StepContext } from '../step.js';
import { logVerified, recoveryAdvice, verifyAssets, type VerifiedAsset } from '../upstream-trust.js';
import { verifiedFragment } from '../verify-artifacts.js';
import { trustedPublicKeys } from '../vouch.js';

/** The asset directory options too: provenance names the digest roots this run checks, from the same options fetch had. */
export interface SealStepOptions extends UpstreamTrustOptions {
  /** Switch the signing key even though a consumer's base branch does not trust the new key yet (loud). */
  allowUntrustedKey?: boolean;
}

export async function sealStep(ctx: StepContext, options: SealStepOptions = {}): Promise<void> {
  const { recipe, version, layout, root, env, log } = ctx;
  const store = storeFromEnv(
    env,
    { bucket: recipe.bucket.name, prefix: recipe.bucket.prefix, directory: localBucketDir(root, env) },
    { log },
  );
  const { key, development } = await signingKeyFromEnv({ env, workspaceRoot: root, identity: recipe.signing.identity, log });
  const upstream = await checksBeforeSigning(ctx, options, { key, development, store });
  const publicKey = await expectedPublicKey(recipe.signing.publicKey, key);
  // dist/ may be a cache restore: the lines added are those the release key signed in this version's manifest (which
  // checked each image first); publish checks the images against them again before it uploads anything.
  const fragment = await verifiedFragment(layout.manifest, publicKey).catch((error: Error) => {
    error.message = `${error.message.replace(/^refusing to publish/, 'refusing to seal')}\n${recoveryAdvice(recipe.name, version)}`;
    throw error;
  });
  const images = versionImages(recipe, version, layout.images);
  // the provenance reads each image's build parameters: a cache restore left only the .sha256 naming its blob
  await restoreMissingImages(images, ctx);
  const names = new Set(images.map((i) => i.file));
  const entries = fragment.entries.filter((e) => names.has(e.file));
  if (entries.length !== names.size) {
    throw new Error(`refusing to seal: ${layout.manifest} does not list every image of ${version} (${[...names].join(', ')})`);
  }
  await sealVersion({
    recipe,
    version,
    layout,
    store,
    key,
    trustedKeys: [publicKey, ...(await trustedPublicKeys(recipe, key))],
    entries: entries.map((e) => ({ file: e.file, sha256: e.sha256 })),
    dir: layout.seal,
    env,
    provenance: { root, env, upstream },
    log,
  });
}

/**
 * What must hold before the release key signs a seal (here, or in a publish that holds the key): every consumer's base
 * branch trusts the key when it is a switch (reading consumers with the credentials the environment has), and the
 * upstream assets are re-checked against their digest roots now, never taken from a record a cache restored.
 */
export async function checksBeforeSigning(
  ctx: StepContext,
  options: SealStepOptions,
  o: { key: SigningKey; development: boolean; store: ObjectStore },
): Promise<VerifiedAsset[]> {
  const { recipe, version, env, log } = ctx;
  await checkConsumersTrustKey({
    recipe,
    version,
    key: o.key,
    development: o.development,
    localBucket: !r2Configured(env),
    store: o.store,
    allowUntrustedKey: options.allowUntrustedKey,
    read: { env, log },
  });
  const upstream = await verifyAssets(ctx, options);
  for (const a of upstream) logVerified(ctx, a, 'provenance names it so');
  return upstream;
}
