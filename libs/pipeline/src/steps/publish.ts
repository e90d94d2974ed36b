// Step `publish`: verified upload of this version to the bucket (R2, or the local directory bucket), manifest last.
import { storeFromEnv } from '@alloy-sysext/r2';
import { localBucketDir } from '../layout.js';
import { publishVersion } from '../publish.js';
import { expectedPublicKey, signingKeyFromEnv } from '../signing-key.js';
import type { StepContext } from '../step.js';
import { trustedPublicKeys } from '../vouch.js';

export interface PublishStepOptions {
  dryRun?: boolean;
}

export async function publishStep(ctx: StepContext, options: PublishStepOptions = {}): Promise<void> {
  const { recipe, version, layout, root, env, log } = ctx;
  const store = storeFromEnv(
    env,
    { bucket: recipe.bucket.name, prefix: recipe.bucket.prefix, directory: localBucketDir(root, env) },
    { log },
  );
  const { key } = await signingKeyFromEnv({ env, workspaceRoot: root, identity: recipe.signing.identity, log });
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
    provenance: { root, env },
    log,
    blobs: ctx.blobs,
  });
  log(
    `published ${version} to ${store.describe()}: ${result.uploaded.length} uploaded, ${result.unchanged.length} unchanged, ` +
      `manifest ${result.manifestChanged ? 'updated' : 'unchanged'}, signature ${result.signatureChanged ? 'updated' : 'unchanged'}`,
  );
  for (const e of result.entries) log(`  ${recipe.bucket.publicUrl}/${e.file}  sha256 ${e.sha256}`);
}
