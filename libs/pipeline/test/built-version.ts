// dist/ for a version as the chain leaves it, for tests of publish: signed images (see signed-images.ts) and the
// version's signed SHA256SUMS.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '@alloy-sysext/common';
import { mergeManifest, signManifest } from '@alloy-sysext/manifest';
import type { SigningKey } from '@alloy-sysext/signing';
import { versionLayout } from '../src/layout.js';
import { MANIFEST, MANIFEST_SIGNATURE } from '../src/names.js';
import type { Recipe } from '../src/recipe.js';
import { writeSignedImages } from './signed-images.js';

export async function builtVersion(root: string, recipe: Recipe, version: string, key: SigningKey) {
  const layout = versionLayout(root, recipe, version);
  await mkdir(layout.manifest, { recursive: true });
  const images = await writeSignedImages(recipe, version, layout.images, key, 4096);
  // every name, the compatibility one included (it is the amd64 file's)
  const entries = await Promise.all(images.map(async (i) => ({ file: i.file, sha256: await sha256File(i.path) })));
  const text = mergeManifest(null, entries);
  await writeFile(path.join(layout.manifest, MANIFEST), text);
  await writeFile(path.join(layout.manifest, MANIFEST_SIGNATURE), await signManifest(text, key));
  return layout;
}
