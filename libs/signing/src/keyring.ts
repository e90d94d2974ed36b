// Public keys as hosts hold them: a binary keyring (`gpg --export`, keys back to back) or armored text (one or more
// PUBLIC KEY BLOCKs). Each key is returned with its own bytes, so an edit that drops one key keeps the others exact.
import * as openpgp from 'openpgp';

export interface KeyringKey {
  /** Uppercase hex fingerprint of the primary key. */
  fingerprint: string;
  /** User IDs as written in the key, e.g. "Alloy sysext <ops@example.org>". */
  userIds: string[];
  /** Key packet version (4 for keys gpg 2.2 understands). */
  version: number;
  /** This key's packets exactly as they appear in the input (binary), or as the armor decodes to. */
  binary: Uint8Array;
}

const PUBLIC_KEY_TAG = 6;
const SECRET_KEY_TAG = 5;

/** Tag and total length (header included) of the OpenPGP packet at `at` (RFC 9580 §4.2, both header formats). */
function packetAt(bytes: Uint8Array, at: number): { tag: number; end: number } {
  const first = bytes[at]!;
  if ((first & 0x80) === 0) throw new Error(`keyring: byte ${at} is not an OpenPGP packet header`);
  const need = (n: number) => {
    if (at + n > bytes.length) throw new Error(`keyring: packet at byte ${at} is truncated`);
  };
  let tag: number;
  let header: number;
  let length: number;
  if (first & 0x40) {
    tag = first & 0x3f;
    need(2);
    const l0 = bytes[at + 1]!;
    if (l0 < 192) [header, length] = [2, l0];
    else if (l0 < 224) {
      need(3);
      [header, length] = [3, ((l0 - 192) << 8) + bytes[at + 2]! + 192];
    } else if (l0 === 255) {
      need(6);
      [header, length] = [6, ((bytes[at + 2]! << 24) | (bytes[at + 3]! << 16) | (bytes[at + 4]! << 8) | bytes[at + 5]!) >>> 0];
    } else throw new Error(`keyring: packet at byte ${at} has a partial length, which key packets never use`);
  } else {
    tag = (first >> 2) & 0x0f;
    const type = first & 0x03;
    if (type === 3) throw new Error(`keyring: packet at byte ${at} has an indeterminate length`);
    const n = [1, 2, 4][type]!;
    need(1 + n);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[at + 1 + i]!;
    header = 1 + n;
  }
  const end = at + header + length;
  if (end > bytes.length) throw new Error(`keyring: packet at byte ${at} runs past the end (${end} > ${bytes.length})`);
  return { tag, end };
}

/** Splits a binary keyring into its keys at each primary public-key packet; a secret key is refused. */
async function splitBinary(bytes: Uint8Array, what: string): Promise<KeyringKey[]> {
  const starts: number[] = [];
  for (let at = 0; at < bytes.length;) {
    let packet: { tag: number; end: number };
    try {
      packet = packetAt(bytes, at);
    } catch (error) {
      throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
    }
    const { tag, end } = packet;
    if (tag === SECRET_KEY_TAG) throw new Error(`${what} holds a PRIVATE key; only public keys belong there`);
    if (tag === PUBLIC_KEY_TAG) starts.push(at);
    else if (starts.length === 0) throw new Error(`${what} does not start with a public key packet`);
    at = end;
  }
  const keys: KeyringKey[] = [];
  for (let i = 0; i < starts.length; i++) {
    const binary = bytes.subarray(starts[i], starts[i + 1] ?? bytes.length);
    const key = await openpgp.readKey({ binaryKey: binary }).catch((error: Error) => {
      throw new Error(`${what}: key ${i + 1} is not a readable OpenPGP public key (${error.message})`);
    });
    keys.push({ fingerprint: key.getFingerprint().toUpperCase(), userIds: key.getUserIDs(), version: key.keyPacket.version, binary });
  }
  return keys;
}

const ARMOR_BLOCK = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

/** The armored blocks of a text, in order, with where each starts and ends. */
export function armoredBlocks(text: string): Array<{ start: number; end: number; armored: string }> {
  return [...text.matchAll(ARMOR_BLOCK)].map((m) => ({ start: m.index, end: m.index + m[0].length, armored: m[0] }));
}

/**
 * The public keys in a keyring: binary (`gpg --export`), or text with one or more armored PUBLIC KEY BLOCKs. Refuses a
 * private key (it must never be copied into a consumer's file) and input that holds no key, naming `what`.
 */
export async function readKeyring(input: Uint8Array | string, what = 'keyring'): Promise<KeyringKey[]> {
  let keys: KeyringKey[] = [];
  if (typeof input === 'string') {
    const blocks = armoredBlocks(input);
    if (blocks.length === 0) throw new Error(`${what} holds no armored OpenPGP public key (-----BEGIN PGP PUBLIC KEY BLOCK-----)`);
    for (const block of blocks) {
      if (block.armored.includes('PRIVATE KEY BLOCK')) throw new Error(`${what} holds a PRIVATE key; only public keys belong there`);
      const { data } = await openpgp.unarmor(block.armored).catch((error: Error) => {
        throw new Error(`${what}: an armored block is not readable (${error.message})`);
      });
      keys.push(...(await splitBinary(data as Uint8Array, what)));
    }
  } else {
    keys = await splitBinary(input, what);
  }
  if (keys.length === 0) throw new Error(`${what} holds no OpenPGP public key`);
  return keys;
}

/** Armored text of public keys given as binary: one PUBLIC KEY BLOCK with its CRC line, as gpg writes it. */
export function armorPublicKeys(binary: Uint8Array): string {
  return openpgp.armor(openpgp.enums.armor.publicKey, binary, undefined, undefined, undefined, true);
}
