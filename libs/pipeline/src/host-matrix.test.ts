// The host matrix (issue 24): what publish puts in the bucket, installed on a host of each systemd a host may run,
// exactly as the published Butane snippet says (files, links, units, as Ignition would), then the snippet's merge
// unit, then systemd-sysupdate list / check-new / update against the bucket served over HTTP (`release-bot serve`).
// Every host also checks a payload signed by a vendor key (added to the root's own vendor keyring, beside the
// distribution's real keys) and, when it has one, by an administrator's key already in /etc: our key must not hide
// theirs. Roots: tools/setup/setup.sh (.cache/hosts); hosts: @alloy-sysext/test-peers/host.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Bytes } from '@alloy-sysext/common';
import { signManifest } from '@alloy-sysext/manifest';
import { createDirectoryStore } from '@alloy-sysext/r2';
import * as openpgp from 'openpgp';
import { loadPrivateKey, type SigningKey } from '@alloy-sysext/signing';
import { Host, locateHostRoot, type HostRelease, type HostRoot, type RunResult } from '@alloy-sysext/test-peers/host';
import { applyButane, startUnit } from '@alloy-sysext/test-peers/ignition';
import { versionLayout } from './layout.js';
import { publishVersion } from './publish.js';
import { loadRecipe, type Recipe } from './recipe.js';
import { serveBucket, type ServedBucket } from './serve-bucket.js';
import { releaseKeyOf } from './signing-key.js';
import { butaneSnippetFile, releaseKeyPaths, sysupdateServiceDropin } from './snippets.js';
import { manifestStep } from './steps/manifest.js';
import { writeSignedImages } from '../test/signed-images.js';

const RECIPE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/alloy/sysext.json');
const RELEASES: HostRelease[] = ['bookworm-backports', 'trixie', 'forky'];
const ETC_PGP = '/etc/systemd/import-pubring.pgp';
const ETC_GPG = '/etc/systemd/import-pubring.gpg';
const USR_PGP = '/usr/lib/systemd/import-pubring.pgp';
const USR_GPG = '/usr/lib/systemd/import-pubring.gpg';
type Admin = 'none' | 'gpg' | 'pgp';

let root: string;
let recipe: Recipe;
let served: ServedBucket;
/** A publisher's key: ed25519Legacy, quick to make (the key type is not what this file tests). */
interface Key {
  armored: string;
  signing: SigningKey;
  /** Binary keyring (`gpg --export` form), as hosts install it. */
  keyring: Uint8Array;
}
let release: Key;
let vendor: Key;
let admin: Key;
const roots = {} as Record<HostRelease, HostRoot>;
const log = () => {};

/** Publishes `version` the way the pipeline does: images signed, the manifest step, then publish into the bucket. */
async function publish(key: SigningKey, version: string): Promise<void> {
  const ws = path.join(root, 'ws');
  const layout = versionLayout(ws, recipe, version);
  // random bytes: sysupdate checks hashes and signatures, not the file system inside
  await writeSignedImages(recipe, version, layout.images, key, 32 * 1024);
  const env = { ALLOY_SIGNING_KEY: release.armored };
  await manifestStep({ recipe, version, layout, root: ws, env, log });
  const store = createDirectoryStore(path.join(root, 'bucket'), { prefix: recipe.bucket.prefix });
  await publishVersion({ recipe, version, layout, store, key: releaseKeyOf(key, 'test'), publicKey: key.publicKeyArmored, log });
}

/** Another publisher's directory in the same web root: one image and a SHA256SUMS signed with `key`. */
async function otherPublisher(name: string, key: Key): Promise<void> {
  const dir = path.join(root, 'bucket', name);
  await mkdir(dir, { recursive: true });
  const file = `${name}-2.0.0-x86-64.raw`;
  const bytes = randomBytes(8 * 1024);
  await writeFile(path.join(dir, file), bytes);
  const sums = `${sha256Bytes(bytes)}  ${file}\n`;
  await writeFile(path.join(dir, 'SHA256SUMS'), sums);
  await writeFile(path.join(dir, 'SHA256SUMS.gpg'), await signManifest(sums, key.signing));
}

