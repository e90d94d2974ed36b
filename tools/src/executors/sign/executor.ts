import path from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { writeSignature } from '@alloy-sysext/signing';
import { versionImages } from '../../pipeline/artifacts.js';
import { signingKeyFromEnv } from '../../pipeline/signing-key.js';
import { runStep, type StepOptions } from '../run-step.js';

export default async function signExecutor(options: StepOptions, context: ExecutorContext) {
  return runStep('sign', options, context, async ({ recipe, version, layout, root, log }) => {
    const { key, source } = await signingKeyFromEnv({ workspaceRoot: root, identity: recipe.signing.identity, log });
    for (const image of versionImages(recipe, version, layout.images)) {
      const signature = await writeSignature(image.path, key);
      log(`${path.basename(signature)}: signed by ${key.fingerprint} (${source})`);
    }
  });
}
