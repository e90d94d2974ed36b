import path from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { buildImage, validateImage, type Compressor, type ImageFormat } from '@alloy-sysext/sysext-image';
import { runStep, type StepOptions } from '../run-step.js';

export interface ImageExecutorOptions extends StepOptions {
  format?: ImageFormat;
  compressor?: Compressor;
}

export default async function imageExecutor(options: ImageExecutorOptions, context: ExecutorContext) {
  return runStep('image', options, context, async ({ recipe, version, layout, log }) => {
    const image = {
      ...recipe.image,
      format: options.format ?? recipe.image.format,
      compressor: options.compressor ?? recipe.image.compressor,
    };
    for (const arch of recipe.arches) {
      const binary = path.join(layout.upstream, arch, recipe.upstream.binary.replace('{arch}', arch));
      const built = await buildImage({ version, arch, binary, tree: recipe.tree, image, outDir: layout.images, log });
      await validateImage(built.image, { version, arch, tree: recipe.tree, format: image.format });
      log(`${path.basename(built.image)} sha256 ${built.sha256}`);
      if (built.compatibilityCopy) {
        await validateImage(built.compatibilityCopy.image, { version, arch, tree: recipe.tree, format: image.format });
        log(`${path.basename(built.compatibilityCopy.image)} sha256 ${built.compatibilityCopy.sha256} (compatibility copy)`);
      }
    }
  });
}
