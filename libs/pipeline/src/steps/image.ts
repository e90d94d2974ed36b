// Step `image`: build and validate each arch's reproducible sysext image from the fetched binary.
import path from 'node:path';
import { buildImage, validateImage, type Compressor, type ImageFormat } from '@alloy-sysext/sysext-image';
import type { StepContext } from '../step.js';
import { verifyFetched, type UpstreamTrustOptions } from '../upstream-trust.js';

export interface ImageStepOptions extends UpstreamTrustOptions {
  format?: ImageFormat;
  compressor?: Compressor;
}

/** The recipe's image settings with the command line's overrides. */
export function imageSettings(recipe: StepContext['recipe'], options: ImageStepOptions) {
  return { ...recipe.image, format: options.format ?? recipe.image.format, compressor: options.compressor ?? recipe.image.compressor };
}

export async function imageStep(ctx: StepContext, options: ImageStepOptions = {}): Promise<void> {
  const { recipe, version, layout, log } = ctx;
  const image = imageSettings(recipe, options);
  // dist/<name>/<version>/upstream may be a cache restore: re-verified here, before its binary goes into an image.
  const binaries = await verifyFetched(ctx, options);
  for (const arch of recipe.arches) {
    const binary = binaries[arch];
    const built = await buildImage({ version, arch, binary, tree: recipe.tree, image, outDir: layout.images, log });
    await validateImage(built.image, { version, arch, tree: recipe.tree, format: image.format });
    log(`${path.basename(built.image)} sha256 ${built.sha256}`);
    if (built.compatibilityCopy) {
      await validateImage(built.compatibilityCopy.image, { version, arch, tree: recipe.tree, format: image.format });
      log(`${path.basename(built.compatibilityCopy.image)} sha256 ${built.compatibilityCopy.sha256} (compatibility copy)`);
    }
  }
}
