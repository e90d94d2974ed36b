// The images one version consists of and their checksum files, as the recipe defines them.
import { readFile } from 'node:fs/promises';
import { parseChecksumLine } from '@alloy-sysext/common';
import path from 'node:path';
import type { Arch, Recipe } from './recipe.js';
import { imageFile } from './recipe.js';

export interface VersionImage {
  file: string;
  /** Absolute path under dist/<name>/<version>/images. */
  path: string;
  arch: Arch;
  compatibilityCopy: boolean;
}

/** The images one version consists of, as the recipe defines them (not as found on disk: a missing one is an error). */
export function versionImages(recipe: Recipe, version: string, imagesDir: string): VersionImage[] {
  const images: VersionImage[] = recipe.arches.map((arch) => {
    const file = imageFile(recipe, version, arch);
    return { file, path: path.join(imagesDir, file), arch, compatibilityCopy: false };
  });
  if (recipe.image.compatibilityCopy !== false && recipe.arches.includes('amd64')) {
    const file = imageFile(recipe, version);
    images.push({ file, path: path.join(imagesDir, file), arch: 'amd64', compatibilityCopy: true });
  }
  return images;
}

/** Reads `<image>.sha256` (sha256sum format) and checks it names the image. */
export async function readChecksumFile(image: VersionImage): Promise<string> {
  const file = `${image.path}.sha256`;
  const text = await readFile(file, 'utf8').catch(() => {
    throw new Error(`${file} is missing: run the image target for this version first`);
  });
  return parseChecksumLine(text, image.file, file);
}
