import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as openpgp from 'openpgp';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { armorPublicKeys, readKeyring } from '../src/index.js';

let dir: string;
const keys: Array<{ fingerprint: string; armored: string; privateArmored: string }> = [];

/** gpg's own view of a keyring file: the primary fingerprints it imports from it. */
async function gpgFingerprints(file: string): Promise<string[]> {
  const home = await mkdtemp(join(dir, 'gnupg-'));
  await execa('gpg', ['--homedir', home, '--batch', '--quiet', '--import', file]);
  const { stdout } = await execa('gpg', ['--homedir', home, '--batch', '--with-colons', '--list-keys']);
  return stdout
    .split('\n')
    .filter((l, i, all) => l.startsWith('fpr:') && all[i - 1]?.startsWith('pub:'))
    .map((l) => l.split(':')[9]!);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyring-test-'));
  for (const name of ['Old', 'New']) {
    const k = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name, email: 'k@example.org' }] });
    const pub = await openpgp.readKey({ armoredKey: k.publicKey });
    keys.push({ fingerprint: pub.getFingerprint().toUpperCase(), armored: k.publicKey, privateArmored: k.privateKey });
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readKeyring', () => {
  it('splits a gpg --export keyring into its keys, each with its exact bytes, as gpg reads it', async () => {
    const home = await mkdtemp(join(dir, 'gnupg-'));
    for (const k of keys) {
      await writeFile(join(home, 'k.asc'), k.armored);
      await execa('gpg', ['--homedir', home, '--batch', '--quiet', '--import', join(home, 'k.asc')]);
    }
    const exported = (await execa('gpg', ['--homedir', home, '--batch', '--export'], { encoding: 'buffer', stripFinalNewline: false }))
      .stdout;
    const read = await readKeyring(new Uint8Array(exported));
    expect(read.map((k) => k.fingerprint).sort()).toEqual(keys.map((k) => k.fingerprint).sort());
    expect(Buffer.concat(read.map((k) => k.binary))).toEqual(Buffer.from(exported));
    // one key's bytes alone are a keyring gpg reads as exactly that key
    await writeFile(join(dir, 'one.gpg'), read[1]!.binary);
    expect(await gpgFingerprints(join(dir, 'one.gpg'))).toEqual([read[1]!.fingerprint]);
  });

  it('reads every armored block of a text, and armorPublicKeys writes a block gpg imports', async () => {
    const text = `# comment\n${keys[0]!.armored}\n${keys[1]!.armored}`;
    expect((await readKeyring(text)).map((k) => k.fingerprint)).toEqual(keys.map((k) => k.fingerprint));
    const both = Buffer.concat((await readKeyring(text)).map((k) => k.binary));
    await writeFile(join(dir, 'both.asc'), armorPublicKeys(both));
    expect((await gpgFingerprints(join(dir, 'both.asc'))).sort()).toEqual(keys.map((k) => k.fingerprint).sort());
    // two armored blocks back to back in one file: gpg imports both (the form a consumer's inline key entry takes)
    await writeFile(join(dir, 'two-blocks.asc'), `${keys[0]!.armored}\n${keys[1]!.armored}`);
    expect((await gpgFingerprints(join(dir, 'two-blocks.asc'))).sort()).toEqual(keys.map((k) => k.fingerprint).sort());
  });

  it('refuses a private key and text without a key, naming what was read', async () => {
    await expect(readKeyring(keys[0]!.privateArmored, 'new-key.asc')).rejects.toThrow(
      'new-key.asc holds a PRIVATE key; only public keys belong there',
    );
    const secret = (await openpgp.readPrivateKey({ armoredKey: keys[0]!.privateArmored })).write();
    await expect(readKeyring(secret, 'the keyring')).rejects.toThrow('the keyring holds a PRIVATE key');
    await expect(readKeyring('hello', 'x.asc')).rejects.toThrow('x.asc holds no armored OpenPGP public key');
    await expect(readKeyring(new Uint8Array([1, 2, 3]), 'x.gpg')).rejects.toThrow('x.gpg: keyring: byte 0 is not an OpenPGP packet header');
  });
});
