import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from '@jest/globals';
import { makeSyntheticBinary, makeTarGz, makeZip, type TarEntry, type ZipEntry } from '@alloy-sysext/test-peers/upstream';
import { extractUpstreamBinary, upstreamBinarySha256, type UpstreamAsset } from '../src/index.js';
import { readZipEntry } from '../src/extract-zip.js';
import { TAR_OTHER_FILES_BYTES } from '../src/extract-tar.js';
import { listDir, removeAll, tempDir } from './helpers.js';

const dirs: string[] = [];
afterEach(() => removeAll(dirs));

const binary = makeSyntheticBinary('amd64', 20_000);
const extractBinary = (o: { zip: string; binary: string; dest: string; maxBytes: number }) =>
  readZipEntry({ archive: o.zip, entry: o.binary, maxBytes: o.maxBytes }, o.dest);

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
    expect((await readFile(join(dir, 'bin'))).equals(binary)).toBe(true);
  });

  it('a path in upstream.binary matches exactly that entry, not one of the same name elsewhere', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const other = makeSyntheticBinary('amd64', 5_000);
    await writeFile(
      join(dir, 'in.zip'),
      makeZip([
        { name: 'tools/alloy-linux-amd64', data: other },
        { name: 'bin/alloy-linux-amd64', data: binary },
      ]),
    );
    await extractBinary({ zip: join(dir, 'in.zip'), binary: 'bin/alloy-linux-amd64', dest: join(dir, 'bin'), maxBytes: 1e6 });
    expect((await readFile(join(dir, 'bin'))).equals(binary)).toBe(true);
  });
});

// The same rules for the other two kinds, through the one entry point every step uses (ELF check included).
describe('a .tar.gz asset', () => {
  const asset: UpstreamAsset = { arch: 'amd64', name: 'ne.tar.gz', kind: 'tar.gz', entry: 'ne-1.0.0.linux-amd64/node_exporter' };

  async function tryTar(entries: TarEntry[] | Buffer, opts: { entry?: string; maxBytes?: number } = {}) {
    const dir = await tempDir();
    dirs.push(dir);
    const file = join(dir, 'ne.tar.gz');
    await writeFile(file, Buffer.isBuffer(entries) ? entries : makeTarGz(entries));
    const dest = join(dir, 'out', 'node_exporter');
    const result = await extractUpstreamBinary({
      file,
      asset: { ...asset, entry: opts.entry ?? asset.entry },
      dest,
      maxBytes: opts.maxBytes ?? 1_000_000,
    }).then(
      (r) => ({ sha256: r.sha256, error: undefined }),
      (e: Error) => ({ sha256: undefined, error: e }),
    );
    return { ...result, file, dest, out: await listDir(join(dir, 'out')) };
  }

  it('extracts the binary at its path among other files, mode 0755, hashed as written', async () => {
    const r = await tryTar([
      { name: 'ne-1.0.0.linux-amd64/', type: 'dir' },
      { name: 'ne-1.0.0.linux-amd64/LICENSE', data: Buffer.from('license') },
      { name: 'ne-1.0.0.linux-amd64/node_exporter', data: binary, mode: 0o644 },
    ]);
    expect(r.error).toBeUndefined();
    expect((await readFile(r.dest)).equals(binary)).toBe(true);
    expect(r.sha256).toBe(await upstreamBinarySha256({ file: r.file, asset, maxBytes: 1e6 }));
    expect(r.out).toEqual(['node_exporter']);
  });

  it('a name alone matches the one entry of that name in any directory; ./ prefixes are fine', async () => {
    const r = await tryTar([{ name: './ne-1.0.0.linux-amd64/node_exporter', data: binary }], { entry: 'node_exporter' });
    expect(r.error).toBeUndefined();
  });

  it.each<[string, TarEntry[], string]>([
    ['traversal', [{ name: '../ne-1.0.0.linux-amd64/node_exporter', data: binary }], 'is an absolute or parent-relative name'],
    [
      'traversal elsewhere in the archive',
      [
        { name: 'ne-1.0.0.linux-amd64/node_exporter', data: binary },
        { name: 'ne-1.0.0.linux-amd64/../../etc/cron.d/x', data: Buffer.from('x') },
      ],
      'entry "ne-1.0.0.linux-amd64/../../etc/cron.d/x" is an absolute or parent-relative name',
    ],
    ['an absolute path', [{ name: '/ne-1.0.0.linux-amd64/node_exporter', data: binary }], 'is an absolute or parent-relative name'],
    [
      'a symlink named like the binary',
      [{ name: 'ne-1.0.0.linux-amd64/node_exporter', type: 'symlink', linkname: '/etc/shadow' }],
      'entry "ne-1.0.0.linux-amd64/node_exporter" is a SymbolicLink to "/etc/shadow"; expected a regular file',
    ],
    [
      'a hard link named like the binary',
      [
        { name: 'x', data: binary },
        { name: 'ne-1.0.0.linux-amd64/node_exporter', type: 'link', linkname: 'x' },
      ],
      'is a Link to "x"; expected a regular file',
    ],
    [
      'several candidates',
      [
        { name: 'a/node_exporter', data: binary },
        { name: 'b/node_exporter', data: binary },
      ],
      'has 2 entries named "node_exporter" (a/node_exporter, b/node_exporter); expected exactly one',
    ],
    [
      'no candidate',
      [{ name: 'README.md', data: Buffer.from('hi') }],
      'has no entry "ne-1.0.0.linux-amd64/node_exporter" (it holds README.md)',
    ],
  ])('refuses %s, naming it, and keeps nothing', async (what, entries, message) => {
    const r = await tryTar(entries, what === 'several candidates' ? { entry: 'node_exporter' } : {});
    expect(r.error?.message).toMatch(/^tar\.gz \/.*ne\.tar\.gz: /);
    expect(r.error?.message).toContain(message);
    expect(r.out).toEqual([]);
  });

  it('refuses a binary over maxBinaryBytes before reading it', async () => {
    const r = await tryTar([{ name: 'ne-1.0.0.linux-amd64/node_exporter', data: binary }], { maxBytes: 10_000 });
    expect(r.error?.message).toContain('is 20000 bytes, over the limit of 10000 (upstream.maxBinaryBytes)');
    expect(r.out).toEqual([]);
  });

  it('stops a gzip bomb: an archive inflating past maxBinaryBytes plus the allowance for other files', async () => {
    const filler = { name: 'zeros', data: Buffer.alloc(TAR_OTHER_FILES_BYTES + 2_000_000) };
    const bomb = makeTarGz([filler, { name: 'ne-1.0.0.linux-amd64/node_exporter', data: binary }]);
    expect(bomb.length).toBeLessThan(200_000);
    const r = await tryTar(bomb, { maxBytes: 1_000_000 });
    expect(r.error?.message).toContain(`it inflates to more than ${1_000_000 + TAR_OTHER_FILES_BYTES} bytes`);
    expect(r.out).toEqual([]);
  });

  it.each<[string, Buffer]>([
    ['not gzip at all', Buffer.from('PK\x03\x04 a zip, not a tar.gz')],
    ['gzip of something that is not a tar', gzipSync(Buffer.from('just text, no tar header here'.repeat(40)))],
    ['a tar.gz cut short', makeTarGz([{ name: 'ne-1.0.0.linux-amd64/node_exporter', data: binary }]).subarray(0, 400)],
  ])('refuses %s as not a gzip-compressed tar', async (_what, bytes) => {
    const r = await tryTar(bytes);
    expect(r.error?.message).toMatch(/cannot be read as a gzip-compressed tar archive/);
    expect(r.out).toEqual([]);
  });

  it('refuses an entry that is not an ELF for the arch, keeping nothing', async () => {
    const r = await tryTar([{ name: 'ne-1.0.0.linux-amd64/node_exporter', data: makeSyntheticBinary('arm64', 4096) }]);
    expect(r.error?.message).toBe(
      'ne-1.0.0.linux-amd64/node_exporter in ne.tar.gz is an ELF for machine 183 (aarch64), expected 62 (x86-64) for amd64',
    );
    expect(r.out).toEqual([]);
  });
});

