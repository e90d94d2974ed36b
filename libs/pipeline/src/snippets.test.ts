import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { butaneSnippet, keyringMergeScript, releaseKeyPaths } from './snippets.js';

const recipe = { name: 'alloy', bucket: { name: 'b', prefix: 'alloy/', publicUrl: 'https://sysext.example.com/alloy' } };
let dir: string;
/** A gpg home with two real keys: the release key and another vendor's key already on the host. */
const keys = { release: { fpr: '', file: '' }, other: { fpr: '', file: '' } };
const gpg = (...args: string[]) =>
  execa('gpg', ['--homedir', join(dir, 'gnupg'), '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snippet-keyring-'));
  await mkdir(join(dir, 'gnupg'), { mode: 0o700 });
  for (const [who, uid] of [
    ['release', 'Alloy sysext release <release@example.com>'],
    ['other', 'Flatcar bakery <bakery@example.com>'],
  ] as const) {
    await gpg('--quick-gen-key', uid, 'ed25519', 'sign', 'never');
    const { stdout } = await gpg('--with-colons', '--list-keys', uid);
    keys[who].fpr = /^fpr:+([0-9A-F]{40}):/m.exec(stdout)![1]!;
    keys[who].file = join(dir, `${who}.gpg`);
    // --output, not stdout: execa strips a final newline byte, which corrupts a key whose last byte happens to be 0x0a
    await gpg('--export', '--output', keys[who].file, keys[who].fpr);
  }
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const snippet = () =>
  butaneSnippet({
    recipe,
    version: '1.10.2',
    arch: 'amd64',
    sha256: 'a'.repeat(64),
    keyring: new Uint8Array([1, 2, 3]),
    fingerprint: 'F'.repeat(40),
  });

/** The merge script exactly as the snippet installs it on hosts. */
function scriptFromSnippet(): string {
  // Butane (go-yaml) reads `mode: 0755` as octal, as YAML 1.1 does
  const doc = parse(snippet(), { version: '1.1' }) as {
    storage: { files: Array<{ path: string; mode?: number; contents: { inline?: string } }> };
  };
  const entry = doc.storage.files.find((f) => f.path === releaseKeyPaths(recipe).script)!;
  expect(entry.mode).toBe(0o755);
  return entry.contents.inline!;
}

/** Does `keyring` verify a signature made by `fpr`? (gpgv, as a verifier that trusts exactly that keyring) */
async function verifies(keyring: string, fpr: string): Promise<boolean> {
  const data = join(dir, 'data.txt');
  await writeFile(data, `signed by ${fpr}\n`);
  await rm(`${data}.sig`, { force: true });
  await gpg('--local-user', fpr, '--detach-sign', '--output', `${data}.sig`, data);
  return (await execa('gpgv', ['--keyring', keyring, `${data}.sig`, data], { reject: false })).exitCode === 0;
}

async function runMerge(key: string, ring: string, vendor: string) {
  const script = join(dir, 'merge.sh');
  await writeFile(script, scriptFromSnippet());
  await chmod(script, 0o755);
  await execa(script, [key, ring, vendor], { env: { PATH: process.env.PATH! } });
}

describe('butaneSnippet release key', () => {
  it('installs the key as its own file and a oneshot merge unit, never /etc/systemd/import-pubring.gpg itself', () => {
    const text = snippet();
    const doc = parse(text, { version: '1.1' }) as {
      storage: { files: Array<{ path: string; contents: { source?: string } }> };
      systemd: { units: Array<{ name: string; enabled: boolean; contents?: string }> };
    };
    const paths = doc.storage.files.map((f) => f.path);
    expect(paths).not.toContain('/etc/systemd/import-pubring.gpg');
    expect(doc.storage.files.find((f) => f.path === '/etc/alloy-sysext/alloy-release-key.gpg')!.contents.source).toBe('data:;base64,AQID');
    const unit = doc.systemd.units.find((u) => u.name === 'alloy-release-key.service')!;
    expect(unit.enabled).toBe(true);
    expect(unit.contents).toContain('Type=oneshot\n');
    expect(unit.contents).toContain('Before=systemd-sysupdate.service\n');
    expect(unit.contents).toContain('ExecStart=/etc/alloy-sysext/alloy-merge-release-key.sh\n');
    expect(scriptFromSnippet()).toBe(keyringMergeScript(recipe));
    expect(text).not.toContain('${'); // safe to paste into a Terraform template
  });

  it('merges the release key into a keyring that already holds another key; a second run changes nothing', async () => {
    const etc = join(dir, 'etc-case');
    await mkdir(etc);
    const ring = join(etc, 'import-pubring.gpg');
    await writeFile(ring, await readFile(keys.other.file));
    expect(await verifies(ring, keys.other.fpr)).toBe(true);
    expect(await verifies(ring, keys.release.fpr)).toBe(false);

    await runMerge(keys.release.file, ring, join(etc, 'no-vendor.gpg'));
    expect(await verifies(ring, keys.other.fpr)).toBe(true);
    expect(await verifies(ring, keys.release.fpr)).toBe(true);
    expect((await stat(ring)).mode & 0o777).toBe(0o644);

    const once = await readFile(ring);
    const mtime = (await stat(ring)).mtimeMs;
    await runMerge(keys.release.file, ring, join(etc, 'no-vendor.gpg'));
    expect((await readFile(ring)).equals(once)).toBe(true);
    expect((await stat(ring)).mtimeMs).toBe(mtime);
  }, 60_000);

  it('starts from the /usr/lib keyring when /etc has none, leaving the vendor keyring untouched', async () => {
    const root = join(dir, 'vendor-case');
    await mkdir(join(root, 'usr'), { recursive: true });
    const vendor = join(root, 'usr', 'import-pubring.gpg');
    await writeFile(vendor, await readFile(keys.other.file));
    const before = await readFile(vendor);
    const ring = join(root, 'etc', 'systemd', 'import-pubring.gpg');
    await runMerge(keys.release.file, ring, vendor);
    expect(await verifies(ring, keys.other.fpr)).toBe(true);
    expect(await verifies(ring, keys.release.fpr)).toBe(true);
    expect((await readFile(vendor)).equals(before)).toBe(true);
    // with no keyring anywhere, the result holds the release key alone
    const bare = join(root, 'bare', 'import-pubring.gpg');
    await runMerge(keys.release.file, bare, join(root, 'nothing.gpg'));
    expect(await verifies(bare, keys.release.fpr)).toBe(true);
    expect(await verifies(bare, keys.other.fpr)).toBe(false);
  }, 60_000);
});
