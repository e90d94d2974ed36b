// Private/public key loading. A SigningKey wraps an unlocked openpgp.js key; the secret material is kept in a
// module-private WeakMap so that nothing reachable from the object (JSON, util.inspect, spread, String()) exposes it.
import * as openpgp from 'openpgp';
import { inspect } from 'node:util';
import { assertKeyPolicy } from './policy.js';

const ARMOR_PRIVATE = '-----BEGIN PGP PRIVATE KEY BLOCK-----';
const ARMOR_PUBLIC = '-----BEGIN PGP PUBLIC KEY BLOCK-----';

const secrets = new WeakMap<SigningKey, openpgp.PrivateKey>();

export class SigningKey {
  /** Uppercase hex fingerprint of the primary key (40 hex digits for a v4 key). */
  readonly fingerprint: string;
  /** Armored public key (transferable public key: primary, user IDs, subkeys). */
  readonly publicKeyArmored: string;

  /** @internal use loadPrivateKey() or generateKey(). */
  constructor(key: openpgp.PrivateKey) {
    this.fingerprint = key.getFingerprint().toUpperCase();
    this.publicKeyArmored = key.toPublic().armor();
    secrets.set(this, key);
    Object.freeze(this);
  }

  /** Binary public key in `gpg --export` form, usable as a keyring file (import-pubring.gpg). */
  publicKeyBinary(): Uint8Array {
    return unlockedKey(this).toPublic().write();
  }

  // Accidental logging must show only the fingerprint.
  toJSON(): { fingerprint: string } {
    return { fingerprint: this.fingerprint };
  }
  toString(): string {
    return `SigningKey(${this.fingerprint})`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

/** @internal the unlocked openpgp.js key behind a SigningKey; not exported from the package index. */
export function unlockedKey(key: SigningKey): openpgp.PrivateKey {
  const k = secrets.get(key);
  if (!k) throw new TypeError('expected a SigningKey from loadPrivateKey() or generateKey()');
  return k;
}

/** Accepts the armored block itself or base64 of it (the old pipeline's GPG_PRIVATE_KEY secret). Never echoes input. */
function armoredFromText(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith(ARMOR_PRIVATE)) return trimmed;
  if (trimmed.startsWith(ARMOR_PUBLIC)) {
    throw new Error('private key: got an armored PUBLIC key block; expected a private key (-----BEGIN PGP PRIVATE KEY BLOCK-----)');
  }
  const compact = trimmed.replace(/\s+/g, '');
  if (compact.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    const decoded = Buffer.from(compact, 'base64').toString('utf8').trim();
    if (decoded.startsWith(ARMOR_PRIVATE)) return decoded;
    if (decoded.startsWith(ARMOR_PUBLIC)) {
      throw new Error('private key: base64 input decodes to a PUBLIC key block; expected a private key');
    }
  }
  throw new Error(
    `private key: expected an armored OpenPGP private key (${ARMOR_PRIVATE}) or base64 of one; ` +
      `got ${trimmed.length} characters that are neither`,
  );
}

export async function loadPrivateKey(text: string, opts: { passphrase?: string } = {}): Promise<SigningKey> {
  const armoredKey = armoredFromText(text);
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey });
  } catch (e) {
    throw new Error(`private key: not a readable OpenPGP private key (${(e as Error).message})`);
  }
  const fpr = key.getFingerprint().toUpperCase();
  if (!key.isDecrypted()) {
    if (opts.passphrase === undefined || opts.passphrase === '') {
      throw new Error(`private key ${fpr} is passphrase-protected; pass its passphrase`);
    }
    try {
      key = await openpgp.decryptKey({ privateKey: key, passphrase: opts.passphrase });
    } catch {
      // openpgp's message carries no secret, but ours is clearer and guaranteed not to.
      throw new Error(`private key ${fpr}: the passphrase given does not unlock it`);
    }
  }
  await assertKeyPolicy(key);
  return new SigningKey(key);
}

export interface PublicKeyInfo {
  /** Uppercase hex fingerprint of the primary key. */
  fingerprint: string;
  /** Key packet version (4 for keys gpg 2.2 understands). */
  version: number;
  /** User IDs as written in the key, e.g. "Alloy sysext <ops@example.org>". */
  userIds: string[];
  /** Armored form, normalized (only public material even if a private key was passed). */
  armored: string;
  /** Binary form, as `gpg --export` writes it: a keyring file (import-pubring.gpg). */
  binary: Uint8Array;
}

export async function readPublicKey(armored: string): Promise<PublicKeyInfo> {
  let key: openpgp.Key;
  try {
    key = await openpgp.readKey({ armoredKey: armored.trim() });
  } catch (e) {
    throw new Error(`public key: expected an armored OpenPGP public key (${ARMOR_PUBLIC}); ${(e as Error).message}`);
  }
  const pub = key.isPrivate() ? key.toPublic() : key;
  return {
    fingerprint: pub.getFingerprint().toUpperCase(),
    version: pub.keyPacket.version,
    userIds: pub.getUserIDs(),
    armored: pub.armor(),
    binary: pub.write(),
  };
}
