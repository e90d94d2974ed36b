// Local receipts, keyed by content hashes: fetch records the binary it inflated from a zip, image what it built
// (binary, settings, image sha256), so verifyFetched need not inflate again and sign need not rebuild bytes built here;
// manifest and publish record an image file they verified, so the same file, untouched since, is not read again.
// They live in dist/.receipts, outside every Nx output (no cache restores one); forging one takes write access to this
// workspace, which already owns its sources and keys.
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
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

/**
 * What manifest or publish verified here: the image file with this identity (device, inode, size, mtime and ctime: any
 * write, replacement, copy or cache restore changes one of them, and no utimes() puts a ctime back) hashed to `sha256`
 * and its signature (by its sha256) verified with the public key (by its sha256).
 */
export interface VerifiedReceipt {
  receipt: typeof RECEIPT_VERSION;
  identity: string;
  sha256: string;
  signatureSha256: string;
  publicKeySha256: string;
}

const digestOf = (text: string) => createHash('sha256').update(text).digest('hex');

/** The identity of a file's bytes as its metadata tells it: what a verification receipt is keyed by. */
export function fileIdentity(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** dist/.receipts/<name>/<version>/verified-<file>.json */
function verifiedReceiptFile(receiptsDir: string, file: string): string {
  return path.join(receiptsDir, `verified-${path.basename(file)}.json`);
}

/**
 * The sha256 this workspace verified `file` to have, when its receipt holds for exactly this identity, this `.sha256`
 * record, this signature text and this public key; else undefined (the caller reads and verifies the file).
 */
export async function verifiedSha256(
  receiptsDir: string,
  file: string,
  now: { identity: string; recorded: string; signature: string; publicKey: string },
): Promise<string | undefined> {
  const text = await readFile(verifiedReceiptFile(receiptsDir, file), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const r = JSON.parse(text) as VerifiedReceipt;
    const holds =
      r?.receipt === RECEIPT_VERSION &&
      r.identity === now.identity &&
      r.sha256 === now.recorded &&
      r.signatureSha256 === digestOf(now.signature) &&
      r.publicKeySha256 === digestOf(now.publicKey);
    return holds ? r.sha256 : undefined;
  } catch {
    return undefined;
  }
}

/** Records that `file` (with this identity, read before it was verified) hashed to `sha256` and its signature verified. */
export async function writeVerifiedReceipt(
  receiptsDir: string,
  file: string,
  verified: { identity: string; sha256: string; signature: string; publicKey: string },
): Promise<void> {
  const receipt: VerifiedReceipt = {
    receipt: RECEIPT_VERSION,
    identity: verified.identity,
    sha256: verified.sha256,
    signatureSha256: digestOf(verified.signature),
    publicKeySha256: digestOf(verified.publicKey),
  };
  await mkdir(receiptsDir, { recursive: true });
  await writeFileAtomic(verifiedReceiptFile(receiptsDir, file), `${JSON.stringify(receipt, null, 2)}\n`);
}
