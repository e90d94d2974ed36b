// Consumer test: what we publish (squashfs sysext images, SHA256SUMS, SHA256SUMS.gpg) is accepted by the real
// systemd-sysupdate 254 with Verify=yes and our key as its keyring, and refused when tampered with.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, loadPrivateKey, type GeneratedKey, type SigningKey } from '@alloy-sysext/signing';
import { sha256File } from '@alloy-sysext/common';
import { mergeManifest, signManifest } from '../src/index.js';
import { startStaticServer, type StaticServer } from '@alloy-sysext/test-peers/static-http';
import { runSysupdate, writeDefinitions } from '@alloy-sysext/test-peers/sysupdate';
import { locateHostRoot } from '@alloy-sysext/test-peers/host';

let dir: string;
let gen: GeneratedKey;
let key: SigningKey;
let otherKey: SigningKey;
let server: StaticServer;
let hostKeyringBefore: string | null; // the host's /etc/systemd/import-pubring.gpg, which the tests must not change
const images: Record<string, string> = {}; // version -> path of a built image

/** A minimal real sysext: extension-release with ID=_any and ARCHITECTURE=x86-64, plus a file. Reproducible flags. */
async function buildImage(version: string, payload = `#!/bin/sh\necho alloy ${version}\n`): Promise<string> {
  const tree = await mkdtemp(join(dir, `tree-${version}-`));
  await mkdir(join(tree, 'usr/lib/extension-release.d'), { recursive: true });
  await mkdir(join(tree, 'usr/bin'), { recursive: true });
  await writeFile(join(tree, 'usr/lib/extension-release.d/extension-release.alloy'), 'ID=_any\nARCHITECTURE=x86-64\n', { mode: 0o644 });
  await writeFile(join(tree, 'usr/bin/alloy'), payload, { mode: 0o755 });
  const img = `${tree}.raw`;
  const t = '1700000000';
  await execa('mksquashfs', [tree, img, '-all-root', '-noappend', '-no-xattrs', '-all-time', t, '-mkfs-time', t, '-quiet'], {
    env: { SOURCE_DATE_EPOCH: undefined },
  });
  return img;
}

/** Publishes images into <dir>/www/<name>/ with a merged, signed manifest, the way publish does. */
async function publish(name: string, versions: string[], signWith: SigningKey): Promise<string> {
  const out = join(dir, 'www', name);
  await mkdir(out, { recursive: true });
  // Another sysext's entry in the same manifest: sysupdate must ignore it, we must keep it.
  await writeFile(join(out, 'docker-compose-2.29.0-x86-64.raw'), 'other sysext');
  let text = mergeManifest(null, [
    { file: 'docker-compose-2.29.0-x86-64.raw', sha256: await sha256File(join(out, 'docker-compose-2.29.0-x86-64.raw')) },
  ]);
  for (const v of versions) {
    const file = `alloy-${v}-amd64.raw`;
    await copyFile(images[v], join(out, file));
    text = mergeManifest(text, [{ file, sha256: await sha256File(join(out, file)) }]);
  }
  await writeFile(join(out, 'SHA256SUMS'), text);
  await writeFile(join(out, 'SHA256SUMS.gpg'), await signManifest(text, signWith));
  return out;
}

/** A consumer with 1.9.0 installed and current, and a transfer definition pointing at the published directory. */
async function consumer(name: string) {
  const target = join(dir, 'hosts', name, 'extensions');
  await mkdir(target, { recursive: true });
  await copyFile(images['1.9.0'], join(target, 'alloy-1.9.0-amd64.raw'));
  await symlink('alloy-1.9.0-amd64.raw', join(target, 'alloy.raw'));
  const definitions = await writeDefinitions(join(dir, 'hosts', name, 'sysupdate.d'), {
    alloy: { sourceUrl: `${server.url}${name}/`, targetDir: target, currentSymlink: join(target, 'alloy.raw') },
  });
  const run = (...args: string[]) => runSysupdate({ definitions, keyring: gen.keyringPath, args });
  return { target, run };
}

async function hostKeyring(): Promise<string | null> {
  return readFile('/etc/systemd/import-pubring.gpg').then(
    (b) => b.toString('base64'),
    () => null,
  );
}

