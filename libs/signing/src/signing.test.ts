import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as openpgp from 'openpgp';
import { inspect } from 'node:util';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  generateKey,
  loadPrivateKey,
  readPublicKey,
  signBytes,
  signCleartext,
  signFile,
  verifyCleartext,
  verifyDetached,
  writeSignature,
  type GeneratedKey,
  type SigningKey,
} from './index.js';
import { gpgVerify, gpgVerifyCleartext, gpgVerifyWithKeyring, sqopVerify } from '../test/verifiers.js';

let dir: string;
let gen: GeneratedKey;
let key: SigningKey;
let otherKey: SigningKey; // ed25519Legacy, quick to make; also proves that algorithm is accepted
let data: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'signing-test-'));
  gen = await generateKey({ identity: 'Alloy sysext test <test@example.org>', outDir: join(dir, 'keys') });
  key = await loadPrivateKey(await readFile(gen.privateKeyPath, 'utf8'));
  const other = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Other', email: 'o@example.org' }],
    format: 'armored',
  });
  otherKey = await loadPrivateKey(other.privateKey);
  data = join(dir, 'payload.raw');
  await writeFile(data, randomBytes(5 * 1024 * 1024 + 123));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generateKey', () => {
  it('writes a v4 RSA-4096 key: private 0600, armored public, binary keyring gpg reads', async () => {
    expect(gen.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    expect((await stat(gen.privateKeyPath)).mode & 0o777).toBe(0o600);
    const pub = await readPublicKey(await readFile(gen.publicKeyPath, 'utf8'));
    expect(pub).toMatchObject({ fingerprint: gen.fingerprint, version: 4, userIds: ['Alloy sysext test <test@example.org>'] });
    // the binary form is the keyring generateKey writes (what publish uploads as import-pubring.gpg)
    expect(Buffer.from(pub.binary).equals(await readFile(gen.keyringPath))).toBe(true);
    const home = await mkdtemp(join(tmpdir(), 'gnupg-'));
    try {
      const r = await execa('gpg', [
        '--homedir',
        home,
        '--batch',
        '--with-colons',
        '--no-default-keyring',
        '--keyring',
        gen.keyringPath,
        '--list-keys',
      ]);
      const pubLine = r.stdout.split('\n').find((l) => l.startsWith('pub:'))!;
      expect(pubLine.split(':')[2]).toBe('4096'); // key length
      expect(pubLine.split(':')[3]).toBe('1'); // RSA
      expect(r.stdout).toContain(`fpr:::::::::${gen.fingerprint}:`);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
    expect(key.fingerprint).toBe(gen.fingerprint);
  });

  it('refuses to overwrite an existing key and rejects a malformed identity', async () => {
    await expect(generateKey({ identity: 'X <x@example.org>', outDir: join(dir, 'keys') })).rejects.toThrow(
      /already exists; refusing to overwrite/,
    );
    await expect(generateKey({ identity: 'no email here', outDir: join(dir, 'k2') })).rejects.toThrow(
      /identity "no email here": expected "Name <email@example.org>"/,
    );
  });
});

