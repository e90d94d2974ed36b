// dist/ for one version as the chain leaves it, for publish tests: images are random bytes (publish checks hashes and
// signatures, not formats), each with its .sha256 and .asc, and the version's signed SHA256SUMS fragment.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '@alloy-sysext/common';
import { mergeManifest, signManifest } from '@alloy-sysext/manifest';
import { writeSignature, type SigningKey } from '@alloy-sysext/signing';
import { imageFiles, versionImages } from '../src/artifacts.js';
import { versionLayout } from '../src/layout.js';
import { MANIFEST, MANIFEST_SIGNATURE } from '../src/names.js';
import type { Recipe } from '../src/recipe.js';

/** The version's layout under `<ws>/<key fingerprint>`, built once (a second call returns it as it is). */
export async function builtVersion(ws: string, recipe: Recipe, version: string, key: SigningKey) {
  const layout = versionLayout(path.join(ws, key.fingerprint), recipe, version);
  if (
    await readFile(path.join(layout.manifest, MANIFEST)).then(
      () => true,
      () => false,
    )
  )
    return layout;
  await mkdir(layout.images, { recursive: true });
  await mkdir(layout.manifest, { recursive: true });
  const images = versionImages(recipe, version, layout.images);
  for (const image of imageFiles(images)) {
    await writeFile(image.path, randomBytes(4096));
    await writeFile(`${image.path}.sha256`, `${await sha256File(image.path)}  ${image.file}\n`);
    await writeSignature(image.path, key);
  }
  // every name, the compatibility one included (it is the amd64 file's)
  const entries = await Promise.all(images.map(async (i) => ({ file: i.file, sha256: await sha256File(i.path) })));
  const text = mergeManifest(null, entries);
  await writeFile(path.join(layout.manifest, MANIFEST), text);
  await writeFile(path.join(layout.manifest, MANIFEST_SIGNATURE), await signManifest(text, key));
  return layout;
}
