// imageParameters reads format and squashfs compressor from images made by the real tools; toolVersions names them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageParameters, toolVersions } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-parameters-'));
  await mkdir(join(dir, 'tree'));
  await writeFile(join(dir, 'tree', 'file'), 'x'.repeat(10000));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('imageParameters', () => {
  it.each(['zstd', 'xz', 'gzip'] as const)('reads squashfs compressor %s from the superblock', async (comp) => {
    const image = join(dir, `${comp}.sqfs`);
    await execa('mksquashfs', [join(dir, 'tree'), image, '-noappend', '-quiet', '-no-progress', '-comp', comp]);
    expect(await imageParameters(image)).toEqual({ format: 'squashfs', compressor: comp });
  });

  it('names erofs without a compressor, and refuses a squashfs compressor this project never makes', async () => {
    const erofs = join(dir, 'image.erofs');
    await execa('mkfs.erofs', ['--quiet', erofs, join(dir, 'tree')]);
    expect(await imageParameters(erofs)).toEqual({ format: 'erofs' });
    const lzo = join(dir, 'lzo.sqfs');
    await execa('mksquashfs', [join(dir, 'tree'), lzo, '-noappend', '-quiet', '-no-progress', '-comp', 'lzo']);
    await expect(imageParameters(lzo)).rejects.toThrow(
      `squashfs image ${lzo} uses compression id 3: expected gzip (1), xz (4) or zstd (6)`,
    );
  });
});

describe('toolVersions', () => {
  it("records each tool's version line and node's", async () => {
    const { stdout } = await execa('mksquashfs', ['-version']);
    expect(await toolVersions()).toEqual({
      mksquashfs: stdout.split('\n')[0],
      'mkfs.erofs': expect.stringMatching(/^mkfs\.erofs \d+\.\d+/),
      'mkfs.ext4': expect.stringMatching(/^mke2fs \d+\.\d+/),
      node: process.version,
    });
  });
});