describe('loadPrivateKey', () => {
  it('accepts armored and base64-of-armored text with the same result', async () => {
    const armored = await readFile(gen.privateKeyPath, 'utf8');
    const b64 = Buffer.from(armored)
      .toString('base64')
      .replace(/(.{76})/g, '$1\n');
    const k = await loadPrivateKey(b64);
    expect(k.fingerprint).toBe(gen.fingerprint);
    expect(k.publicKeyArmored).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
  });

  it('never shows secret material when the key is logged', async () => {
    const shown = [JSON.stringify(key), inspect(key), String(key), inspect({ key }), `${key}`].join('\n');
    expect(shown).toContain(gen.fingerprint);
    expect(shown).not.toMatch(/PRIVATE KEY|PUBLIC KEY|secret/i);
    expect(inspect(key, { showHidden: true, depth: 5 })).toBe(`SigningKey(${gen.fingerprint})`);
    // Spreading exposes only public fields.
    expect(Object.keys({ ...key }).sort()).toEqual(['fingerprint', 'publicKeyArmored']);
    expect(JSON.parse(JSON.stringify(key))).toEqual({ fingerprint: gen.fingerprint });
  });

  it('needs the right passphrase and never repeats it', async () => {
    const out = join(dir, 'pp');
    const pp = await generateKey({ identity: 'PP <pp@example.org>', outDir: out, passphrase: 'correct horse battery' });
    const text = await readFile(pp.privateKeyPath, 'utf8');
    await expect(loadPrivateKey(text)).rejects.toThrow(`private key ${pp.fingerprint} is passphrase-protected; pass its passphrase`);
    const wrong = loadPrivateKey(text, { passphrase: 'wrong-passphrase-xyz' });
    await expect(wrong).rejects.toThrow(`private key ${pp.fingerprint}: the passphrase given does not unlock it`);
    await expect(wrong).rejects.not.toThrow(/wrong-passphrase-xyz/);
    const k = await loadPrivateKey(text, { passphrase: 'correct horse battery' });
    const sig = join(out, 'p.asc');
    await writeFile(sig, await signFile(data, k));
    expect((await gpgVerify(k.publicKeyArmored, sig, data)).ok).toBe(true);
  });

  it('refuses keys gpg 2.2 cannot verify, and input that is not a private key', async () => {
    const uid = [{ name: 'R', email: 'r@example.org' }];
    const v6 = await openpgp.generateKey({ type: 'curve25519', userIDs: uid, format: 'armored', config: { v6Keys: true } });
    await expect(loadPrivateKey(v6.privateKey)).rejects.toThrow(/is a v6 key; gpg 2\.2 and sqop verify only v4 keys/);
    const c25519 = await openpgp.generateKey({ type: 'curve25519', userIDs: uid, format: 'armored' });
    await expect(loadPrivateKey(c25519.privateKey)).rejects.toThrow(
      /ed25519 \(RFC 9580 "curve25519"\/"curve448" keys\), which gpg 2\.2 cannot verify/,
    );
    const sha3 = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: uid,
      format: 'armored',
      config: { preferredHashAlgorithm: openpgp.enums.hash.sha3_512 },
    });
    await expect(loadPrivateKey(sha3.privateKey)).rejects.toThrow(/sha3_512.*gpg 2\.2 cannot/);
    await expect(loadPrivateKey(key.publicKeyArmored)).rejects.toThrow(/got an armored PUBLIC key block/);
    await expect(loadPrivateKey('hunter2 not a key')).rejects.toThrow(/expected an armored OpenPGP private key .* got 17 characters/);
    await expect(loadPrivateKey('hunter2 not a key')).rejects.not.toThrow(/hunter2/);
  });
});

