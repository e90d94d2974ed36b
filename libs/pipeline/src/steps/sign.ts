// Step `sign`: prove each image is what the recipe makes from the verified binary (this workspace's build receipt, else a
// rebuild bit for bit), then sign it.
import path from 'node:path';
import { sha256File, writeFileAtomic } from '@alloy-sysext/common';
import { buildSettings } from '@alloy-sysext/sysext-image';
import { signFile } from '@alloy-sysext/signing';
import { imageFiles, restoreMissingImages, versionImages, type VersionImage } from '../artifacts.js';
import { checkBuildReceipt } from '../receipts.js';
import { assertReproduced } from '../reproduce.js';
import { signingKeyFromEnv } from '../signing-key.js';
import type { StepContext } from '../step.js';
import { verifiedEntries, verifyFetched } from '../upstream-trust.js';
import { imageSettings, type ImageStepOptions } from './image.js';

export async function signStep(ctx: StepContext, options: ImageStepOptions = {}): Promise<void> {
  const { recipe, version, layout, root, env, log } = ctx;
  const image = imageSettings(recipe, options);
  const files = imageFiles(versionImages(recipe, version, layout.images));
  await restoreMissingImages(files, ctx);
  // verifiedEntries proves which binary upstream's zip holds (dist/ may be a cache restore); the receipt or the rebuild
  // proves image = f(binary). Both only read and hash, so they share the two cores.
  const [images, entries] = await Promise.all([hashImages(files), verifiedEntries(ctx, options)]);
  let binaries: Awaited<ReturnType<typeof verifyFetched>> | undefined;
  for (const arch of recipe.arches) {
    const ofArch = images.filter((i) => i.arch === arch);
    const settings = await buildSettings({ version, arch, tree: recipe.tree, image });
    const receipt = await checkBuildReceipt(layout.receipts, { binarySha256: entries[arch].sha256, settings, images: ofArch });
    if (receipt.kind === 'built-here') {
      log(
        `${arch}: ${ofArch.map((i) => i.file).join(', ')} built here by image (receipt ${path.relative(root, receipt.receipt)}); not rebuilt`,
      );
      continue;
    }
    log(`${arch}: ${receipt.why}: rebuilding to prove the image`);
    // the rebuild needs the binary itself, verified (inflated from the verified zip when dist/.work has none)
    binaries ??= await verifyFetched(ctx, options);
    await assertReproduced({ version, arch, binary: binaries[arch].path, tree: recipe.tree, image, images: ofArch, log });
  }
  const { key, source } = await signingKeyFromEnv({ env, workspaceRoot: root, identity: recipe.signing.identity, log });
  // One signature per image file; the compatibility name is published with the amd64 image's (publish.ts).
  for (const image of images) {
    await writeFileAtomic(`${image.path}.asc`, await signFile(image.path, key));
    log(`${image.file}.asc: signed by ${key.fingerprint} (${source})`);
  }
}

/** Each image of the version with its sha256 now (one read each); a missing one says which target makes it. */
async function hashImages(images: VersionImage[]): Promise<(VersionImage & { sha256: string })[]> {
  const hashed = [];
  for (const image of images) {
    const sha256 = await sha256File(image.path).catch((error: Error) => {
      throw new Error(`${image.path} cannot be read (${error.message}): run the image target for this version first`, { cause: error });
    });
    hashed.push({ ...image, sha256 });
  }
  return hashed;
}
