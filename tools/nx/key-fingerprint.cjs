// The signing key's fingerprint for the Nx hash of sign and manifest (ALLOY_SIGNING_KEY_FINGERPRINT, set by plugin.cjs), so
// a new key re-signs while the key itself never enters a hash, a log or the cache. Read from the key's first packet (RFC
// 4880 §12.2: SHA-1 over its public part) instead of loading openpgp.js, which cost ~0.5 s on every nx invocation.
const { createHash, randomUUID } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ARMOR = /-----BEGIN PGP (PRIVATE|PUBLIC) KEY BLOCK-----/;

/** The key's armored text: ALLOY_SIGNING_KEY / GPG_PRIVATE_KEY (armored or base64 of it), else the development key. */
function keyText(env, workspaceRoot) {
  const value = env.ALLOY_SIGNING_KEY || env.GPG_PRIVATE_KEY;
  if (value) {
    const trimmed = value.trim();
    return trimmed.startsWith('-----BEGIN') ? trimmed : Buffer.from(trimmed.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  try {
    return fs.readFileSync(path.join(workspaceRoot, '.dev-keys/signing-key.asc'), 'utf8');
  } catch {
    return undefined;
  }
}

/** The binary packets of an armored block (headers and the CRC line dropped). */
function dearmor(text) {
  const lines = text.replace(/\r/g, '').split('\n');
  const begin = lines.findIndex((l) => ARMOR.test(l));
  if (begin === -1) throw new Error('not an armored key block');
  let i = begin + 1;
  while (i < lines.length && lines[i].trim() !== '') i++; // armor headers end at the first empty line
  const body = [];
  for (i++; i < lines.length && !lines[i].startsWith('-----END') && !lines[i].startsWith('='); i++) body.push(lines[i].trim());
  return Buffer.from(body.join(''), 'base64');
}

/** Body of the first packet, which must be a secret key packet (tag 5), or a public key packet (tag 6) when asked. */
function firstKeyPacket(bytes, expectedTag = 5) {
  const tagByte = bytes[0];
  if (!(tagByte & 0x80)) throw new Error('not an OpenPGP packet');
  let tag;
  let length;
  let offset;
  if (tagByte & 0x40) {
    tag = tagByte & 0x3f;
    const o1 = bytes[1];
    if (o1 < 192) [length, offset] = [o1, 2];
    else if (o1 < 224) [length, offset] = [((o1 - 192) << 8) + bytes[2] + 192, 3];
    else if (o1 === 255) [length, offset] = [bytes.readUInt32BE(2), 6];
    else throw new Error('partial body length in a key packet');
  } else {
    tag = (tagByte >> 2) & 0x0f;
    const type = tagByte & 0x03;
    if (type === 0) [length, offset] = [bytes[1], 2];
    else if (type === 1) [length, offset] = [bytes.readUInt16BE(1), 3];
    else if (type === 2) [length, offset] = [bytes.readUInt32BE(1), 5];
    else throw new Error('indeterminate length in a key packet');
  }
  // a public key (tag 6) in ALLOY_SIGNING_KEY is no signing key: openpgp.js refuses it below, and the hash must differ
  if (tag !== expectedTag)
    throw new Error(`first packet has tag ${tag}, expected ${expectedTag === 5 ? 'a secret' : 'a public'} key packet`);
  if (offset + length > bytes.length) throw new Error('truncated key packet');
  return bytes.subarray(offset, offset + length);
}

// Public key fields per algorithm id (RFC 4880 §5.5.2, RFC 9580 §5.5.5): an MPI, a curve OID, ECDH's KDF parameters
// (length-prefixed like an OID), or a fixed number of octets.
const PUBLIC_FIELDS = {
  1: ['mpi', 'mpi'], // RSA
  2: ['mpi', 'mpi'],
  3: ['mpi', 'mpi'],
  16: ['mpi', 'mpi', 'mpi'], // Elgamal
  17: ['mpi', 'mpi', 'mpi', 'mpi'], // DSA
  18: ['oid', 'mpi', 'oid'], // ECDH
  19: ['oid', 'mpi'], // ECDSA
  20: ['mpi', 'mpi', 'mpi'],
  22: ['oid', 'mpi'], // EdDSA (ed25519Legacy)
  25: [32], // X25519
  26: [56], // X448
  27: [32], // Ed25519
  28: [57], // Ed448
};

/** Length of a v4 key packet's public part (version, time, algorithm, public key fields), or undefined if unknown. */
function publicPartLength(body) {
  const fields = PUBLIC_FIELDS[body[5]];
  if (body[0] !== 4 || !fields) return undefined; // v3/v5/v6 or an unknown algorithm: left to openpgp.js
  let p = 6; // version, 4-byte creation time, algorithm
  for (const field of fields) {
    if (field === 'mpi') p += 2 + Math.ceil(body.readUInt16BE(p) / 8);
    else if (field === 'oid') p += 1 + body[p];
    else p += field;
  }
  return p <= body.length ? p : undefined;
}

/** Uppercase hex v4 fingerprint of an armored key, or undefined when this parser does not know the key's form. */
function v4Fingerprint(armored, expectedTag = 5) {
  const body = firstKeyPacket(dearmor(armored), expectedTag);
  const n = publicPartLength(body);
  if (n === undefined) return undefined;
  const header = Buffer.from([0x99, n >> 8, n & 0xff]);
  return createHash('sha1').update(header).update(body.subarray(0, n)).digest('hex').toUpperCase();
}

/**
 * What the hash sees: the fingerprint; with no key at all yet (a fresh clone: sign will generate its dev key) a value
 * unique to this run, so that run's entries are never restored into another clone sharing the remote cache (its dev-key
 * signatures would be refused there); 'unreadable' for a key that cannot be read (the sign target reports why).
 */
async function signingKeyFingerprint(env, workspaceRoot) {
  // A job that verifies but never signs holds the public key alone: its fingerprint is the private key's, so that job
  // restores what the signing job stored.
  if (!env.ALLOY_SIGNING_KEY && !env.GPG_PRIVATE_KEY && env.ALLOY_SIGNING_PUBLIC_KEY) {
    return fingerprintOf(env.ALLOY_SIGNING_PUBLIC_KEY.trim(), 6, (openpgp, armoredKey) => openpgp.readKey({ armoredKey }));
  }
  const text = keyText(env, workspaceRoot);
  if (!text) return `no-key-yet-${randomUUID()}`;
  return fingerprintOf(text, 5, (openpgp, armoredKey) => openpgp.readPrivateKey({ armoredKey }));
}

/** The packet parser's answer, else openpgp.js's (`read`), else 'unreadable'. */
async function fingerprintOf(armored, tag, read) {
  try {
    const quick = v4Fingerprint(armored, tag);
    if (quick) return quick;
  } catch {
    // not a form this parser knows: openpgp.js decides below
  }
  try {
    return (await read(await import('openpgp'), armored)).getFingerprint().toUpperCase();
  } catch {
    return 'unreadable';
  }
}

module.exports = { signingKeyFingerprint, v4Fingerprint };
