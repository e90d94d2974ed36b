// Local build receipts: `image` records what it built in this workspace (binary sha256, build settings, image sha256) so
// `sign` can skip its proving rebuild for bytes built here, and only for those. Receipts live in dist/.receipts, outside
// every Nx output: no local or remote cache entry restores or carries them. Forging one takes write access to this
// workspace, which already lets its holder change the sources, the tools and the key handling, so it opens nothing new.
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '@alloy-sysext/common';
import type { BuildSettings } from '@alloy-sysext/sysext-image';
import type { Arch } from './recipe.js';

/** Bumped when the receipt's meaning changes; a receipt of another version is ignored (sign then rebuilds). */
const RECEIPT_VERSION = 1;

/** What `image` built here: from the binary with `binarySha256`, with `settings`, the image with `imageSha256`. */
export interface BuildReceipt {
  receipt: typeof RECEIPT_VERSION;
  binarySha256: string;
  settings: BuildSettings;
  image: string;
  imageSha256: string;
}

/** What sign knows now: the binary verifyFetched just verified, the settings it would build with, each image hashed now. */
export interface BuildClaim {
  binarySha256: string;
  settings: BuildSettings;
  images: { file: string; sha256: string }[];
}

/** The outcome of checking a claim against this workspace's receipt: built here, or why the rebuild must prove it. */
export type ReceiptCheck =
  { kind: 'built-here'; receipt: string } | { kind: 'no-receipt'; why: string } | { kind: 'mismatch'; why: string };

/** dist/.receipts/<name>/<version>/<arch>.json (dist/ is per workspace and .receipts is no target's output). */
export function receiptFile(receiptsDir: string, arch: Arch): string {
  return path.join(receiptsDir, `${arch}.json`);
}

/** Drops the receipt before a build, so a failed or interrupted build never leaves one describing other bytes. */
export async function forgetBuildReceipt(receiptsDir: string, arch: Arch): Promise<void> {
  await rm(receiptFile(receiptsDir, arch), { force: true });
}

export async function writeBuildReceipt(receiptsDir: string, receipt: Omit<BuildReceipt, 'receipt'>): Promise<string> {
  const file = receiptFile(receiptsDir, receipt.settings.arch);
  await mkdir(receiptsDir, { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify({ receipt: RECEIPT_VERSION, ...receipt }, null, 2)}\n`);
  return file;
}

/**
 * Whether every image in the claim is, byte for byte, what `image` built here from the same binary with the same settings.
 * Anything else (no receipt, another binary or setting, an image whose bytes differ: replaced, or restored from a cache
 * with other bytes) is a named reason to rebuild.
 */
export async function checkBuildReceipt(receiptsDir: string, claim: BuildClaim): Promise<ReceiptCheck> {
  const file = receiptFile(receiptsDir, claim.settings.arch);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return { kind: 'no-receipt', why: `no build receipt at ${file} (the image was not built in this workspace)` };
  let receipt: BuildReceipt;
  try {
    receipt = JSON.parse(text) as BuildReceipt;
  } catch {
    return { kind: 'mismatch', why: `${file} is not JSON` };
  }
  if (receipt?.receipt !== RECEIPT_VERSION) return { kind: 'mismatch', why: `${file} is not a version ${RECEIPT_VERSION} receipt` };
  if (receipt.binarySha256 !== claim.binarySha256) {
    return {
      kind: 'mismatch',
      why: `${file} records binary sha256 ${receipt.binarySha256}, the verified binary has ${claim.binarySha256}`,
    };
  }
  if (JSON.stringify(receipt.settings) !== JSON.stringify(claim.settings)) {
    return { kind: 'mismatch', why: `${file} records other build settings than this run's` };
  }
  for (const image of claim.images) {
    if (image.sha256 !== receipt.imageSha256) {
      return {
        kind: 'mismatch',
        why: `${image.file} has sha256 ${image.sha256}, but ${file} records ${receipt.imageSha256} as built here`,
      };
    }
  }
  return { kind: 'built-here', receipt: file };
}