/** A transfer of another publisher's directory, under both names (see sysupdateTransferPaths). */
async function otherTransfer(host: Host, name: string): Promise<void> {
  const text = [
    '[Transfer]',
    'Verify=yes',
    '[Source]',
    'Type=url-file',
    `Path=${served.url}/${name}/`,
    `MatchPattern=${name}-@v-x86-64.raw`,
    '[Target]',
    'Type=regular-file',
    `Path=/opt/extensions/${name}`,
    `MatchPattern=${name}-@v-x86-64.raw`,
    '',
  ].join('\n');
  for (const ext of ['transfer', 'conf']) await host.writeFile(`/etc/sysupdate.${name}.d/${name}.${ext}`, text);
  await host.mkdir(`/opt/extensions/${name}`);
}

/**
 * A host of `release` before and after the snippet: the vendor's keyring in /usr holds the distribution's keys and
 * our test vendor's, /etc holds the administrator's keyring under `admin`'s name (or none), then the 1.0.0 snippet is
 * installed and its merge unit run.
 */
type Setup = (host: Host) => Promise<void>;
async function snippetHost(
  releaseName: HostRelease,
  adminRing: Admin,
  setup: Setup = async () => {},
  others = ['vendor', 'admin'],
): Promise<Host> {
  const host = await Host.create(roots[releaseName]);
  try {
    await installSnippet(host, adminRing, setup, others);
  } catch (e) {
    await host.destroy();
    throw e;
  }
  return host;
}

async function installSnippet(host: Host, adminRing: Admin, setup: Setup, others: string[]): Promise<void> {
  const shipped = (await host.locate(USR_PGP)) ? USR_PGP : USR_GPG;
  const distribution = (await host.readFile(shipped))!;
  // binary keyrings are packet streams: concatenated, they are one keyring
  await host.writeFile(shipped, Buffer.concat([distribution, vendor.keyring]));
  if (adminRing !== 'none') await host.writeFile(adminRing === 'gpg' ? ETC_GPG : ETC_PGP, admin.keyring);
  for (const name of others) await otherTransfer(host, name);
  await setup(host);
  const snippet = await readFile(bucketFile(butaneSnippetFile(recipe, '1.0.0', 'amd64')), 'utf8');
  const enabled = await applyButane(host, snippet);
  expect(enabled).toContain(releaseKeyPaths(recipe).unit);
  const merge = await startUnit(host, releaseKeyPaths(recipe).unit);
  expect(merge.map((r) => ({ command: r.command, exit: r.exitCode, stderr: r.stderr }))).toEqual([
    { command: releaseKeyPaths(recipe).script, exit: 0, stderr: '' },
  ]);
}

/** The keyring file this host's systemd reads (systemd's lookup, see keyringMergeScript); null when none exists. */
async function keyringRead(host: Host): Promise<string | null> {
  const order = host.root.systemd >= 258 ? [ETC_PGP, ETC_GPG, USR_PGP] : [ETC_GPG, USR_GPG];
  for (const file of order) if (await host.locate(file)) return file;
  return null;
}

const bucketFile = (name: string) => path.join(root, 'bucket', recipe.bucket.prefix, name);
const VERIFIED = 'Signature verification succeeded.';
const verified = (r: RunResult) => r.exitCode === 0 && r.stderr.includes(VERIFIED);
const summary = (r: RunResult) => ({ exit: r.exitCode, out: `${r.stdout}\n${r.stderr}` });

beforeAll(async () => {
  for (const r of RELEASES) roots[r] = await locateHostRoot(r); // fail first, naming setup.sh
  root = await mkdtemp(path.join(os.tmpdir(), 'host-matrix-'));
  await mkdir(path.join(root, 'bucket'));
  served = await serveBucket({ dir: path.join(root, 'bucket'), port: 0 });
  recipe = await loadRecipe(RECIPE, { ALLOY_PUBLIC_URL: `${served.url}/alloy` });
  [release, vendor, admin] = await Promise.all(
    ['release', 'vendor', 'admin'].map(async (who) => {
      const userIDs = [{ name: `host matrix ${who}`, email: `${who}@alloy-sysext.invalid` }];
      const made = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs, format: 'object' });
      const armored = made.privateKey.armor();
      return { armored, signing: await loadPrivateKey(armored), keyring: made.publicKey.write() };
    }),
  );
  for (const version of ['1.0.0', '1.1.0']) await publish(release.signing, version);
  await otherPublisher('vendor', vendor);
  await otherPublisher('admin', admin);
}, 120_000);

