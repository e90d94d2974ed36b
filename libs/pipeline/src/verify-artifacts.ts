import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Manifest } from '@alloy-sysext/manifest';
import { verifyDetached } from '@alloy-sysext/signing';
import { imageChecker, type VersionImage } from './artifacts.js';
import { MANIFEST } from './names.js';

/**
 * This version's SHA256SUMS entries from dist/<name>/<version>/manifest (it may come from a cache): believed only when
 * SHA256SUMS.gpg beside it verifies with the release key, which signed them after checking each image.
 */
export async function verifiedFragment(manifestDir: string, publicKey: string): Promise<Manifest> {
  const manifestFile = path.join(manifestDir, MANIFEST);
  const manifestText = await readFile(manifestFile, 'utf8').catch(() => {
    throw new Error(`${manifestFile} is missing: run the manifest target for this version first`);
  });
  const manifestSignature = await readFile(`${manifestFile}.gpg`, 'utf8').catch(() => {
    throw new Error(`${manifestFile}.gpg is missing: run the manifest target for this version first`);
  });
  await verifyDetached({ data: new TextEncoder().encode(manifestText), signature: manifestSignature, publicKey }).catch((error: Error) => {
    throw new Error(`refusing to publish: ${manifestFile}.gpg does not verify: ${error.message}`);
  });
  return Manifest.parse(manifestText);
}

/**
 * Publish trusts nothing it finds in dist/ (it may come from a cache): every image must hash to its .sha256 and to this
 * version's manifest entry, and carry a valid signature by the expected key. Returns the manifest entries.
 */
export async function verifyArtifacts(opts: {
  images: VersionImage[];
  manifestDir: string;
  publicKey: string;
  /** dist/.receipts of this version: files verified before and untouched since are not read again (artifacts.ts). */
  receipts?: string;
}): Promise<{ file: string; sha256: string }[]> {
  const manifestFile = path.join(opts.manifestDir, MANIFEST);
  const manifest = await verifiedFragment(opts.manifestDir, opts.publicKey);
  const check = imageChecker(opts.publicKey, { receipts: opts.receipts });
  const entries = [];
  for (const image of opts.images) {
    const verdict = await check(image);
    if (verdict.kind === 'refused') throw new Error(`refusing to publish: ${verdict.problem}`);
    const listed = manifest.get(image.file)?.sha256;
    if (listed !== verdict.sha256) {
      throw new Error(
        `refusing to publish: ${image.path} has sha256 ${verdict.sha256} but ${manifestFile} lists ${listed ?? 'no entry'} for ${image.file}`,
      );
    }
    entries.push({ file: image.file, sha256: verdict.sha256 });
  }
  return entries;
}
