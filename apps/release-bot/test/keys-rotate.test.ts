// `keys rotate` and `keys retire` end to end against the GitHub double, with two consumers: ghost-stack's layout (the
// key inline at /etc/systemd/alloy-sysext.gpg.pub, byte-exact apart from the key block) and one installed from the
// published Butane snippet (the keyring as a data: URL). The tests run in order: rotate, merge, publish, retire; then
// the snippet consumer's file after each is installed on a host of each systemd a host may run (test-peers/host), whose
// merge unit must leave systemd's keyring trusting exactly what the file says.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import * as openpgp from 'openpgp';
import { parse, stringify } from 'yaml';
import { butaneSnippet, releaseKeyPaths } from '@alloy-sysext/pipeline';
import { signBytes, loadPrivateKey, type SigningKey } from '@alloy-sysext/signing';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { HOST_RELEASES, Host, locateHostRoot, type HostRelease } from '@alloy-sysext/test-peers/host';
import { applyButane, startUnit } from '@alloy-sysext/test-peers/ignition';
import { EXIT, main } from '../src/index.js';
import { capture, seedBucket, tempWorkspace, WORKSPACE } from './helpers.js';

const GHOST = { owner: 'noahwhite', repo: 'ghost-stack' };
const SNIPPET = { owner: 'officina-pub', repo: 'snippet-stack' };
const GHOST_PATH = 'opentofu/modules/vultr/instance/userdata/ghost.bu';
const GHOST_KEY_PATH = '/etc/systemd/alloy-sysext.gpg.pub';
const SNIPPET_PATH = 'userdata/alloy.bu';
const SNIPPET_KEY_PATH = releaseKeyPaths({ name: 'alloy' }).key;

