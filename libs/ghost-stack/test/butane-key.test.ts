import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { parse } from 'yaml';
import { execa } from 'execa';
import { readKeyring, type KeyringKey } from '@alloy-sysext/signing';
import { ButaneError, KeyEntryUpdater, readKeyEntry, readPinned } from '../src/index.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');
/** ghost-stack's layout: the release key inline at /etc/systemd/alloy-sysext.gpg.pub (the e2e test key). */
const GHOST = fixture('ghost-with-key.bu');
const GHOST_KEY_PATH = '/etc/systemd/alloy-sysext.gpg.pub';
const OLD = 'D23EA1FEF045A40CA24ECB3046B0426485FE8513';
const SNIPPET_KEY_PATH = '/etc/alloy-sysext/alloy-release-key.gpg';

let dir: string;
let fresh: KeyringKey;
let third: KeyringKey;
let freshArmored: string;

/** The armored key block of the fixture, as its lines (indent included). */
const oldBlock = () => {
  const lines = GHOST.split('\n');
  const begin = lines.findIndex((l) => l.trim() === '-----BEGIN PGP PUBLIC KEY BLOCK-----');
  const end = lines.findIndex((l) => l.trim() === '-----END PGP PUBLIC KEY BLOCK-----');
  return lines.slice(begin, end + 1).join('\n');
};
const indented = (armored: string) =>
  armored
    .trimEnd()
    .split('\n')
    .map((l) => (l ? `          ${l}` : ''))
    .join('\n');

/** What gpg imports from a text: the primary fingerprints, as the host's merge script would see them. */
async function gpgImports(text: string | Uint8Array): Promise<string[]> {
  const home = await mkdtemp(join(dir, 'gnupg-'));
  await writeFile(join(home, 'keys'), text);
  await execa('gpg', ['--homedir', home, '--batch', '--quiet', '--import', join(home, 'keys')]);
  const { stdout } = await execa('gpg', ['--homedir', home, '--batch', '--with-colons', '--list-keys']);
  return stdout
    .split('\n')
    .filter((l, i, all) => l.startsWith('fpr:') && all[i - 1]?.startsWith('pub:'))
    .map((l) => l.split(':')[9]!)
    .sort();
}

