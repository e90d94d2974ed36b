// Step `image`: build and validate each arch's reproducible sysext image from the fetched binary, and leave a build
// receipt (receipts.ts) so `sign` in this workspace can tell these bytes from restored ones.
import path from 'node:path';
import { buildImage, buildSettings, validateImage, type Compressor, type ImageFormat } from '@alloy-sysext/sysext-image';
import { removeCompatibilityFiles } from '../artifacts.js';
import { forgetBuildReceipt, writeBuildReceipt } from '../receipts.js';
import type { StepContext } from '../step.js';
import type { UpstreamTrustOptions } from '../digest-roots.js';
import { verifyFetched } from '../upstream-trust.js';

export interface ImageStepOptions extends UpstreamTrustOptions {
  format?: ImageFormat;
  compressor?: Compressor;
}

/**
 * The recipe's image settings with the command line's overrides. A compressor applies to squashfs only: one typed with
 * another format is refused; the recipe's own is left out when the command line picks another format.
 */
export function imageSettings(recipe: StepContext['recipe'], options: ImageStepOptions) {
  const format = options.format ?? recipe.image.format;
  if (options.compressor && format !== 'squashfs') {
    throw new Error(
      `--compressor ${options.compressor} applies to squashfs images only, and the format is ${format} ` +
        `(${options.format ? '--format' : `image.format in ${recipe.file}`}): drop --compressor`,
    );
  }
  const compressor = options.compressor ?? (options.format && format !== 'squashfs' ? undefined : recipe.image.compressor);
  return { ...recipe.image, format, compressor };
}

export async function imageStep(ctx: StepContext, options: ImageStepOptions = {}): Promise<void> {
  const { recipe, version, layout, log } = ctx;
  const image = imageSettings(recipe, options);
  // dist/<name>/<version>/upstream may be a cache restore: re-verified here, before its binary goes into an image.
  const binaries = await verifyFetched(ctx, options);
  // The compatibility name is the amd64 image's second name in the bucket (artifacts.ts), not a file: drop old copies.
  await removeCompatibilityFiles(recipe, version, layout.images);
  for (const arch of recipe.arches) {
    const binary = binaries[arch];
    await forgetBuildReceipt(layout.receipts, arch);
    const settings = await buildSettings({ version, arch, tree: recipe.tree, image });
    const built = await buildImage({ version, arch, binary: binary.path, tree: recipe.tree, image, outDir: layout.images, log });
    await validateImage(built.image, { version, arch, tree: recipe.tree, format: image.format, binarySha256: binary.sha256 });
    log(`${path.basename(built.image)} sha256 ${built.sha256}`);
    // image's cache entry is the .sha256 files: the image travels as a blob, to the steps that read it
    await ctx.blobs?.keep(built.image, built.sha256);
    const receipt = await writeBuildReceipt(layout.receipts, {
      binarySha256: binary.sha256,
      settings,
      image: path.basename(built.image),
      imageSha256: built.sha256,
    });
    log(`${arch}: build receipt ${path.relative(ctx.root, receipt)} (sign in this workspace uses it instead of a rebuild)`);
  }
}
