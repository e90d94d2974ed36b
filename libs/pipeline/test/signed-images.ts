// dist/<version>/images as image and sign leave it, for the tests of the later steps: random bytes per image file
// (manifest and publish check hashes and signatures, not formats), each with its checksum file and signature.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '@alloy-sysext/common';
import { mergeManifest, signManifest } from '@alloy-sysext/manifest';
import { writeSignature, type SigningKey } from '@alloy-sysext/signing';
import { imageFiles, versionImages, type VersionImage } from '../src/artifacts.js';
import { versionLayout } from '../src/layout.js';
import { MANIFEST, MANIFEST_SIGNATURE } from '../src/names.js';
import type { Recipe } from '../src/recipe.js';

/** Writes `version`'s image files into `dir` signed by `key`; returns every image name (the compatibility one too). */
export async function writeSignedImages(recipe: Recipe, version: string, dir: string, key: SigningKey, bytes: number) {
  await mkdir(dir, { recursive: true });
  const images: VersionImage[] = versionImages(recipe, version, dir);
  for (const image of imageFiles(images)) {
    await writeFile(image.path, randomBytes(bytes));
    await writeFile(`${image.path}.sha256`, `${await sha256File(image.path)}  ${image.file}\n`);
    await writeSignature(image.path, key);
  }
  return images;
}

/** dist/ for `version` as manifest leaves it under `workspaceRoot`: the signed images and the signed SHA256SUMS of them. */
export async function writeSignedVersion(workspaceRoot: string, recipe: Recipe, version: string, key: SigningKey) {
  const layout = versionLayout(workspaceRoot, recipe, version);
  await mkdir(layout.manifest, { recursive: true });
  const images = await writeSignedImages(recipe, version, layout.images, key, 4096);
  // every name, the compatibility one included (it is the amd64 file's)
  const entries = await Promise.all(images.map(async (i) => ({ file: i.file, sha256: await sha256File(i.path) })));
  const text = mergeManifest(null, entries);
  await writeFile(path.join(layout.manifest, MANIFEST), text);
  await writeFile(path.join(layout.manifest, MANIFEST_SIGNATURE), await signManifest(text, key));
  return { layout, entries };
}