/** A snippet-installed consumer: the release keyring as a base64 data URL, as the published Butane snippet writes it. */
const snippetStyle = (keyring: Uint8Array) =>
  [
    'variant: flatcar',
    'version: 1.0.0',
    'storage:',
    '  files:',
    `    - path: ${SNIPPET_KEY_PATH}`,
    '      mode: 0644',
    '      contents:',
    `        source: data:;base64,${Buffer.from(keyring).toString('base64')}`,
    '    - path: /etc/motd',
    '      contents:',
    '        inline: hello',
    '',
  ].join('\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'butane-key-'));
  const make = async (name: string) => {
    const k = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name, email: 'k@example.org' }] });
    return { armored: k.publicKey, key: (await readKeyring(k.publicKey))[0]! };
  };
  const a = await make('New release key');
  [fresh, freshArmored] = [a.key, a.armored];
  third = (await make('Third')).key;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the key entry kept inline (ghost-stack)', () => {
  const updater = new KeyEntryUpdater(GHOST_KEY_PATH);

  it('reads which keys the entry holds', async () => {
    const entry = await readKeyEntry(GHOST, { keyPath: GHOST_KEY_PATH });
    expect(entry).toMatchObject({ path: GHOST_KEY_PATH, form: 'inline', line: 51 });
    expect(entry.keys.map((k) => k.fingerprint)).toEqual([OLD]);
  });

  it('adding a key appends its armored block after the old one and changes no other byte; gpg imports both', async () => {
    const out = await updater.addKey(GHOST, fresh);
    const block = oldBlock();
    const added = indented((await openpgp.readKey({ armoredKey: freshArmored })).armor()); // openpgp.js writes the CRC line as gpg does
    expect(out).toBe(GHOST.replace(block, `${block}\n\n${added}`));
    const inline = (parse(out) as { storage: { files: Array<{ path: string; contents: { inline: string } }> } }).storage.files.find(
      (f) => f.path === GHOST_KEY_PATH,
    )!.contents.inline;
    expect(await gpgImports(inline)).toEqual([OLD, fresh.fingerprint].sort());
    // the pin is untouched
    expect(readPinned(out, { arch: 'amd64' })).toEqual(readPinned(GHOST, { arch: 'amd64' }));
    await expect(updater.addKey(out, fresh)).rejects.toThrow(`${GHOST_KEY_PATH} already holds key ${fresh.fingerprint}`);
  });

  it('removing the old key after a rotation leaves the file as it was with the new block in the old one’s place', async () => {
    const rotated = await updater.addKey(GHOST, fresh);
    const retired = await updater.removeKey(rotated, OLD);
    const added = indented((await openpgp.readKey({ armoredKey: freshArmored })).armor()); // openpgp.js writes the CRC line as gpg does
    expect(retired).toBe(GHOST.replace(oldBlock(), added));
    // and removing the newer one instead keeps the old block byte for byte
    expect(await updater.removeKey(rotated, fresh.fingerprint)).toBe(GHOST);
  });

  it('refuses to remove the last key, a key it does not hold, and a file without the entry', async () => {
    await expect(updater.removeKey(GHOST, OLD)).rejects.toThrow(
      `${OLD} is the only key in ${GHOST_KEY_PATH}; refusing to leave hosts without a release key`,
    );
    await expect(updater.removeKey(GHOST, fresh.fingerprint)).rejects.toThrow(`does not hold key ${fresh.fingerprint}`);
    const err = await readKeyEntry(fixture('ghost.bu'), { keyPath: GHOST_KEY_PATH, label: 'o/r:ghost.bu' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ButaneError);
    expect((err as Error).message).toBe(
      `o/r:ghost.bu: no storage.files entry with path ${GHOST_KEY_PATH}; is that where this file installs the release keys (the consumer's keyPath)?`,
    );
  });

  it('one armored block holding two keys: removing one writes the other back as one block in its place', async () => {
    const armor = (binary: Uint8Array) => openpgp.armor(openpgp.enums.armor.publicKey, binary, undefined, undefined, undefined, true);
    const both = Buffer.concat([(await readKeyEntry(GHOST, { keyPath: GHOST_KEY_PATH })).keys[0]!.binary, fresh.binary]);
    const two = GHOST.replace(oldBlock(), indented(armor(both)));
    expect((await readKeyEntry(two, { keyPath: GHOST_KEY_PATH })).keys.map((k) => k.fingerprint)).toEqual([OLD, fresh.fingerprint]);
    const out = await updater.removeKey(two, OLD);
    expect(out).toBe(GHOST.replace(oldBlock(), indented(armor(fresh.binary))));
  });
});

describe('the key entry installed by the snippet (a data: URL of a binary keyring)', () => {
  const updater = new KeyEntryUpdater(SNIPPET_KEY_PATH);

  it('adds and removes a key by rewriting only the base64 payload; the keyring holds each key’s exact bytes', async () => {
    const before = snippetStyle(fresh.binary);
    expect((await readKeyEntry(before, { keyPath: SNIPPET_KEY_PATH })).form).toBe('data-url');
    const added = await updater.addKey(before, third);
    expect(added).toBe(snippetStyle(Buffer.concat([fresh.binary, third.binary])));
    expect(await gpgImports(Buffer.concat([fresh.binary, third.binary]))).toEqual([fresh.fingerprint, third.fingerprint].sort());
    expect(await updater.removeKey(added, fresh.fingerprint)).toBe(snippetStyle(third.binary));
  });

  it('refuses a source that is not a base64 data: URL, naming the entry', async () => {
    const remote = snippetStyle(fresh.binary).replace(/data:;base64,\S+/, 'https://example.com/key.gpg');
    await expect(readKeyEntry(remote, { keyPath: SNIPPET_KEY_PATH, label: 'f.bu' })).rejects.toThrow(
      `f.bu: storage.files entry ${SNIPPET_KEY_PATH} at line 5: contents.source "https://example.com/key.gpg" is not a data: URL`,
    );
  });
});
