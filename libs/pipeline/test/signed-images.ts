// dist/<version>/images as image and sign leave it, for the tests of the later steps: random bytes per image file
// (manifest and publish check hashes and signatures, not formats), each with its checksum file and signature.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { sha256File } from '@alloy-sysext/common';
import { writeSignature, type SigningKey } from '@alloy-sysext/signing';
import { imageFiles, versionImages, type VersionImage } from '../src/artifacts.js';
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
