import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Manifest } from '@alloy-sysext/manifest';
import { sha256File } from '@alloy-sysext/common';
import { verifyDetached } from '@alloy-sysext/signing';
import { readChecksumFile, type VersionImage } from './artifacts.js';
import { MANIFEST } from './names.js';

/**
 * Publish trusts nothing it finds in dist/ (it may come from a cache): every image must hash to its .sha256 and to this
 * version's manifest entry, and carry a valid signature by the expected key. Returns the manifest entries.
 */
export async function verifyArtifacts(opts: {
  images: VersionImage[];
  manifestDir: string;
  publicKey: string;
}): Promise<{ file: string; sha256: string }[]> {
  const manifestFile = path.join(opts.manifestDir, MANIFEST);
  const manifestText = await readFile(manifestFile, 'utf8').catch(() => {
    throw new Error(`${manifestFile} is missing: run the manifest target for this version first`);
  });
  const manifestSignature = await readFile(`${manifestFile}.gpg`, 'utf8').catch(() => {
    throw new Error(`${manifestFile}.gpg is missing: run the manifest target for this version first`);
  });
  await verifyDetached({ data: new TextEncoder().encode(manifestText), signature: manifestSignature, publicKey: opts.publicKey }).catch(
    (error: Error) => {
      throw new Error(`refusing to publish: ${manifestFile}.gpg does not verify: ${error.message}`);
    },
  );
  const manifest = Manifest.parse(manifestText);
  // (sha256, signature) pairs verified in this call: the compatibility copy carries its arch image's bytes and signature,
  // so it is hashed (one read) but its signature is not verified a second time.
  const verified = new Set<string>();
  const verifiedSignatures = new Set<string>();
  const entries = [];
  for (const image of opts.images) {
    const recorded = await readChecksumFile(image);
    await stat(image.path).catch(() => {
      throw new Error(`refusing to publish: ${image.path} is missing`);
    });
    const signatureFile = `${image.path}.asc`;
    const signature = await readFile(signatureFile, 'utf8').catch(() => undefined);
    // One read of the image for both its signature and its sha256 (the hash covers exactly the bytes verified); hash
    // mismatches are reported first, as the clearer message. A verification that failed may have stopped before the
    // last byte, so its digest is not used: the file is hashed on its own then.
    let verifyError: Error | undefined;
    let actual: string;
    const seenSignature = signature !== undefined && verifiedSignatures.has(signature);
    if (signature === undefined || seenSignature) {
      actual = await sha256File(image.path);
    } else {
      const digest = createHash('sha256');
      verifyError = await verifyDetached({ data: image.path, signature, publicKey: opts.publicKey, digest }).then(
        () => undefined,
        (error: Error) => error,
      );
      actual = verifyError ? await sha256File(image.path) : digest.digest('hex');
    }
    if (actual !== recorded) {
      throw new Error(`refusing to publish: ${image.path} has sha256 ${actual} but ${image.file}.sha256 says ${recorded}`);
    }
    const listed = manifest.get(image.file)?.sha256;
    if (listed !== actual) {
      throw new Error(`refusing to publish: ${image.path} has sha256 ${actual} but ${manifestFile} lists ${listed ?? 'no entry'}`);
    }
    if (signature === undefined) {
      throw new Error(`refusing to publish: ${signatureFile} is missing: run the sign target for this version first`);
    }
    if (seenSignature && !verified.has(`${actual}\n${signature}`)) {
      // the same signature over other bytes: verify it for real (it cannot hold, but the message must come from openpgp)
      verifyError = await verifyDetached({ data: image.path, signature, publicKey: opts.publicKey }).then(
        () => undefined,
        (error: Error) => error,
      );
    }
    if (verifyError) throw new Error(`refusing to publish: ${signatureFile} does not verify ${image.file}: ${verifyError.message}`);
    verified.add(`${actual}\n${signature}`);
    verifiedSignatures.add(signature);
    entries.push({ file: image.file, sha256: actual });
  }
  return entries;
}
