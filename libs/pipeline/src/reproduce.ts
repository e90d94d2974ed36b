// The proving rebuild `sign` runs for images this workspace did not just build (see receipts.ts for the other path).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildImage, type BuildImageOptions } from '@alloy-sysext/sysext-image';
import { recoveryAdvice } from './upstream-trust.js';
import type { Log } from '@alloy-sysext/common';

/**
 * Before the release key vouches for an image, rebuild it from the verified binary and the recipe and require the same
 * sha256 of every image of that arch (hashed by the caller). Builds are reproducible, so this costs one more build and
 * proves the image was not replaced anywhere between `image` and `sign` (a cache entry rewritten with its .sha256 included).
 */
export async function assertReproduced(opts: {
  version: string;
  arch: BuildImageOptions['arch'];
  /** The binary verifyFetched verified. */
  binary: string;
  tree: BuildImageOptions['tree'];
  image: BuildImageOptions['image'];
  images: { path: string; sha256: string }[];
  log: Log;
}): Promise<void> {
  const { version, arch } = opts;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'alloy-reproduce-'));
  try {
    const rebuilt = await buildImage({
      version,
      arch,
      binary: opts.binary,
      tree: opts.tree,
      image: opts.image,
      outDir: scratch,
    });
    for (const image of opts.images) {
      if (image.sha256 !== rebuilt.sha256) {
        throw new Error(
          `refusing to sign ${image.path}: it has sha256 ${image.sha256}, but the recipe builds ${rebuilt.sha256} from the fetched ` +
            `binary. The image changed after it was built. ${recoveryAdvice(opts.tree.name, version)}`,
        );
      }
    }
    opts.log(`${arch}: rebuilt the image bit for bit (sha256 ${rebuilt.sha256}) before signing`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