afterAll(async () => {
  await served?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe.each(RELEASES)('the published snippet on a %s host', (releaseName) => {
  it.each<Admin>(['none', 'gpg', 'pgp'])(
    "with an administrator's keyring: %s — merge unit, list / check-new / update; vendor and admin payloads verify",
    async (adminRing) => {
      const host = await snippetHost(releaseName, adminRing);
      try {
        const list = await host.sysupdate(['-C', 'alloy', 'list']);
        expect(summary(list)).toEqual({ exit: 0, out: expect.stringContaining(VERIFIED) });
        // the transfer is named so that this systemd reads it without a deprecation warning
        expect(list.stderr).not.toContain('transfer definitions should have');
        expect(list.stdout).toMatch(/^\S*\s*1\.1\.0\s+✓\s+candidate$/m);
        expect(list.stdout).toMatch(/^\S*\s*1\.0\.0\s+✓\s+✓\s+current$/m);

        const check = await host.sysupdate(['-C', 'alloy', 'check-new']);
        expect({ exit: check.exitCode, stdout: check.stdout.trim() }).toEqual({ exit: 0, stdout: '1.1.0' });

        const update = await host.sysupdate(['-C', 'alloy', 'update']);
        const installedUpdate = expect.stringContaining("Successfully installed update '1.1.0'");
        expect(summary(update)).toEqual({ exit: 0, out: installedUpdate });
        const image = 'alloy-1.1.0-amd64.raw';
        expect(await host.readlink('/etc/extensions/alloy.raw')).toBe(`../../opt/extensions/alloy/${image}`);
        const installed = (await host.readFile(`/opt/extensions/alloy/${image}`))!;
        expect(installed.equals(await readFile(bucketFile(image)))).toBe(true);

        // the vendor's key still verifies its payloads; the administrator's does exactly when this systemd reads it
        const adminRead = adminRing === 'gpg' || (adminRing === 'pgp' && host.root.systemd >= 258);
        const vendorList = await host.sysupdate(['-C', 'vendor', 'list']);
        expect(summary(vendorList)).toEqual({ exit: 0, out: expect.stringContaining(VERIFIED) });
        expect({ admin: adminRing, verified: verified(await host.sysupdate(['-C', 'admin', 'list'])) }).toEqual({
          admin: adminRing,
          verified: adminRing !== 'none' && adminRead,
        });

        // the merge unit runs at every boot: a second run leaves the keyring's bytes (and mtime) alone
        const ring = (await keyringRead(host))!;
        expect(ring.startsWith('/etc/')).toBe(true);
        const before = await host.readFile(ring);
        const [again] = await startUnit(host, releaseKeyPaths(recipe).unit);
        expect(again!.exitCode).toBe(0);
        expect((await host.readFile(ring))!.equals(before!)).toBe(true);
      } finally {
        await host.destroy();
      }
    },
    180_000,
  );

  it('reads exactly one of the two transfer names the snippet installs (no duplicate transfer)', async () => {
    const host = await snippetHost(releaseName, 'none');
    try {
      const dir = `/etc/sysupdate.${recipe.name}.d`;
      const good = (await host.readFile(`${dir}/${recipe.name}.transfer`))!;
      expect((await host.readFile(`${dir}/${recipe.name}.conf`))!.equals(good)).toBe(true);
      // spoil one name at a time: the systemd that reads it fails to find the manifest, the other never notices
      const reads = async (ext: string) => {
        const gone = good.toString('utf8').replace(`${served.url}/alloy/`, `${served.url}/gone/`);
        await host.writeFile(`${dir}/${recipe.name}.${ext}`, gone);
        const list = await host.sysupdate(['-C', recipe.name, 'list']);
        await host.writeFile(`${dir}/${recipe.name}.${ext}`, good);
        return !verified(list);
      };
      // up to v256 only .conf; from v257 .transfer, and .conf only when no .transfer exists
      expect({ transfer: await reads('transfer'), conf: await reads('conf') }).toEqual(
        host.root.systemd >= 257 ? { transfer: true, conf: false } : { transfer: false, conf: true },
      );
    } finally {
      await host.destroy();
    }
  }, 180_000);

  it("the timer's systemd-sysupdate.service updates the sysext through the snippet's drop-in", async () => {
    // the host OS's own transfer, as Flatcar ships one (sysupdate.d/noop: matches nothing), so `update` has work
    const source = ['[Source]', 'Type=regular-file', 'Path=/', 'MatchPattern=invalid@v.raw'];
    const noop = [...source, '[Target]', 'Type=regular-file', 'Path=/', ''].join('\n');
    const osTransfer: Setup = async (h) => {
      for (const ext of ['transfer', 'conf']) await h.writeFile(`/usr/lib/sysupdate.d/noop.${ext}`, noop);
    };
    const image = (version: string) => `../../opt/extensions/alloy/alloy-${version}-amd64.raw`;
    const dropin = sysupdateServiceDropin(recipe);
    const withDropin = await snippetHost(releaseName, 'none', osTransfer, []);
    const without = await snippetHost(releaseName, 'none', osTransfer, []);
    try {
      const ran = (await startUnit(withDropin, dropin.unit)).map((r) => ({ command: r.command, exit: r.exitCode }));
      expect(ran).toEqual([
        { command: `/usr/lib/systemd/systemd-sysupdate -C ${recipe.name} update`, exit: 0 },
        { command: expect.stringMatching(/systemd-sysupdate update/), exit: 0 },
      ]);
      expect(await withDropin.readlink('/etc/extensions/alloy.raw')).toBe(image('1.1.0'));
      // the stock service alone: up to v257 `update` never reads /etc/sysupdate.alloy.d (v262 adds --component-all)
      await without.rm(`/etc/systemd/system/${dropin.unit}.d/${dropin.name}`);
      const stock = await startUnit(without, dropin.unit);
      expect(stock.map((r) => r.exitCode)).toEqual([0]);
      const updated = host262(without) ? image('1.1.0') : '/opt/extensions/alloy/alloy-1.0.0-amd64.raw';
      expect(await without.readlink('/etc/extensions/alloy.raw')).toBe(updated);
    } finally {
      await withDropin.destroy();
      await without.destroy();
    }
  }, 180_000);
});

const host262 = (host: Host) => host.root.systemd >= 262;

// No 258–260 binary is packaged anywhere we can reach. Those versions read exactly one keyring: the first present of
// /etc/...pgp, /etc/...gpg, /usr/lib/...pgp (systemd PR 37927; v261's PR 43485 adds the /usr/lib one to it). Forky's
// systemd-sysupdate restricted to that one file (SYSTEMD_OPENPGP_KEYRING, systemd PR 41860) verifies as they do, on a
// host whose systemctl says 259, so the merge unit takes the decision it takes there.
describe('the published snippet on a systemd 258–260 host (forky, reading only the keyring 258–260 read)', () => {
  it.each<Admin>(['none', 'gpg', 'pgp'])(
    "with an administrator's keyring: %s — ours, the vendor's and the administrator's verify",
    async (adminRing) => {
      const host = await snippetHost('forky', adminRing, (h) =>
        h.writeFile('/usr/local/bin/systemctl', '#!/bin/sh\necho "systemd 259 (259)"\n', 0o755),
      );
      try {
        const only: string[] = [];
        for (const file of [ETC_PGP, ETC_GPG, USR_PGP]) if (await host.locate(file)) only.push(file);
        const env = { SYSTEMD_OPENPGP_KEYRING: only[0]! };
        const results = {} as Record<string, boolean>;
        for (const name of ['alloy', 'vendor', 'admin']) {
          results[name] = verified(await host.sysupdate(['-C', name, 'list'], { env }));
        }
        // the override is honoured: restricted to our key alone, the vendor's payload is refused
        const ours = { SYSTEMD_OPENPGP_KEYRING: releaseKeyPaths(recipe).key };
        expect(verified(await host.sysupdate(['-C', 'vendor', 'list'], { env: ours }))).toBe(false);
        expect({ keyring: only[0], ...results }).toEqual({
          keyring: adminRing === 'gpg' ? ETC_GPG : ETC_PGP,
          alloy: true,
          vendor: true,
          admin: adminRing !== 'none',
        });
      } finally {
        await host.destroy();
      }
    },
    180_000,
  );
});
