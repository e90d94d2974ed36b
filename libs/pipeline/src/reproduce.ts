import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sha256File } from '@alloy-sysext/common';
import { buildImage, type Compressor, type ImageFormat } from '@alloy-sysext/sysext-image';
import type { VersionImage } from './artifacts.js';
import type { Recipe } from './recipe.js';
import { recoveryAdvice } from './upstream-trust.js';

/**
 * Before the release key vouches for an image, rebuild it from the fetched binary and the recipe and require the same
 * sha256. Builds are reproducible, so this costs one more build and proves the image was not replaced anywhere between
 * `image` and `sign` (a cache entry rewritten together with its .sha256 included).
 */
export async function assertReproduced(opts: {
  recipe: Recipe;
  version: string;
  upstreamDir: string;
  images: VersionImage[];
  image: { format: ImageFormat; compressor?: Compressor; compatibilityCopy?: boolean };
  log: (line: string) => void;
}): Promise<void> {
  const { recipe, version } = opts;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'alloy-reproduce-'));
  try {
    for (const arch of recipe.arches) {
      const binary = path.join(opts.upstreamDir, arch, recipe.upstream.binary.replace('{arch}', arch));
      const rebuilt = await buildImage({
        version,
        arch,
        binary,
        tree: recipe.tree,
        image: { ...opts.image, compatibilityCopy: false },
        outDir: scratch,
      });
      for (const image of opts.images.filter((i) => i.arch === arch)) {
        const actual = await sha256File(image.path);
        if (actual !== rebuilt.sha256) {
          throw new Error(
            `refusing to sign ${image.path}: it has sha256 ${actual}, but the recipe builds ${rebuilt.sha256} from the fetched ` +
              `binary. The image changed after it was built. ${recoveryAdvice(version)}`,
          );
        }
      }
      opts.log(`${arch}: rebuilt the image bit for bit (sha256 ${rebuilt.sha256}) before signing`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
