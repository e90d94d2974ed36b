// Step `image`: build and validate each arch's reproducible sysext image from the fetched binary, and leave a build
// receipt (receipts.ts) so `sign` in this workspace can tell these bytes from restored ones.
import path from 'node:path';
import { sha256File } from '@alloy-sysext/common';
import { buildImage, buildSettings, validateImage, type Compressor, type ImageFormat } from '@alloy-sysext/sysext-image';
import { forgetBuildReceipt, writeBuildReceipt } from '../receipts.js';
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
    await forgetBuildReceipt(layout.receipts, arch);
    const settings = await buildSettings({ version, arch, tree: recipe.tree, image });
    const built = await buildImage({ version, arch, binary: binary.path, tree: recipe.tree, image, outDir: layout.images, log });
    await validateImage(built.image, { version, arch, tree: recipe.tree, format: image.format, binarySha256: binary.sha256 });
    log(`${path.basename(built.image)} sha256 ${built.sha256}`);
    if (built.compatibilityCopy) {
      // a copy of the image just validated: the same bytes (hashed again here) under the old name need no second extraction
      const copy = built.compatibilityCopy;
      const actual = await sha256File(copy.image);
      if (actual !== built.sha256)
        throw new Error(`${copy.image} has sha256 ${actual}, but it was copied from ${built.image} (${built.sha256})`);
      log(`${path.basename(copy.image)} sha256 ${copy.sha256} (compatibility copy)`);
    }
    const receipt = await writeBuildReceipt(layout.receipts, {
      binarySha256: binary.sha256,
      settings,
      image: path.basename(built.image),
      imageSha256: built.sha256,
    });
    log(`${arch}: build receipt ${path.relative(ctx.root, receipt)} (sign in this workspace uses it instead of a rebuild)`);
  }
}
