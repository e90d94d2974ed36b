// Step `manifest`: this version's SHA256SUMS entries, signed, under dist/<name>/<version>/manifest.
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic, MANIFEST, MANIFEST_SIGNATURE } from '@alloy-sysext/common';
import path from 'node:path';
import { mergeManifest, signManifest } from '@alloy-sysext/manifest';
import { imageChecker, restoreMissingImages, versionImages } from '../artifacts.js';
import { recoveryAdvice } from '../upstream-trust.js';
import { signingKeyFromEnv } from '../signing-key.js';
import type { StepContext } from '../step.js';

export async function manifestStep(ctx: StepContext): Promise<void> {
  const { recipe, version, layout, root, env, log } = ctx;
  const { key } = await signingKeyFromEnv({ env, workspaceRoot: root, identity: recipe.signing.identity, log });
  // The images and .sha256 files may be cache restores: list only what this key's .asc vouches for, byte for byte. Each
  // file is checked once; the compatibility name gets the amd64 file's verdict and sha256.
  const check = imageChecker(key.publicKeyArmored, { receipts: layout.receipts });
  const entries = [];
  const images = versionImages(recipe, version, layout.images);
  await restoreMissingImages(images, ctx);
  for (const image of images) {
    const verdict = await check(image);
    if (verdict.kind === 'refused') {
      throw new Error(`refusing to list ${image.path} in ${MANIFEST}: ${verdict.problem}\n${recoveryAdvice(recipe.name, version)}`);
    }
    entries.push({ file: image.file, sha256: verdict.sha256 });
  }
  const text = mergeManifest(null, entries);
  const signature = await signManifest(text, key);
  await mkdir(layout.manifest, { recursive: true });
  await writeFileAtomic(path.join(layout.manifest, MANIFEST), text);
  await writeFileAtomic(path.join(layout.manifest, MANIFEST_SIGNATURE), signature);
  log(text.trimEnd());
}
