import path from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import type { Compressor, ImageFormat } from '@alloy-sysext/sysext-image';
import { writeSignature } from '@alloy-sysext/signing';
import { versionImages } from '../../pipeline/artifacts.js';
import { assertReproduced } from '../../pipeline/reproduce.js';
import { signingKeyFromEnv } from '../../pipeline/signing-key.js';
import { runStep, type StepOptions } from '../run-step.js';

export interface SignOptions extends StepOptions {
  format?: ImageFormat;
  compressor?: Compressor;
}

export default async function signExecutor(options: SignOptions, context: ExecutorContext) {
  return runStep('sign', options, context, async ({ recipe, version, layout, root, log }) => {
    const images = versionImages(recipe, version, layout.images);
    await assertReproduced({
      recipe,
      version,
      upstreamDir: layout.upstream,
      images,
      image: { ...recipe.image, format: options.format ?? recipe.image.format, compressor: options.compressor ?? recipe.image.compressor },
      log,
    });
    const { key, source } = await signingKeyFromEnv({ workspaceRoot: root, identity: recipe.signing.identity, log });
    for (const image of images) {
      const signature = await writeSignature(image.path, key);
      log(`${path.basename(signature)}: signed by ${key.fingerprint} (${source})`);
    }
  });
}
