// Step `sign`: rebuild each image to prove it is what the recipe makes from the fetched binary, then sign it.
import path from 'node:path';
import { writeSignature } from '@alloy-sysext/signing';
import { versionImages } from '../artifacts.js';
import { assertReproduced } from '../reproduce.js';
import { signingKeyFromEnv } from '../signing-key.js';
import type { StepContext } from '../step.js';
import { verifyFetched } from '../upstream-trust.js';
import { imageSettings, type ImageStepOptions } from './image.js';

export async function signStep(ctx: StepContext, options: ImageStepOptions = {}): Promise<void> {
  const { recipe, version, layout, root, env, log } = ctx;
  const images = versionImages(recipe, version, layout.images);
  // The rebuild below proves image = f(binary); this proves the binary is upstream's (dist/ may be a cache restore).
  await verifyFetched(ctx, options);
  await assertReproduced({ recipe, version, upstreamDir: layout.upstream, images, image: imageSettings(recipe, options), log });
  const { key, source } = await signingKeyFromEnv({ env, workspaceRoot: root, identity: recipe.signing.identity, log });
  for (const image of images) {
    const signature = await writeSignature(image.path, key);
    log(`${path.basename(signature)}: signed by ${key.fingerprint} (${source})`);
  }
}
