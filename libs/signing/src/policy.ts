// Which keys we sign with. Everything we publish must verify under gpg 2.2 (systemd-sysupdate shells out to it) and
// Sequoia (sqop). Both reject RFC 9580-only material: v6 keys, the new Ed25519/Ed448/X25519 algorithm IDs ("curve25519"
// in openpgp.js 6) and SHA-3. Refusing such keys at load time beats publishing signatures nobody can check.
import * as openpgp from 'openpgp';

/**
 * Hash requested for every signature: SHA-256 for RSA keys (asserted by the tests via gpg's VALIDSIG). For
 * ed25519Legacy keys openpgp.js raises it to SHA-512, the minimum RFC 9580 sets for that curve; gpg 2.2 and sqop
 * verify that too.
 */
export const SIGNATURE_HASH = openpgp.enums.hash.sha256;
export const SIGNING_CONFIG = { preferredHashAlgorithm: SIGNATURE_HASH } as const;

const SHA3 = new Set<number>([openpgp.enums.hash.sha3_256, openpgp.enums.hash.sha3_512]);
const ALLOWED_ALGORITHMS = new Set<string>(['rsaEncryptSign', 'rsaSign', 'eddsaLegacy', 'ecdsa']);
const ADVICE = 'use a v4 RSA-4096 or ed25519Legacy key (e.g. one made by generateKey())';

export async function assertKeyPolicy(key: openpgp.PrivateKey): Promise<void> {
  const fpr = key.getFingerprint().toUpperCase();
  if (key.keyPacket.version !== 4) {
    throw new Error(`private key ${fpr} is a v${key.keyPacket.version} key; gpg 2.2 and sqop verify only v4 keys: ${ADVICE}`);
  }
  const self = await selfSignature(key, fpr);
  if (SHA3.has(self.hashAlgorithm ?? -1)) {
    throw new Error(`private key ${fpr} is self-signed with ${hashName(self.hashAlgorithm ?? -1)}, which gpg 2.2 cannot check: ${ADVICE}`);
  }
  // openpgp.js lists SHA-3 *after* SHA-256/512 by default, which gpg simply ignores; a key that prefers SHA-3 first
  // was made deliberately for RFC 9580 peers and is refused.
  const firstPref = self.preferredHashAlgorithms?.[0];
  if (firstPref !== undefined && SHA3.has(firstPref)) {
    throw new Error(`private key ${fpr} prefers ${hashName(firstPref)} (SHA-3), which gpg 2.2 cannot verify: ${ADVICE}`);
  }
  let signing: openpgp.PrivateKey | openpgp.Subkey;
  try {
    signing = await key.getSigningKey(undefined, undefined, undefined, { ...openpgp.config, ...SIGNING_CONFIG });
  } catch (e) {
    throw new Error(`private key ${fpr} has no valid signing key or subkey (${(e as Error).message})`);
  }
  const info = signing.getAlgorithmInfo();
  if (!ALLOWED_ALGORITHMS.has(info.algorithm)) {
    const hint = info.algorithm === 'ed25519' || info.algorithm === 'ed448' ? ' (RFC 9580 "curve25519"/"curve448" keys)' : '';
    throw new Error(`private key ${fpr} signs with ${info.algorithm}${hint}, which gpg 2.2 cannot verify: ${ADVICE}`);
  }
  if (info.algorithm.startsWith('rsa') && (info.bits ?? 0) < 2048) {
    throw new Error(`private key ${fpr} is RSA-${info.bits}; expected at least 2048 bits: ${ADVICE}`);
  }
  if (signing !== key && 'bindingSignatures' in signing) {
    for (const b of signing.bindingSignatures) {
      if (SHA3.has(b.hashAlgorithm ?? -1)) {
        throw new Error(
          `private key ${fpr}: its signing subkey is bound with ${hashName(b.hashAlgorithm ?? -1)}, which gpg 2.2 cannot check: ${ADVICE}`,
        );
      }
    }
  }
}

async function selfSignature(key: openpgp.PrivateKey, fpr: string): Promise<openpgp.SignaturePacket> {
  try {
    return (await key.getPrimaryUser()).selfCertification;
  } catch (e) {
    throw new Error(`private key ${fpr} has no valid self-signature (${(e as Error).message})`);
  }
}

function hashName(id: number): string {
  return (openpgp.enums.read(openpgp.enums.hash, id) as string | undefined) ?? `hash #${id}`;
}