beforeAll(async () => {
  await locateHostRoot('bookworm-backports'); // fail first, with the setup.sh hint, if the root is not built
  hostKeyringBefore = await hostKeyring();
  dir = await mkdtemp(join(tmpdir(), 'sysupdate-test-'));
  gen = await generateKey({ identity: 'Alloy sysext test <test@example.org>', outDir: join(dir, 'keys') });
  key = await loadPrivateKey(await readFile(gen.privateKeyPath, 'utf8'));
  const other = await generateKey({ identity: 'Someone else <else@example.org>', outDir: join(dir, 'other-keys') });
  otherKey = await loadPrivateKey(await readFile(other.privateKeyPath, 'utf8'));
  for (const v of ['1.9.0', '1.10.0']) images[v] = await buildImage(v);
  await mkdir(join(dir, 'www'));
  server = await startStaticServer({ root: join(dir, 'www') });
});

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('systemd-sysupdate 254 consumes what we publish', () => {
  it('list shows both versions, check-new finds 1.10.0, update installs it and moves CurrentSymlink', async () => {
    await publish('good', ['1.9.0', '1.10.0'], key);
    const host = await consumer('good');

    const list = await host.run('list');
    expect(list.exitCode).toBe(0);
    expect(list.stderr).toContain('Signature verification succeeded.');
    expect(list.stdout).toMatch(/^\S*\s*1\.10\.0\s+✓\s+candidate$/m);
    expect(list.stdout).toMatch(/^\S*\s*1\.9\.0\s+✓\s+✓\s+current$/m);

    const check = await host.run('check-new');
    expect({ exit: check.exitCode, stdout: check.stdout.trim() }).toEqual({ exit: 0, stdout: '1.10.0' });

    const update = await host.run('update');
    expect(update.exitCode).toBe(0);
    expect(update.stderr).toContain("Successfully installed update '1.10.0'");
    expect(await readlink(join(host.target, 'alloy.raw'))).toBe('alloy-1.10.0-amd64.raw');
    expect(await readFile(join(host.target, 'alloy-1.10.0-amd64.raw'))).toEqual(await readFile(images['1.10.0']));
    // The installed image is the sysext we built (read back through squashfs, not just compared as bytes).
    const release = await execa('unsquashfs', [
      '-cat',
      join(host.target, 'alloy-1.10.0-amd64.raw'),
      'usr/lib/extension-release.d/extension-release.alloy',
    ]);
    expect(release.stdout).toBe('ID=_any\nARCHITECTURE=x86-64');

    const again = await host.run('check-new');
    expect({ exit: again.exitCode, stdout: again.stdout.trim() }).toEqual({ exit: 1, stdout: '' }); // 1: nothing newer
    const after = await host.run('list');
    expect(after.stdout).toMatch(/^\S*\s*1\.10\.0\s+✓\s+✓\s+current$/m);
  });

  it('refuses a payload changed after signing: nothing installed, symlink unchanged', async () => {
    const www = await publish('tampered-payload', ['1.9.0', '1.10.0'], key);
    await copyFile(await buildImage('1.10.0', '#!/bin/sh\necho evil\n'), join(www, 'alloy-1.10.0-amd64.raw'));
    const host = await consumer('tampered-payload');

    const update = await host.run('update');
    expect(update.exitCode).not.toBe(0);
    // The manifest itself verified; systemd-pull then rejects the payload by its SHA256SUMS line.
    expect(update.stderr).toContain('Signature verification succeeded.');
    expect(update.stderr).toMatch(
      /DOWNLOAD INVALID: Checksum of http:\/\/127\.0\.0\.1:\d+\/tampered-payload\/alloy-1\.10\.0-amd64\.raw file did not check out/,
    );
    expect(update.stderr).not.toContain('Successfully installed');
    expect(await readlink(join(host.target, 'alloy.raw'))).toBe('alloy-1.9.0-amd64.raw');
    expect((await readdir(host.target)).sort()).toEqual(['alloy-1.9.0-amd64.raw', 'alloy.raw']);
  });

  it.each([
    [
      'signed by a key not in the keyring',
      'wrong-key',
      /Can't check signature: No public key[^]*DOWNLOAD INVALID: Signature verification failed\./,
      async (www: string) => {
        await writeFile(join(www, 'SHA256SUMS.gpg'), await signManifest(await readFile(join(www, 'SHA256SUMS'), 'utf8'), otherKey));
      },
    ],
    [
      'changed after signing',
      'changed-manifest',
      /BAD signature from "Alloy sysext test[^]*DOWNLOAD INVALID: Signature verification failed\./,
      async (www: string) => {
        const text = await readFile(join(www, 'SHA256SUMS'), 'utf8');
        await writeFile(join(www, 'SHA256SUMS'), mergeManifest(text, [{ file: 'alloy-1.11.0-amd64.raw', sha256: 'a'.repeat(64) }]));
      },
    ],
    [
      'without SHA256SUMS.gpg',
      'unsigned',
      /SHA256SUMS\.gpg failed with code 404[^]*Failed to retrieve signature file, cannot verify\./,
      async (www: string) => {
        await rm(join(www, 'SHA256SUMS.gpg'));
      },
    ],
    [
      'with a garbage SHA256SUMS.gpg',
      'garbage-signature',
      /no signature found[^]*DOWNLOAD INVALID: Signature verification failed\./,
      async (www: string) => {
        await writeFile(join(www, 'SHA256SUMS.gpg'), '-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n');
      },
    ],
  ])('refuses a manifest %s', async (_what, name, why, spoil) => {
    const www = await publish(name, ['1.9.0', '1.10.0'], key);
    await spoil(www);
    const host = await consumer(name);

    const list = await host.run('list');
    expect(list.exitCode).not.toBe(0);
    expect(list.stderr).toMatch(why);
    expect(list.stderr).not.toContain('Signature verification succeeded.');
    // Measured: check-new exits 1 here too, the same code as "nothing newer"; only stderr tells them apart.
    const check = await host.run('check-new');
    expect({ exit: check.exitCode, stdout: check.stdout }).toEqual({ exit: 1, stdout: '' });
    expect(check.stderr).toMatch(why);
    const update = await host.run('update');
    expect(update.exitCode).not.toBe(0);
    expect(update.stderr).toMatch(why);
    expect(await readlink(join(host.target, 'alloy.raw'))).toBe('alloy-1.9.0-amd64.raw');
    expect((await readdir(host.target)).sort()).toEqual(['alloy-1.9.0-amd64.raw', 'alloy.raw']);
  });
});

describe('runSysupdate', () => {
  it('names setup.sh when the host root is not built', async () => {
    await expect(locateHostRoot('bookworm-backports', join(tmpdir(), 'no-such-cache'))).rejects.toThrow(
      /host root bookworm-backports \(systemd 254\) not found: .*no-such-cache\/bookworm-backports\/root\/usr\/lib\/systemd\/systemd-sysupdate is missing; run tools\/setup\/setup\.sh/,
    );
  });

  it('leaves the host keyring untouched (mounted in a private namespace only)', async () => {
    expect(await hostKeyring()).toBe(hostKeyringBefore);
  });
});
