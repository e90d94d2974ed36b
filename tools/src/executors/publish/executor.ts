import type { ExecutorContext } from '@nx/devkit';
import { storeFromEnv } from '@alloy-sysext/r2';
import { localBucketDir } from '../../pipeline/layout.js';
import { publishVersion } from '../../pipeline/publish.js';
import { expectedPublicKey, signingKeyFromEnv } from '../../pipeline/signing-key.js';
import { runStep, type StepOptions } from '../run-step.js';

export interface PublishOptions extends StepOptions {
  dryRun?: boolean;
}

export default async function publishExecutor(options: PublishOptions, context: ExecutorContext) {
  return runStep('publish', options, context, async ({ recipe, version, layout, root, log }) => {
    const store = storeFromEnv(process.env, { bucket: recipe.bucket.name, prefix: recipe.bucket.prefix, directory: localBucketDir(root) }, { log });
    const { key } = await signingKeyFromEnv({ workspaceRoot: root, identity: recipe.signing.identity, log });
    const result = await publishVersion({
      recipe,
      version,
      layout,
      store,
      key,
      publicKey: await expectedPublicKey(recipe.signing.publicKey, key),
      dryRun: options.dryRun,
      log,
    });
    log(
      `published ${version} to ${store.describe()}: ${result.uploaded.length} uploaded, ${result.unchanged.length} unchanged, ` +
        `manifest ${result.manifestChanged ? 'updated' : 'unchanged'}, signature ${result.signatureChanged ? 'updated' : 'unchanged'}`,
    );
    for (const e of result.entries) log(`  ${recipe.bucket.publicUrl}/${e.file}  sha256 ${e.sha256}`);
  });
}
