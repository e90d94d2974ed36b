import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { makeSyntheticBinary, makeZip, type ZipEntry } from '@alloy-sysext/test-peers/upstream';
import { extractBinary } from '../src/extract.js';
import { listDir, removeAll, tempDir } from './helpers.js';

const dirs: string[] = [];
afterEach(() => removeAll(dirs));

const binary = makeSyntheticBinary('amd64', 20_000);

async function tryExtract(entries: ZipEntry[], maxBytes = 1_000_000): Promise<{ error: Error; out: string[] }> {
  const dir = await tempDir();
  dirs.push(dir);
  const zip = join(dir, 'in.zip');
  await writeFile(zip, makeZip(entries));
  const outDir = join(dir, 'out');
  await import('node:fs/promises').then((fs) => fs.mkdir(outDir));
  const error = await extractBinary({ zip, binary: 'alloy-linux-amd64', dest: join(outDir, 'bin'), maxBytes }).then(
    () => new Error('extraction unexpectedly succeeded'),
    (e: Error) => e,
  );
  return { error, out: await listDir(outDir) };
}

describe('safe extraction', () => {
  it.each<[string, ZipEntry[], RegExp]>([
    ['zip-slip', [{ name: '../alloy-linux-amd64', data: binary }], /refused: invalid relative path: \.\.\/alloy-linux-amd64/],
    ['nested zip-slip', [{ name: 'a/../../alloy-linux-amd64', data: binary }], /invalid relative path/],
    ['absolute path', [{ name: '/usr/bin/alloy-linux-amd64', data: binary }], /refused: absolute path: \/usr\/bin\/alloy-linux-amd64/],
    [
      'symlink',
      [{ name: 'alloy-linux-amd64', data: Buffer.from('/etc/shadow'), mode: 0o120777 }],
      /entry "alloy-linux-amd64" is a symlink/,
    ],
    [
      'several candidates',
      [
        { name: 'alloy-linux-amd64', data: binary },
        { name: 'sub/alloy-linux-amd64', data: binary },
      ],
      /has 2 entries named "alloy-linux-amd64" \(alloy-linux-amd64, sub\/alloy-linux-amd64\); expected exactly one/,
    ],
    ['no candidate', [{ name: 'README.md', data: Buffer.from('hi') }], /has no entry "alloy-linux-amd64" \(it holds README\.md\)/],
  ])('refuses %s with a clear error and writes nothing', async (_what, entries, message) => {
    const { error, out } = await tryExtract(entries);
    expect(error.message).toMatch(/^zip \/.*in\.zip: /);
    expect(error.message).toMatch(message);
    expect(out).toEqual([]);
  });

  it('refuses an entry over the size limit', async () => {
    const { error, out } = await tryExtract([{ name: 'alloy-linux-amd64', data: binary }], 10_000);
    expect(error.message).toMatch(
      /entry "alloy-linux-amd64" is 20000 bytes uncompressed, over the limit of 10000 \(upstream\.maxBinaryBytes\)/,
    );
    expect(out).toEqual([]);
  });

  it('refuses an entry whose data is corrupt', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const zip = makeZip([{ name: 'alloy-linux-amd64', data: binary, store: true }]);
    zip[30 + 'alloy-linux-amd64'.length + 5000] ^= 0xff; // inside the stored data: the CRC no longer matches
    await writeFile(join(dir, 'in.zip'), zip);
    await expect(
      extractBinary({ zip: join(dir, 'in.zip'), binary: 'alloy-linux-amd64', dest: join(dir, 'bin'), maxBytes: 1e6 }),
    ).rejects.toThrow(/entry "alloy-linux-amd64" is corrupt/);
    expect(await listDir(dir)).toEqual(['in.zip']);
  });

  /** The zip with the binary deflated, its declared size (both headers) or compression method rewritten. */
  async function lyingZip(patch: { size?: number; method?: number }): Promise<string> {
    const dir = await tempDir();
    dirs.push(dir);
    const zip = makeZip([{ name: 'alloy-linux-amd64', data: binary }]);
    for (const [signature, sizeAt, methodAt] of [
      [0x04034b50, 22, 8], // local file header
      [0x02014b50, 24, 10], // central directory header
    ] as const) {
      const at = zip.indexOf(Buffer.from(new Uint32Array([signature]).buffer));
      expect(at).toBeGreaterThanOrEqual(0);
      if (patch.size !== undefined) zip.writeUInt32LE(patch.size, at + sizeAt);
      if (patch.method !== undefined) zip.writeUInt16LE(patch.method, at + methodAt);
    }
    await writeFile(join(dir, 'in.zip'), zip);
    return dir;
  }

  it.each([
    [
      'inflates to more than it declares (a bomb under the limit on paper)',
      { size: 10_000 },
      'inflates to more than the declared 10000 bytes',
    ],
    ['inflates to less than it declares', { size: 30_000 }, 'inflates to 20000 bytes, not the declared 30000'],
    ['uses an unknown compression method', { method: 12 }, 'uses compression method 12; expected deflate (8) or stored (0)'],
  ])('refuses an entry that %s, and writes nothing', async (_what, patch, message) => {
    const dir = await lyingZip(patch);
    await expect(
      extractBinary({ zip: join(dir, 'in.zip'), binary: 'alloy-linux-amd64', dest: join(dir, 'bin'), maxBytes: 1e6 }),
    ).rejects.toThrow(message);
    expect(await listDir(dir)).toEqual(['in.zip']);
  });

  it('extracts the one binary among other files', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    await writeFile(
      join(dir, 'in.zip'),
      makeZip([
        { name: 'LICENSE', data: Buffer.from('x') },
        { name: 'alloy-linux-amd64', data: binary },
      ]),
    );
    await extractBinary({ zip: join(dir, 'in.zip'), binary: 'alloy-linux-amd64', dest: join(dir, 'bin'), maxBytes: 1e6 });
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(join(dir, 'bin'))).equals(binary)).toBe(true);
  });
});
