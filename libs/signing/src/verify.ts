// Verification of detached signatures against one public key (publish re-checks artifacts with it).
import type { Hash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { drain, fileWebStream } from './streams.js';

export interface VerifyOptions {
  /** A file path (streamed) or the signed bytes. */
  data: string | Uint8Array;
  /** Armored detached signature. */
  signature: string;
  /** Armored public key that must have made the signature. */
  publicKey: string;
  /** Also receives every byte of a file `data` as it is verified (a caller that needs its sha256 reads it once). */
  digest?: Hash;
}

// Parsed public keys by armored text: publish verifies several signatures against the same key in one run.
const parsedKeys = new Map<string, Promise<openpgp.Key>>();

function readPublicKey(armored: string): Promise<openpgp.Key> {
  let key = parsedKeys.get(armored);
  if (!key) {
    if (parsedKeys.size >= 16) parsedKeys.clear();
    key = openpgp.readKey({ armoredKey: armored });
    key.catch(() => parsedKeys.delete(armored));
    parsedKeys.set(armored, key);
  }
  return key;
}

export async function verifyDetached(opts: VerifyOptions): Promise<{ fingerprint: string }> {
  const what = typeof opts.data === 'string' ? opts.data : `${opts.data.length} bytes`;
  let key: openpgp.Key;
  try {
    key = await readPublicKey(opts.publicKey.trim());
  } catch (e) {
    throw new Error(`verify ${what}: publicKey is not an armored OpenPGP key (${(e as Error).message})`);
  }
  const fpr = key.getFingerprint().toUpperCase();
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature: opts.signature.trim() });
  } catch (e) {
    throw new Error(`verify ${what}: signature is not an armored OpenPGP signature (${(e as Error).message})`);
  }
  const message =
    typeof opts.data === 'string'
      ? await openpgp.createMessage({ binary: (await fileWebStream(opts.data, 'verify', opts.digest)) as any, format: 'binary' })
      : await openpgp.createMessage({ binary: opts.data, format: 'binary' });
  const result = await openpgp.verify({ message, signature, verificationKeys: key, format: 'binary' });
  // The verdict is only known once the data has been read through the hash.
  await drain(result.data);
  if (result.signatures.length === 0) throw new Error(`verify ${what}: the signature holds no signature packets`);
  const keyIds = result.signatures.map((s) => s.keyID.toHex().toUpperCase());
  const errors: string[] = [];
  for (const s of result.signatures) {
    try {
      await s.verified;
      return { fingerprint: fpr };
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (!keyIds.some((id) => key.getKeyIDs().some((k) => k.toHex().toUpperCase() === id))) {
    throw new Error(`verify ${what}: signature was made by key ID ${keyIds.join(', ')}, not by the expected key ${fpr}`);
  }
  throw new Error(`verify ${what}: BAD signature by ${fpr}; the data does not match what was signed (${errors.join('; ')})`);
}

/**
 * Whether `signature` (armored, detached) names one of `publicKey`'s keys (primary or subkey) as its issuer, undefined
 * when it is not a readable signature. It says who claims to have signed, not that the signature is valid
 * (verifyDetached says that).
 */
export async function signatureIssuedBy(signature: string, publicKey: string): Promise<boolean | undefined> {
  const sig = await openpgp.readSignature({ armoredSignature: signature.trim() }).catch(() => undefined);
  if (!sig) return undefined;
  const ours = (await readPublicKey(publicKey.trim())).getKeyIDs();
  return sig.getSigningKeyIDs().some((id) => ours.some((k) => k.equals(id)));
}
