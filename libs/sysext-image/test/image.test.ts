import { chmod, chown, copyFile, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { makeSyntheticBinary } from '@alloy-sysext/test-peers/upstream';
import { sha256File } from '@alloy-sysext/common';
import { buildImage, FIXED_TIME, imageTimes, validateImage, type ImageFormat, type TreeOptions } from '../src/index.js';
import { listDir, makeTree, removeAll, tempDir, UNIT_TEMPLATE } from './helpers.js';

const dirs: string[] = [];
afterEach(() => removeAll(dirs));

const amd64 = makeSyntheticBinary('amd64', 300_000);
const arm64 = makeSyntheticBinary('arm64', 200_000);

async function fixture(binary = amd64) {
  const dir = await tempDir();
  dirs.push(dir);
  const bin = join(dir, 'alloy-linux-amd64');
  await writeFile(bin, binary);
  return { dir, bin, tree: await makeTree(dir), outDir: join(dir, 'images') };
}

describe.each<ImageFormat>(['squashfs', 'erofs', 'ext4'])('%s image', (format) => {
  it('writes the image and its .sha256 (nothing else: no copy under the old amd64 name), both of which validate', async () => {
    const { bin, tree, outDir } = await fixture();
    const r = await buildImage({ version: 'v1.10.2', arch: 'amd64', binary: bin, tree, image: { format }, outDir });
    expect(await listDir(outDir)).toEqual(['alloy-1.10.2-amd64.raw', 'alloy-1.10.2-amd64.raw.sha256']);
    expect(r).toEqual({ image: join(outDir, 'alloy-1.10.2-amd64.raw'), sha256: await sha256File(join(outDir, 'alloy-1.10.2-amd64.raw')) });
    expect(await readFile(`${r.image}.sha256`, 'utf8')).toBe(`${r.sha256}  alloy-1.10.2-amd64.raw\n`);
    // sha256sum itself accepts the file, as systemd-sysupdate users will check it
    await execa('sha256sum', ['-c', 'alloy-1.10.2-amd64.raw.sha256'], { cwd: outDir });
    await validateImage(r.image, { version: '1.10.2', arch: 'amd64', tree, format });
  });

  it('names the image and extension-release by the sysext, and holds no unit when the sysext has none', async () => {
    const { bin, outDir } = await fixture();
    const tree: TreeOptions = {
      name: 'docker-compose',
      binaryPath: 'usr/local/lib/docker/cli-plugins/docker-compose',
      extensionRelease: { ID: '_any' },
    };
    const r = await buildImage({ version: '2.29.1', arch: 'amd64', binary: bin, tree, image: { format }, outDir });
    expect(await listDir(outDir)).toEqual(['docker-compose-2.29.1-amd64.raw', 'docker-compose-2.29.1-amd64.raw.sha256']);
    const times = await imageTimes(r.image, format);
    expect([...times.paths.keys()].sort()).toEqual(
      [
        '',
        'usr',
        'usr/lib',
        'usr/lib/extension-release.d',
        'usr/lib/extension-release.d/extension-release.docker-compose',
        'usr/local',
        'usr/local/lib',
        'usr/local/lib/docker',
        'usr/local/lib/docker/cli-plugins',
        'usr/local/lib/docker/cli-plugins/docker-compose',
        ...(format === 'ext4' ? ['lost+found'] : []),
      ].sort(),
    );
    await validateImage(r.image, { version: '2.29.1', arch: 'amd64', tree, format });
    // the same image is not alloy's: validation reads the name from the tree
    await expect(validateImage(r.image, { version: '2.29.1', arch: 'amd64', tree: { ...tree, name: 'alloy' }, format })).rejects.toThrow(
      'expected alloy-2.29.1-amd64.raw',
    );
  });

  it('stamps every timestamp it records (filesystem and each inode) with the fixed time', async () => {
    const { bin, tree, outDir } = await fixture();
    const r = await buildImage({
      version: '1.10.2',
      arch: 'amd64',
      binary: bin,
      tree,
      image: { format },
      outDir,
    });
    const times = await imageTimes(r.image, format);
    expect([...times.paths.keys()].sort()).toEqual(
      [
        '',
        'usr',
        'usr/bin',
        'usr/bin/alloy',
        'usr/lib',
        'usr/lib/extension-release.d',
        'usr/lib/extension-release.d/extension-release.alloy',
        'usr/lib/systemd',
        'usr/lib/systemd/system',
        'usr/lib/systemd/system/alloy.service',
        ...(format === 'ext4' ? ['lost+found'] : []),
      ].sort(),
    );
    const wrong = [
      ...Object.entries(times.filesystem).map(([k, t]) => [`filesystem ${k}`, t] as const),
      ...[...times.paths].flatMap(([p, ts]) => Object.entries(ts).map(([k, t]) => [`/${p} ${k}`, t] as const)),
    ].filter(([, t]) => t !== FIXED_TIME);
    expect(wrong.map(([what, t]) => `${what} = ${new Date(t * 1000).toISOString()}`)).toEqual([]);
    expect(Object.keys(times.filesystem).length).toBeGreaterThan(0);
  });

  it('gives the same bytes from inputs differing in mtimes, owners, modes, umask and paths', async () => {
    const a = await fixture(arm64);
    const b = await fixture(arm64);
    // b: binary and unit in a deeper checkout path, fresh mtimes, mode 0755, owned by the current user
    const deep = join(b.dir, 'some', 'other', 'checkout');
    await mkdir(deep, { recursive: true });
    const bBin = join(deep, 'alloy');
    await copyFile(b.bin, bBin);
    await chmod(bBin, 0o755);
    const bTree: TreeOptions = { ...b.tree, unit: { ...b.tree.unit!, source: join(deep, 'unit.service') } };
    await writeFile(bTree.unit!.source, UNIT_TEMPLATE);
    // a: old mtimes, mode 0600, another owner when we can chown
    await chmod(a.bin, 0o600);
    await utimes(a.bin, new Date('2001-02-03'), new Date('2001-02-03'));
    await utimes(a.tree.unit!.source, new Date('2011-02-03'), new Date('2011-02-03'));
    if (process.getuid?.() === 0) await chown(a.bin, 1234, 5678);
    const tmpA = join(a.dir, 'tmp');
    await mkdir(tmpA);

    const saved = { umask: process.umask(), tmp: process.env.TMPDIR };
    const restore = () => {
      process.umask(saved.umask);
      if (saved.tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved.tmp;
    };
    let first;
    try {
      process.umask(0o077);
      process.env.TMPDIR = tmpA;
      first = await buildImage({ version: '2.0.0', arch: 'arm64', binary: a.bin, tree: a.tree, image: { format }, outDir: a.outDir });
    } finally {
      restore();
    }
    await new Promise((r) => setTimeout(r, 1100)); // the second build runs in another wall-clock second
    let second;
    try {
      process.umask(0o002);
      second = await buildImage({ version: '2.0.0', arch: 'arm64', binary: bBin, tree: bTree, image: { format }, outDir: b.outDir });
    } finally {
      restore();
    }
    expect(second.sha256).toBe(first.sha256);
    expect((await readFile(second.image)).equals(await readFile(first.image))).toBe(true);
    expect(await listDir(a.outDir)).toEqual(['alloy-2.0.0-arm64.raw', 'alloy-2.0.0-arm64.raw.sha256']);
    await validateImage(second.image, { version: '2.0.0', arch: 'arm64', tree: bTree, format });
  });
});

describe('squashfs compressors', () => {
  it.each([
    ['zstd', 'zstd'],
    ['xz', 'xz'],
    ['gzip', 'gzip'],
    [undefined, 'zstd'],
  ] as const)('compressor %s gives a %s image', async (compressor, expected) => {
    const { bin, tree, outDir } = await fixture();
    const r = await buildImage({
      version: '1.0.0',
      arch: 'amd64',
      binary: bin,
      tree,
      image: { format: 'squashfs', ...(compressor ? { compressor } : {}) },
      outDir,
    });
    const { stdout } = await execa('unsquashfs', ['-s', r.image]);
    expect(stdout).toContain(`Compression ${expected}`);
    expect(await listDir(outDir)).toEqual(['alloy-1.0.0-amd64.raw', 'alloy-1.0.0-amd64.raw.sha256']);
  });
});

describe('buildImage errors', () => {
  it.each<[string, (t: TreeOptions) => Record<string, unknown>, RegExp]>([
    ['unknown format', () => ({ image: { format: 'zip' } }), /image\.format "zip" is not supported: expected one of squashfs, erofs, ext4/],
    ['unknown compressor', () => ({ image: { format: 'squashfs', compressor: 'lzma' } }), /image\.compressor "lzma" is not supported/],
    [
      'absolute binaryPath',
      (t) => ({ tree: { ...t, binaryPath: '/usr/bin/alloy' } }),
      /tree\.binaryPath "\/usr\/bin\/alloy" is not a relative path under usr\/ or opt\//,
    ],
    ['binaryPath outside usr', (t) => ({ tree: { ...t, binaryPath: 'etc/alloy' } }), /tree\.binaryPath "etc\/alloy"/],
    [
      'traversal in unit path',
      (t) => ({ tree: { ...t, unit: { ...t.unit, path: 'usr/../etc/x.service' } } }),
      /tree\.unit\.path "usr\/\.\.\/etc\/x\.service"/,
    ],
    [
      'conflicting ARCHITECTURE',
      (t) => ({ tree: { ...t, extensionRelease: { ID: '_any', ARCHITECTURE: 'arm64' } } }),
      /ARCHITECTURE "arm64" contradicts arch amd64 \(x86-64\)/,
    ],
    [
      'bad extension-release key',
      (t) => ({ tree: { ...t, extensionRelease: { 'id x': '1' } } }),
      /key "id x" is not an os-release style NAME/,
    ],
    ['unknown arch', () => ({ arch: 'i386' }), /arch "i386" is not supported/],
    ['bad version', () => ({ version: '1.0' }), /version "1\.0" is not a strict semver version/],
    [
      'missing unit source',
      (t) => ({ tree: { ...t, unit: { ...t.unit, source: '/nonexistent/alloy.service' } } }),
      /tree\.unit\.source \/nonexistent\/alloy\.service cannot be read/,
    ],
  ])('refuses %s, leaving no output', async (_what, change, message) => {
    const { bin, tree, outDir } = await fixture();
    const opts = { version: '1.0.0', arch: 'amd64', binary: bin, tree, image: { format: 'squashfs' }, outDir, ...change(tree) };
    await expect(buildImage(opts as Parameters<typeof buildImage>[0])).rejects.toThrow(message);
    expect(await listDir(outDir)).toEqual([]);
  });

  it('ignores a squashfs compressor for erofs, saying so', async () => {
    const { bin, tree, outDir } = await fixture();
    const lines: string[] = [];
    const r = await buildImage({
      version: '1.0.0',
      arch: 'amd64',
      binary: bin,
      tree,
      image: { format: 'erofs', compressor: 'xz' },
      outDir,
      log: (l) => lines.push(l),
    });
    expect(lines).toContain('image.compressor xz ignored: it applies to squashfs only, not erofs');
    await validateImage(r.image, { version: '1.0.0', arch: 'amd64', tree, format: 'erofs' });
  });

  it('refuses a binary for the other arch, naming both machines', async () => {
    const { bin, tree, outDir } = await fixture(arm64);
    await expect(buildImage({ version: '1.0.0', arch: 'amd64', binary: bin, tree, image: { format: 'squashfs' }, outDir })).rejects.toThrow(
      `binary ${bin} is an ELF for machine 183 (aarch64), expected 62 (x86-64) for amd64`,
    );
    await writeFile(bin, 'not an elf');
    await expect(buildImage({ version: '1.0.0', arch: 'amd64', binary: bin, tree, image: { format: 'squashfs' }, outDir })).rejects.toThrow(
      'is not an ELF binary',
    );
  });

  it('says how to install a missing mksquashfs and leaves nothing behind', async () => {
    const { dir, bin, tree, outDir } = await fixture();
    const empty = join(dir, 'empty-path');
    await mkdir(empty);
    const saved = process.env.PATH;
    process.env.PATH = empty;
    try {
      await expect(
        buildImage({ version: '1.0.0', arch: 'amd64', binary: bin, tree, image: { format: 'squashfs' }, outDir }),
      ).rejects.toThrow('mksquashfs is not installed (not found on PATH): install it with `apt-get install squashfs-tools`');
    } finally {
      process.env.PATH = saved;
    }
    expect(await listDir(outDir)).toEqual([]);
  });
});