let gh: GitHubDouble;
let ws: { root: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;
let oldKey: SigningKey; // the e2e test key: what ghost-with-key.bu trusts
let newKey: SigningKey;
let ghostFixture: string;
let snippetFile: string;
let gnupg: string;
/** The snippet consumer's file on the rotate and the retire branch. */
let rotated: string;
let retired: string;

const trustBranch = () => `feature/alloy-sysext-trust-key-${newKey.fingerprint.slice(-16)}`;
const retireBranch = () => `feature/alloy-sysext-retire-key-${oldKey.fingerprint.slice(-16)}`;
const bot = (...argv: string[]) => {
  const c = capture(ws.root, env);
  return main(argv, c.ctx).then((code) => ({ code, out: c.stdout(), err: c.stderr() }));
};
/** The armored block of a key as the consumer's literal block holds it (10 spaces in). */
const block = (armored: string) =>
  armored
    .trimEnd()
    .split('\n')
    .map((l) => (l ? `          ${l}` : ''))
    .join('\n');
const oldBlock = () => {
  const lines = ghostFixture.split('\n');
  return lines
    .slice(
      lines.findIndex((l) => l.includes('BEGIN PGP')),
      lines.findIndex((l) => l.includes('END PGP')) + 1,
    )
    .join('\n');
};
const armorOf = (key: SigningKey) =>
  openpgp.armor(openpgp.enums.armor.publicKey, key.publicKeyBinary(), undefined, undefined, undefined, true);
const dataUrlKeys = (text: string) => {
  const doc = parse(text) as { storage: { files: Array<{ path: string; contents: { source?: string } }> } };
  return Buffer.from(doc.storage.files.find((f) => f.path === SNIPPET_KEY_PATH)!.contents.source!.split(',')[1]!, 'base64');
};
/** gpgv with exactly `keyring`: does it verify a signature by `key`? (what systemd-sysupdate's gpg does on a host) */
async function verifies(keyring: Buffer, key: SigningKey): Promise<boolean> {
  const dir = await mkdtemp(path.join(gnupg, 'v-'));
  const data = Buffer.from(`SHA256SUMS signed by ${key.fingerprint}\n`);
  await writeFile(path.join(dir, 'ring.gpg'), keyring);
  await writeFile(path.join(dir, 'data'), data);
  await writeFile(path.join(dir, 'data.asc'), await signBytes(data, key));
  const r = await execa('gpgv', ['--keyring', path.join(dir, 'ring.gpg'), path.join(dir, 'data.asc'), path.join(dir, 'data')], {
    reject: false,
  });
  return r.exitCode === 0;
}
const writes = () => gh.writes().filter((w) => w.path.includes('/ghost-stack/') || w.path.includes('/snippet-stack/'));
/** Merges a bot branch into the base as the consumer's maintainer would. */
function merge(c: { owner: string; repo: string }, branch: string, base: string, file: string) {
  gh.commitAs(
    c.owner,
    c.repo,
    base,
    { [file]: gh.readFile(c.owner, c.repo, branch, file)! },
    { message: `Merge ${branch}`, login: 'noahwhite' },
  );
}

beforeAll(async () => {
  gnupg = await mkdtemp(path.join(os.tmpdir(), 'keys-rotate-gnupg-'));
  gh = await startGitHubDouble({ validateResponses: true });
  oldKey = await loadPrivateKey(await readFile(path.join(WORKSPACE, 'apps/alloy/test/fixtures/e2e-signing-key.asc'), 'utf8'));
  newKey = await loadPrivateKey(
    (
      await openpgp.generateKey({
        type: 'ecc',
        curve: 'ed25519Legacy',
        userIDs: [{ name: 'alloy-sysext release 2', email: 'r2@example.org' }],
      })
    ).privateKey,
  );
  ghostFixture = await readFile(path.join(WORKSPACE, 'libs/ghost-stack/test/fixtures/ghost-with-key.bu'), 'utf8');
  snippetFile = butaneSnippet({
    recipe: { name: 'alloy', bucket: { name: 'sysext', prefix: 'alloy/', publicUrl: 'https://sysext.example.com/alloy' } },
    version: '1.10.2',
    arch: 'amd64',
    sha256: 'a'.repeat(64),
    keyring: oldKey.publicKeyBinary(),
    fingerprint: oldKey.fingerprint,
  });
  gh.seedRepo({ ...GHOST, defaultBranch: 'develop', branches: { develop: { [GHOST_PATH]: ghostFixture } } });
  gh.seedRepo({ ...SNIPPET, defaultBranch: 'main', branches: { main: { [SNIPPET_PATH]: snippetFile } } });
  ws = await tempWorkspace({
    consumers: [
      {
        name: 'ghost-stack',
        repo: 'noahwhite/ghost-stack',
        path: GHOST_PATH,
        base: 'develop',
        arch: 'amd64',
        auth: { tokenEnv: 'GHOST_TOKEN' },
        keyPath: GHOST_KEY_PATH,
        labels: ['sysext'],
      },
      {
        name: 'snippet-stack',
        repo: 'officina-pub/snippet-stack',
        path: SNIPPET_PATH,
        base: 'main',
        arch: 'amd64',
        auth: { tokenEnv: 'SNIPPET_TOKEN' },
      },
    ],
    signing: { identity: 'alloy-sysext release <release@alloy-sysext.invalid>', publicKey: 'old-key.pub.asc' },
  });
  await writeFile(path.join(ws.root, 'apps/alloy/old-key.pub.asc'), oldKey.publicKeyArmored);
  await writeFile(path.join(ws.root, 'new-key.pub.asc'), newKey.publicKeyArmored);
  await writeFile(path.join(ws.root, 'old-key.pub.asc'), oldKey.publicKeyArmored);
  await seedBucket(ws.root, ['1.10.1', '1.10.2'], { by: oldKey });
  env = {
    ALLOY_GITHUB_API_URL: gh.url,
    ALLOY_UPSTREAM_API_URL: 'http://127.0.0.1:9',
    GHOST_TOKEN: gh.token({ login: 'ghost-bot' }),
    SNIPPET_TOKEN: gh.token({ login: 'snippet-bot' }),
  };
});
afterAll(async () => {
  await Promise.all([gh?.stop(), ws?.cleanup(), gnupg && rm(gnupg, { recursive: true, force: true })]);
});

describe('keys rotate', () => {
  it('refuses a private key file and a file that is not a key, before any request', async () => {
    await writeFile(
      path.join(ws.root, 'new-key.asc'),
      (await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'x' }] })).privateKey,
    );
    const before = gh.requests.length;
    expect(await bot('keys', 'rotate', '--new-key', 'new-key.asc')).toMatchObject({
      code: EXIT.USAGE,
      err: expect.stringContaining('--new-key new-key.asc holds a PRIVATE key; only public keys belong there'),
    });
    expect(await bot('keys', 'rotate', '--new-key', 'apps/alloy/sysext.json')).toMatchObject({
      code: EXIT.USAGE,
      err: expect.stringContaining('--new-key apps/alloy/sysext.json holds no armored OpenPGP public key'),
    });
    expect(gh.requests.length).toBe(before);
  });

  it('--dry-run prints each consumer’s would-be change and writes nothing on GitHub', async () => {
    const r = await bot('keys', 'rotate', '--new-key', 'new-key.pub.asc', '--dry-run');
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toMatch(/^ghost-stack\s+dry-run/m);
    expect(r.out).toMatch(/^snippet-stack\s+dry-run/m);
    expect(r.out).toContain(`--- ghost-stack: Trust the new alloy-sysext release key ${newKey.fingerprint.slice(-16)}`);
    expect(r.out).toContain('+          -----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect(writes()).toEqual([]);
  });

  it('opens one pull request per consumer adding the new key next to the old one; a rerun writes nothing', async () => {
    const r = await bot('keys', 'rotate', '--new-key', 'new-key.pub.asc');
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toMatch(/^ghost-stack\s+opened\s+http.*\/pull\/1$/m);
    expect(r.out).toMatch(/^snippet-stack\s+opened\s+http.*\/pull\/1$/m);
    // ghost-stack: the file byte for byte, with one armored block added after the old one
    const ghost = gh.readFile(GHOST.owner, GHOST.repo, trustBranch(), GHOST_PATH)!;
    expect(ghost).toBe(ghostFixture.replace(oldBlock(), `${oldBlock()}\n\n${block(armorOf(newKey))}`));
    expect(gh.pulls(GHOST.owner, GHOST.repo)[0]).toMatchObject({ state: 'open', user: 'ghost-bot', labels: ['sysext'] });
    // the snippet consumer: the data: URL now holds both keys, and a host keyring made from it verifies either key
    const snippet = (rotated = gh.readFile(SNIPPET.owner, SNIPPET.repo, trustBranch(), SNIPPET_PATH)!);
    const keyring = dataUrlKeys(snippet);
    expect(keyring).toEqual(Buffer.concat([oldKey.publicKeyBinary(), newKey.publicKeyBinary()]));
    expect(snippet.replace(/data:;base64,\S+/, '')).toBe(snippetFile.replace(/data:;base64,\S+/, ''));
    expect([await verifies(keyring, oldKey), await verifies(keyring, newKey)]).toEqual([true, true]);
    const mark = gh.writes().length;
    const again = await bot('keys', 'rotate', '--new-key', 'new-key.pub.asc');
    expect(again.out).toMatch(/^ghost-stack\s+unchanged/m);
    expect(gh.writes().length).toBe(mark);
  });

  it('status shows which keys each base branch trusts, starring the key SHA256SUMS is signed by', async () => {
    const before = await bot('status');
    expect(before.out).toMatch(new RegExp(`^ghost-stack\\s+${GHOST_KEY_PATH}\\s+${oldKey.fingerprint}\\*$`, 'm'));
    expect(before.out).toMatch(new RegExp(`^snippet-stack\\s+${SNIPPET_KEY_PATH}\\s+${oldKey.fingerprint}\\*$`, 'm'));
    merge(GHOST, trustBranch(), 'develop', GHOST_PATH);
    const after = await bot('status');
    expect(after.out).toMatch(new RegExp(`^ghost-stack\\s+${GHOST_KEY_PATH}\\s+${oldKey.fingerprint}\\*, ${newKey.fingerprint}$`, 'm'));
  });
});

