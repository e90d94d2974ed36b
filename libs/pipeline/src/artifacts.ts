// The images one version consists of and their checksum files, as the recipe defines them.
import { readFile } from 'node:fs/promises';
import { parseChecksumLine } from '@alloy-sysext/common';
import { verifyDetached } from '@alloy-sysext/signing';
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

/**
 * Verifies images' detached signatures against one public key. An image whose sha256 (hashed by the caller) and signature
 * text equal those of one already verified gets that verdict without being read again: the compatibility copy is its
 * arch's image byte for byte, and sign gives both the same signature.
 */
export function imageSignatureChecker(publicKey: string): (image: { path: string; sha256: string }, signature: string) => Promise<void> {
  const verdicts = new Map<string, Promise<void>>();
  return (image, signature) => {
    const key = `${image.sha256}\n${signature}`;
    let verdict = verdicts.get(key);
    if (!verdict) {
      verdict = verifyDetached({ data: image.path, signature, publicKey }).then(() => undefined);
      verdicts.set(key, verdict);
    }
    return verdict;
  };
}
