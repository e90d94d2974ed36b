// Local receipts, keyed by content hashes: fetch records the binary it inflated from a zip, image what it built (binary, settings,
// image sha256), so verifyFetched need not inflate again and sign need not rebuild bytes built here. They live in dist/.receipts, outside
// every Nx output (no cache restores one); forging one takes write access to this workspace, which already owns its sources and keys.
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

/** What fetch (or verifyFetched) inflated here: the zip with `zipSha256` holds `entry` with `entrySha256`. */
export interface EntryReceipt {
  receipt: typeof RECEIPT_VERSION;
  zipSha256: string;
  entry: string;
  entrySha256: string;
}

/** dist/.receipts/<name>/<version>/upstream-<arch>.json */
export function entryReceiptFile(receiptsDir: string, arch: Arch): string {
  return path.join(receiptsDir, `upstream-${arch}.json`);
}

export async function writeEntryReceipt(receiptsDir: string, arch: Arch, receipt: Omit<EntryReceipt, 'receipt'>): Promise<void> {
  await mkdir(receiptsDir, { recursive: true });
  await writeFileAtomic(entryReceiptFile(receiptsDir, arch), `${JSON.stringify({ receipt: RECEIPT_VERSION, ...receipt }, null, 2)}\n`);
}

/** The sha256 of `entry` in the zip with `zipSha256` if this workspace inflated that zip itself, else undefined. */
export async function receiptEntrySha256(receiptsDir: string, arch: Arch, zipSha256: string, entry: string): Promise<string | undefined> {
  const text = await readFile(entryReceiptFile(receiptsDir, arch), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const r = JSON.parse(text) as EntryReceipt;
    const ok = r?.receipt === RECEIPT_VERSION && r.zipSha256 === zipSha256 && r.entry === entry && /^[0-9a-f]{64}$/.test(r.entrySha256);
    return ok ? r.entrySha256 : undefined;
  } catch {
    return undefined;
  }
}

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
