import { chmod, copyFile, mkdir, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { sha256File } from '@alloy-sysext/common';
import { makeSyntheticBinary } from '@alloy-sysext/test-peers/upstream';
import { buildImage, validateImage, type ImageFormat, type TreeOptions } from '../src/index.js';
import { stageTree } from '../src/tree.js';
import { makeTree, removeAll, tempDir } from './helpers.js';

const dirs: string[] = [];
let dir: string;
let tree: TreeOptions;
let bin: string;
const images: Record<ImageFormat, string> = { squashfs: '', erofs: '', ext4: '' };

beforeAll(async () => {
  dir = await tempDir();
  dirs.push(dir);
  tree = await makeTree(dir);
  bin = join(dir, 'alloy-linux-amd64');
  await writeFile(bin, makeSyntheticBinary('amd64', 400_000));
  for (const format of ['squashfs', 'erofs', 'ext4'] as const) {
    const r = await buildImage({
      version: '1.10.2',
      arch: 'amd64',
      binary: bin,
      tree,
      image: { format },
      outDir: join(dir, format),
    });
    images[format] = r.image;
  }
});
afterAll(() => removeAll(dirs));

/** A copy of `image` under the right name in a fresh directory, optionally with its .sha256. */
async function copyOf(image: string, withSidecar: boolean): Promise<string> {
  const d = await tempDir();
  dirs.push(d);
  const target = join(d, 'alloy-1.10.2-amd64.raw');
  await copyFile(image, target);
  if (withSidecar) await copyFile(`${image}.sha256`, `${target}.sha256`);
  return target;
}

async function flipByte(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0]! ^= 0x5a;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

const expectation = (format?: ImageFormat) => ({ version: '1.10.2', arch: 'amd64' as const, tree, format });

describe.each<ImageFormat>(['squashfs', 'erofs', 'ext4'])('validateImage on %s', (format) => {
  it('accepts the built image', async () => {
    await validateImage(images[format], expectation(format));
  });

  it('checks the binary read back against the sha256 of the binary it was built from', async () => {
    const binarySha256 = await sha256File(bin);
    await validateImage(images[format], { ...expectation(format), binarySha256 });
    const other = 'f'.repeat(64);
    await expect(validateImage(images[format], { ...expectation(format), binarySha256: other })).rejects.toThrow(
      `image ${images[format]}: ${tree.binaryPath} has sha256 ${binarySha256}, but the binary it was built from has ${other}`,
    );
  });

  it('rejects a truncated image', async () => {
    const image = await copyOf(images[format], false);
    await truncate(image, Math.floor((await stat(image)).size / 2));
    await expect(validateImage(image, expectation(format))).rejects.toThrow(
      new RegExp(`image ${image} is (corrupt or truncated|truncated)`),
    );
  });

  it('rejects a flipped bit through its .sha256', async () => {
    const image = await copyOf(images[format], true);
    await flipByte(image, Math.floor((await stat(image)).size / 3));
    await expect(validateImage(image, expectation(format))).rejects.toThrow(
      new RegExp(`image ${image} has sha256 [0-9a-f]{64} but ${image}\\.sha256 says [0-9a-f]{64}: the image is corrupt`),
    );
  });

  it('rejects a flipped bit against an expected sha256 when no .sha256 is beside it', async () => {
    const image = await copyOf(images[format], false);
    const good = await sha256File(image);
    await validateImage(image, { ...expectation(format), sha256: good });
    await flipByte(image, Math.floor((await stat(image)).size / 3));
    await expect(validateImage(image, { ...expectation(format), sha256: good })).rejects.toThrow(
      new RegExp(`image ${image} has sha256 [0-9a-f]{64}, expected ${good}: the image is corrupt`),
    );
  });

  it('names a wrong format, version, extension-release field or unit', async () => {
    const other = format === 'squashfs' ? 'erofs' : 'squashfs';
    await expect(validateImage(images[format], expectation(other))).rejects.toThrow(`is ${format}, expected ${other}`);
    await expect(validateImage(images[format], { ...expectation(), version: '1.10.3' })).rejects.toThrow(
      'is not named for version 1.10.3 and arch amd64: expected alloy-1.10.3-amd64.raw',
    );
    await expect(
      validateImage(images[format], { ...expectation(), tree: { ...tree, extensionRelease: { ID: 'flatcar' } } }),
    ).rejects.toThrow('usr/lib/extension-release.d/extension-release.alloy has ID=_any, expected flatcar');
    const unit = join(dir, `other-${format}.service`);
    await writeFile(unit, '[Service]\nExecStart=/bin/false\n');
    await expect(
      validateImage(images[format], { ...expectation(), tree: { ...tree, unit: { ...tree.unit!, source: unit } } }),
    ).rejects.toThrow(`usr/lib/systemd/system/alloy.service differs from ${unit} with {{binaryPath}} substituted`);
  });
});

describe('validateImage on hand-made squashfs images', () => {
  /** Stage a correct tree, let `spoil` change it, and pack it the way the builder would. */
  async function handMade(spoil: (root: string) => Promise<void>, extra: string[] = ['-all-root']): Promise<string> {
    const d = await tempDir();
    dirs.push(d);
    const root = join(d, 'root');
    await mkdir(root);
    await stageTree({ root, binary: bin, arch: 'amd64', tree });
    await spoil(root);
    const image = join(d, 'alloy-1.10.2-amd64.raw');
    await execa('mksquashfs', [root, image, '-noappend', '-no-progress', '-quiet', ...extra]);
    return image;
  }

  it.each<[string, (root: string) => Promise<void>, string[] | undefined, string]>([
    ['a wrong mode', (root) => chmod(join(root, 'usr/bin/alloy'), 0o644), undefined, 'usr/bin/alloy has mode 0644, expected 0755'],
    ['a setuid binary', (root) => chmod(join(root, 'usr/bin/alloy'), 0o4755), undefined, 'usr/bin/alloy has mode 04755, expected 0755'],
    ['an extra file', (root) => mkdir(join(root, 'usr/share')), undefined, 'has unexpected entries: usr/share'],
    [
      'a missing unit',
      (root) => rm(join(root, 'usr/lib/systemd/system/alloy.service')),
      undefined,
      'lacks usr/lib/systemd/system/alloy.service (expected a file)',
    ],
    ['a non-root owner', async () => {}, ['-force-uid', '1234'], 'alloy-1.10.2-amd64.raw: usr is owned by 1234:0, expected 0:0 (root)'],
    [
      'a binary for the other machine',
      (root) =>
        writeFile(join(root, 'usr/bin/alloy'), makeSyntheticBinary('arm64', 1000)).then(() => chmod(join(root, 'usr/bin/alloy'), 0o755)),
      undefined,
      'usr/bin/alloy is an ELF for machine 183 (aarch64), expected 62 (x86-64) for amd64',
    ],
    [
      'extension-release for another arch',
      async (root) => {
        const p = join(root, 'usr/lib/extension-release.d/extension-release.alloy');
        await writeFile(p, (await readFile(p, 'utf8')).replace('x86-64', 'arm64'));
      },
      undefined,
      'extension-release.alloy has ARCHITECTURE=arm64, expected x86-64',
    ],
  ])('names %s', async (_what, spoil, extra, message) => {
    const image = await handMade(spoil, extra ?? ['-all-root']);
    await expect(validateImage(image, expectation('squashfs'))).rejects.toThrow(message);
  });

  it('rejects a file that is no filesystem image', async () => {
    const d = await tempDir();
    dirs.push(d);
    const image = join(d, 'alloy-1.10.2-amd64.raw');
    await writeFile(image, Buffer.alloc(4096, 7));
    await expect(validateImage(image, expectation())).rejects.toThrow(`image ${image} has no squashfs, erofs or ext4 superblock`);
  });
});
