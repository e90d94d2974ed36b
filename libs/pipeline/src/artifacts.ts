// The images one version consists of (names in the bucket and the files behind them), their checksum files, and the one
// check of an image file's bytes against its .sha256 and its signature.
import { createHash } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { imageFileName, parseChecksumLine, sha256File, type Log } from '@alloy-sysext/common';
import { verifyDetached } from '@alloy-sysext/signing';
import path from 'node:path';
import { restoreMissing, type BlobStore } from './blobs.js';
import { fileIdentity, verifiedSha256, writeVerifiedReceipt } from './receipts.js';
import type { Arch, Recipe } from './recipe.js';

export interface VersionImage {
  /** Its name in the bucket and in SHA256SUMS. */
  file: string;
  /** Absolute path of its bytes under dist/<name>/<version>/images: the compatibility name's are the amd64 image's file. */
  path: string;
  arch: Arch;
  /** The amd64 image's second name, `<name>-<version>.raw` (recipe `image.compatibilityCopy`): no file of its own in dist/. */
  compatibilityName: boolean;
}

/**
 * The images one version consists of, as the recipe defines them (not as found on disk: a missing one is an error): one
 * per arch, then the compatibility name, which points at the amd64 image's file (a file named like it in dist/ is never read).
 */
export function versionImages(recipe: Recipe, version: string, imagesDir: string): VersionImage[] {
  const images: VersionImage[] = recipe.arches.map((arch) => {
    const file = imageFileName(recipe.name, version, arch);
    return { file, path: path.join(imagesDir, file), arch, compatibilityName: false };
  });
  const amd64 = images.find((i) => i.arch === 'amd64');
  if (recipe.image.compatibilityCopy !== false && amd64) {
    images.push({ file: imageFileName(recipe.name, version), path: amd64.path, arch: 'amd64', compatibilityName: true });
  }
  return images;
}

/** The image files in dist/, one per arch (what image builds and sign signs): the version's images without second names. */
export function imageFiles(images: VersionImage[]): VersionImage[] {
  return images.filter((i) => !i.compatibilityName);
}

/**
 * Removes `<name>-<version>.raw` (+ `.sha256`, `.asc`) from dist/<name>/<version>/images: the file copies older builds
 * made of the amd64 image. Nothing reads them now; left in place they would go into the image target's cache entry.
 */
export async function removeCompatibilityFiles(recipe: Recipe, version: string, imagesDir: string): Promise<void> {
  const file = path.join(imagesDir, imageFileName(recipe.name, version));
  for (const f of [file, `${file}.sha256`, `${file}.asc`]) await rm(f, { force: true });
}

/**
 * Puts back the image files a cache restore left out (image's entry is their .sha256 files; the bytes are blobs), each
 * named by the .sha256 beside it. What is still missing afterwards is left to the caller's check and its message.
 */
export async function restoreMissingImages(images: Pick<VersionImage, 'path'>[], ctx: { blobs?: BlobStore; log: Log }): Promise<void> {
  if (!ctx.blobs) return;
  for (const file of new Set(images.map((i) => i.path))) {
    await restoreMissing(ctx, file, await readChecksumFile({ path: file }).catch(() => undefined));
  }
}

/** Reads the `.sha256` (sha256sum format) beside the image's file and checks it names that file. */
export async function readChecksumFile(image: Pick<VersionImage, 'path'>): Promise<string> {
  const file = `${image.path}.sha256`;
  const text = await readFile(file, 'utf8').catch(() => {
    throw new Error(`${file} is missing: run the image target for this version first`);
  });
  return parseChecksumLine(text, path.basename(image.path), file);
}

/**
 * The outcome of checking one image file: its sha256 when it verified (`receipt`: this workspace verified this very file,
 * untouched since, so it was not read again), else what is wrong (a sentence naming the file).
 */
export type ImageVerdict = { kind: 'verified'; sha256: string; receipt: boolean } | { kind: 'refused'; problem: string };

/**
 * The one check of the image files behind a version's names (dist/ may be a cache restore; manifest and publish use it):
 * the bytes hash to the `.sha256` beside them and the `.asc` beside them verifies them with `publicKey`. Each file is
 * read once for both, and judged once however many names it carries (the compatibility name is the amd64 file's). With
 * `receipts` (dist/.receipts, no target's output), a file this workspace verified before and nothing has written since
 * (same identity, .sha256, signature and key: receipts.ts) is taken as verified without reading it again; any other file,
 * a cache restore included, is read and verified in full, and receipted.
 */
export function imageChecker(
  publicKey: string,
  opts: { receipts?: string } = {},
): (image: Pick<VersionImage, 'path'>) => Promise<ImageVerdict> {
  const verdicts = new Map<string, Promise<ImageVerdict>>();
  return (image) => {
    let verdict = verdicts.get(image.path);
    if (!verdict) verdicts.set(image.path, (verdict = checkImageFile(image.path, publicKey, opts.receipts)));
    return verdict;
  };
}

async function checkImageFile(file: string, publicKey: string, receipts: string | undefined): Promise<ImageVerdict> {
  const recorded = await readChecksumFile({ path: file });
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) {
    return { kind: 'refused', problem: `${file} is missing: run the image target for this version first` };
  }
  const signature = await readFile(`${file}.asc`, 'utf8').catch(() => undefined);
  const identity = fileIdentity(st);
  if (receipts && signature !== undefined && (await verifiedSha256(receipts, file, { identity, recorded, signature, publicKey }))) {
    return { kind: 'verified', sha256: recorded, receipt: true };
  }
  // One read for the signature and the sha256 (the hash covers exactly the bytes verified). A verification that failed
  // may have stopped before the last byte, so its digest is not used: the file is hashed on its own then.
  let verifyError: Error | undefined;
  let actual: string;
  if (signature === undefined) {
    actual = await sha256File(file);
  } else {
    const digest = createHash('sha256');
    verifyError = await verifyDetached({ data: file, signature, publicKey, digest }).then(
      () => undefined,
      (error: Error) => error,
    );
    actual = verifyError ? await sha256File(file) : digest.digest('hex');
  }
  // a wrong hash first: the clearer message
  if (actual !== recorded) {
    return { kind: 'refused', problem: `${file} has sha256 ${actual} but ${path.basename(file)}.sha256 says ${recorded}` };
  }
  if (signature === undefined) {
    return { kind: 'refused', problem: `${file}.asc is missing: run the sign target for this version first` };
  }
  if (verifyError) return { kind: 'refused', problem: `${file}.asc does not verify it: ${verifyError.message}` };
  // the identity read before the bytes: a write during the read leaves a receipt that no longer holds
  if (receipts) await writeVerifiedReceipt(receipts, file, { identity, sha256: actual, signature, publicKey });
  return { kind: 'verified', sha256: actual, receipt: false };
}