describe('keys retire', () => {
  it('is refused while SHA256SUMS.gpg is still signed by the old key, writing nothing', async () => {
    const mark = gh.writes().length;
    const r = await bot('keys', 'retire', '--old', 'old-key.pub.asc');
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.err).toContain(`refusing to retire ${oldKey.fingerprint}: SHA256SUMS.gpg in`);
    expect(r.err).toContain(
      'is still signed by it, so hosts need it. Publish with the new key first (npx nx run alloy:publish --version=1.10.2)',
    );
    expect(gh.writes().length).toBe(mark);
  });

  it('once the new key signs every line: removes the old key where the new one is trusted, refuses where it is not yet', async () => {
    // what publish with the new key leaves in the bucket; the recipe now pins the new key
    await seedBucket(ws.root, ['1.10.1', '1.10.2'], { by: newKey });
    const recipeFile = path.join(ws.root, 'apps/alloy/sysext.json');
    const recipe = JSON.parse(await readFile(recipeFile, 'utf8'));
    await writeFile(path.join(ws.root, 'apps/alloy/new-key.pub.asc'), newKey.publicKeyArmored);
    await writeFile(
      recipeFile,
      JSON.stringify({ ...recipe, signing: { ...recipe.signing, publicKey: 'new-key.pub.asc', trustedKeys: ['old-key.pub.asc'] } }),
    );

    const r = await bot('keys', 'retire', '--old', 'old-key.pub.asc');
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.out).toContain(`Every line of SHA256SUMS in`);
    expect(r.out).toMatch(/^ghost-stack\s+opened/m);
    expect(r.out).toMatch(
      new RegExp(`^snippet-stack\\s+failed\\s+.*does not trust ${newKey.fingerprint} yet, the key SHA256SUMS is signed by`, 'm'),
    );
    // ghost-stack: the old block is gone and the new one sits where it was; nothing else moved
    expect(gh.readFile(GHOST.owner, GHOST.repo, retireBranch(), GHOST_PATH)).toBe(ghostFixture.replace(oldBlock(), block(armorOf(newKey))));
    expect(gh.branchHead(SNIPPET.owner, SNIPPET.repo, retireBranch())).toBeUndefined();

    merge(SNIPPET, trustBranch(), 'main', SNIPPET_PATH);
    const again = await bot('keys', 'retire', '--old', 'old-key.pub.asc');
    expect(again.code).toBe(EXIT.OK);
    expect(again.out).toMatch(/^ghost-stack\s+unchanged/m);
    expect(again.out).toMatch(/^snippet-stack\s+opened/m);
    retired = gh.readFile(SNIPPET.owner, SNIPPET.repo, retireBranch(), SNIPPET_PATH)!;
    const keyring = dataUrlKeys(retired);
    expect(keyring).toEqual(Buffer.from(newKey.publicKeyBinary()));
    expect([await verifies(keyring, oldKey), await verifies(keyring, newKey)]).toEqual([false, true]);
  });
});