describe('signatures', () => {
  it('signFile: gpg, sqop and verifyDetached accept it; SHA-256; armored detached', async () => {
    const armored = await signFile(data, key);
    expect(armored).toMatch(/^-----BEGIN PGP SIGNATURE-----\n/);
    const sig = join(dir, 'payload.raw.asc');
    await writeFile(sig, armored);
    const g = await gpgVerify(key.publicKeyArmored, sig, data);
    expect(g.ok).toBe(true);
    expect(g.validsig![0]).toBe(gen.fingerprint);
    expect(g.validsig![7]).toBe('8'); // hash algorithm 8 = SHA-256
    expect(g.validsig![8]).toBe('00'); // binary document signature
    expect((await sqopVerify(key.publicKeyArmored, sig, data)).ok).toBe(true);
    expect(await verifyDetached({ data, signature: armored, publicKey: key.publicKeyArmored })).toEqual({ fingerprint: gen.fingerprint });
    expect((await gpgVerifyWithKeyring(gen.keyringPath, sig, data)).ok).toBe(true);
  });

  it('a tampered file is rejected by gpg, sqop and verifyDetached', async () => {
    const armored = await signFile(data, key);
    const sig = join(dir, 't.asc');
    await writeFile(sig, armored);
    const tampered = join(dir, 'tampered.raw');
    const bytes = await readFile(data);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(tampered, bytes);
    expect((await gpgVerify(key.publicKeyArmored, sig, tampered)).ok).toBe(false);
    expect((await sqopVerify(key.publicKeyArmored, sig, tampered)).ok).toBe(false);
    await expect(verifyDetached({ data: tampered, signature: armored, publicKey: key.publicKeyArmored })).rejects.toThrow(
      new RegExp(`verify ${tampered}: BAD signature by ${gen.fingerprint}`),
    );
  });

  it('digest: one read gives the signature verdict and the sha256 of exactly the bytes verified', async () => {
    const armored = await signFile(data, key);
    const digest = createHash('sha256');
    await verifyDetached({ data, signature: armored, publicKey: key.publicKeyArmored, digest });
    expect(digest.digest('hex')).toBe(
      createHash('sha256')
        .update(await readFile(data))
        .digest('hex'),
    );
    // the parsed key is reused across calls, and another key still does not verify this signature
    await expect(verifyDetached({ data, signature: armored, publicKey: otherKey.publicKeyArmored })).rejects.toThrow(
      /not by the expected key/,
    );
    expect(await verifyDetached({ data, signature: armored, publicKey: key.publicKeyArmored })).toEqual({ fingerprint: gen.fingerprint });
  });

  it('a signature by another key is rejected by gpg, sqop and verifyDetached', async () => {
    const armored = await signFile(data, otherKey);
    const sig = join(dir, 'o.asc');
    await writeFile(sig, armored);
    // ed25519Legacy is fine for gpg. Its 189-byte signature armors without '=' padding: without the CRC24 line
    // gpg 2.2 exits 2 here (GnuPG T7071), so this also guards the checksum.
    expect(armored).toMatch(/\n=[A-Za-z0-9+/]{4}\n-----END PGP SIGNATURE-----\n?$/);
    expect((await gpgVerify(otherKey.publicKeyArmored, sig, data)).ok).toBe(true);
    expect((await gpgVerify(key.publicKeyArmored, sig, data)).ok).toBe(false);
    expect((await sqopVerify(key.publicKeyArmored, sig, data)).ok).toBe(false);
    await expect(verifyDetached({ data, signature: armored, publicKey: key.publicKeyArmored })).rejects.toThrow(
      /signature was made by key ID [0-9A-F]{16}, not by the expected key/,
    );
  });

  it('signBytes signs exactly the bytes; writeSignature writes <path>.asc atomically', async () => {
    const bytes = new TextEncoder().encode('abc\n');
    const armored = await signBytes(bytes, key);
    expect(await verifyDetached({ data: bytes, signature: armored, publicKey: key.publicKeyArmored })).toEqual({
      fingerprint: gen.fingerprint,
    });
    await expect(
      verifyDetached({ data: new TextEncoder().encode('abd\n'), signature: armored, publicKey: key.publicKeyArmored }),
    ).rejects.toThrow(/BAD signature/);

    const sub = await mkdtemp(join(dir, 'ws-'));
    const file = join(sub, 'alloy-1.2.3-amd64.raw');
    await writeFile(file, bytes);
    const ascPath = await writeSignature(file, key);
    expect(ascPath).toBe(`${file}.asc`);
    expect((await readdir(sub)).sort()).toEqual(['alloy-1.2.3-amd64.raw', 'alloy-1.2.3-amd64.raw.asc']);
    expect((await gpgVerify(key.publicKeyArmored, ascPath, file)).ok).toBe(true);
    expect((await sqopVerify(key.publicKeyArmored, ascPath, file)).ok).toBe(true);
  });

  it('names the missing file', async () => {
    await expect(signFile(join(dir, 'nope.raw'), key)).rejects.toThrow(`sign: file not found: ${join(dir, 'nope.raw')}`);
    await expect(verifyDetached({ data: join(dir, 'nope.raw'), signature: 'x', publicKey: key.publicKeyArmored })).rejects.toThrow(
      /signature is not an armored OpenPGP signature/,
    );
  });
});

describe('cleartext-signed statements', () => {
  it('gpg verifies the object as published; verifyCleartext returns exactly the signed text, by a trusted key only', async () => {
    const text = '{\n  "sequence": 3,\n  "versions": ["1.0.0"]\n}\n-- a line gpg dash-escapes\n';
    const signed = await signCleartext(text, key);
    expect(signed).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n/);
    const file = join(dir, 'state.asc');
    await writeFile(file, signed);
    const g = await gpgVerifyCleartext(key.publicKeyArmored, file);
    expect(g.ok).toBe(true);
    expect(g.validsig![0]).toBe(gen.fingerprint);
    expect(await verifyCleartext(signed, [otherKey.publicKeyArmored, key.publicKeyArmored])).toEqual({
      text,
      fingerprint: gen.fingerprint,
    });
    expect(await verifyCleartext(signed, [otherKey.publicKeyArmored])).toBeUndefined();
    const edited = signed.replace('"sequence": 3', '"sequence": 4');
    await writeFile(file, edited);
    expect((await gpgVerifyCleartext(key.publicKeyArmored, file)).ok).toBe(false);
    expect(await verifyCleartext(edited, [key.publicKeyArmored])).toBeUndefined();
    expect(await verifyCleartext('not signed at all', [key.publicKeyArmored])).toBeUndefined();
    await expect(signCleartext('trailing space \n', key)).rejects.toThrow('a line ends in whitespace');
  });
});
