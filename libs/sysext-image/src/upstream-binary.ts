// The binary an upstream asset holds, whatever its kind: a zip's or a tar.gz's one entry, or the asset itself. Every
// kind gets the same rules: at most maxBytes, an ELF executable for the image's arch, and under its final name only once
// whole and checked.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tempPathFor } from '@alloy-sysext/common';
import { assertElfFor } from './elf.js';
import { readTarEntry } from './extract-tar.js';
import { readZipEntry } from './extract-zip.js';
import type { UpstreamAsset } from './upstream-asset.js';

interface ReadOptions {
  /** The asset's bytes on disk (already verified against its digest root). */
  file: string;
  asset: UpstreamAsset;
  maxBytes: number;
}

/** Reads the binary out of the asset file, hashing it, into `dest` when given. */
function readBinary(opts: ReadOptions, dest?: string): Promise<{ sha256: string }> {
  const { asset } = opts;
  switch (asset.kind) {
    case 'zip':
      return readZipEntry({ archive: opts.file, entry: asset.entry!, maxBytes: opts.maxBytes }, dest);
    case 'tar.gz':
      return readTarEntry({ archive: opts.file, entry: asset.entry!, maxBytes: opts.maxBytes }, dest);
    case 'binary':
      return readPlainBinary(opts, dest);
  }
}

async function readPlainBinary(opts: ReadOptions, dest?: string): Promise<{ sha256: string }> {
  const { size } = await stat(opts.file);
  if (size > opts.maxBytes) {
    throw new Error(`${opts.file} is ${size} bytes, over the limit of ${opts.maxBytes} (upstream.maxBinaryBytes)`);
  }
  const hash = createHash('sha256');
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const sink = dest ? createWriteStream(dest, { mode: 0o755 }) : new Writable({ write: (_c, _e, done) => done() });
  await pipeline(createReadStream(opts.file), meter, sink);
  if (dest) await chmod(dest, 0o755);
  return { sha256: hash.digest('hex') };
}

/** The sha256 of the binary extractUpstreamBinary would extract, under the same checks, without writing it anywhere. */
export async function upstreamBinarySha256(opts: ReadOptions): Promise<string> {
  return (await readBinary(opts)).sha256;
}

/**
 * Extracts the asset's binary to `dest` (its directory created), hashed as it is written. It appears under its final
 * name only once whole and an ELF executable for the asset's arch: what `image` would refuse is never kept as fetched.
 */
export async function extractUpstreamBinary(opts: ReadOptions & { dest: string }): Promise<{ sha256: string }> {
  await mkdir(dirname(opts.dest), { recursive: true });
  const temp = tempPathFor(opts.dest);
  try {
    const extracted = await readBinary(opts, temp);
    const what = opts.asset.kind === 'binary' ? opts.asset.name : `${opts.asset.entry} in ${basename(opts.file)}`;
    await assertElfFor(temp, opts.asset.arch, what);
    await rename(temp, opts.dest);
    return extracted;
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