/** What of a snippet consumer's file installs and merges the release keys (the image entry would need the bucket). */
function keyParts(text: string): string {
  const paths = releaseKeyPaths({ name: 'alloy' });
  // Butane reads `mode: 0755` as octal, as YAML 1.1 does
  const doc = parse(text, { version: '1.1' }) as {
    storage: { files: Array<{ path: string }>; links?: unknown };
    systemd: { units: Array<{ name: string }> };
  };
  doc.storage = { files: doc.storage.files.filter((f) => f.path === paths.key || f.path === paths.script) };
  doc.systemd.units = doc.systemd.units.filter((u) => u.name === paths.unit);
  expect([doc.storage.files.length, doc.systemd.units.length]).toEqual([2, 1]);
  return stringify(doc);
}

/** The keyring this host's systemd verifies SHA256SUMS.gpg with (see keyringMergeScript for systemd's lookup). */
async function systemdKeyring(host: Host): Promise<Buffer> {
  const etc = ['/etc/systemd/import-pubring.gpg'];
  if (host.root.systemd >= 258) etc.unshift('/etc/systemd/import-pubring.pgp');
  for (const file of etc) {
    const bytes = await host.readFile(file);
    if (bytes) return bytes;
  }
  throw new Error(`${host.name}: the merge unit wrote no /etc keyring`);
}

describe.each(Object.keys(HOST_RELEASES) as HostRelease[])('the edited snippet on a host of %s', (release) => {
  /** A host provisioned from `file`, its merge unit run: which of the two keys its systemd trusts. */
  async function trusts(file: string): Promise<{ old: boolean; new: boolean }> {
    const host = await Host.create(await locateHostRoot(release));
    try {
      await applyButane(host, keyParts(file));
      const merge = await startUnit(host, releaseKeyPaths({ name: 'alloy' }).unit);
      expect(merge.map((r) => [r.exitCode, r.stderr])).toEqual([[0, '']]);
      const keyring = await systemdKeyring(host);
      return { old: await verifies(keyring, oldKey), new: await verifies(keyring, newKey) };
    } finally {
      await host.destroy();
    }
  }

  it('after keys rotate its systemd trusts both keys; after keys retire, only the new one', async () => {
    expect(await trusts(rotated)).toEqual({ old: true, new: true });
    expect(await trusts(retired)).toEqual({ old: false, new: true });
  }, 120_000);
});