describe('a plain binary asset', () => {
  const asset: UpstreamAsset = { arch: 'amd64', name: 'docker-compose-linux-x86_64', kind: 'binary' };
  async function tryPlain(bytes: Buffer, maxBytes = 1_000_000) {
    const dir = await tempDir();
    dirs.push(dir);
    const file = join(dir, asset.name);
    await writeFile(file, bytes);
    const dest = join(dir, 'out', 'docker-compose');
    const error = await extractUpstreamBinary({ file, asset, dest, maxBytes }).then(
      () => undefined,
      (e: Error) => e,
    );
    return { error, dest, out: await listDir(join(dir, 'out')) };
  }

  it('is the binary: copied with mode 0755', async () => {
    const r = await tryPlain(binary);
    expect(r.error).toBeUndefined();
    expect((await readFile(r.dest)).equals(binary)).toBe(true);
  });

  it.each<[string, Buffer, number, string]>([
    ['over maxBinaryBytes', binary, 10_000, 'is 20000 bytes, over the limit of 10000 (upstream.maxBinaryBytes)'],
    [
      'a script',
      Buffer.from('#!/bin/sh\necho hi\n'),
      1e6,
      'docker-compose-linux-x86_64 is not an ELF binary (a script starting "#!/bin/sh")',
    ],
    ['an ELF for the other arch', makeSyntheticBinary('arm64', 4096), 1e6, 'is an ELF for machine 183 (aarch64), expected 62'],
  ])('refuses %s, keeping nothing', async (_what, bytes, maxBytes, message) => {
    const r = await tryPlain(bytes, maxBytes);
    expect(r.error?.message).toContain(message);
    expect(r.out).toEqual([]);
  });
});
