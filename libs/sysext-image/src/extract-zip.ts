import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import yauzl from 'yauzl';
import { entryMatches } from './upstream-asset.js';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const STORED = 0;
const DEFLATED = 8;
const CHUNK = 1 << 20;

/**
 * The one entry `entry` of `archive` (see entryMatches), hashed while it is read, and written to `dest` (mode 0755) if
 * given. Everything else about the archive must be boring: no traversal or absolute names (yauzl refuses those), no
 * symlinks, exactly one candidate, and no more than `maxBytes` uncompressed — checked against the declared size first and
 * the actual stream, CRC-32 included.
 */
export async function readZipEntry(opts: { archive: string; entry: string; maxBytes: number }, dest?: string): Promise<{ sha256: string }> {
  return readBinaryEntry({ zip: opts.archive, binary: opts.entry, maxBytes: opts.maxBytes }, dest);
}

async function readBinaryEntry(opts: { zip: string; binary: string; maxBytes: number }, dest?: string): Promise<{ sha256: string }> {
  const { zip, binary } = opts;
  const fail = (why: string) => new Error(`zip ${zip}: ${why}`);
  let file: yauzl.ZipFile;
  try {
    file = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(zip, { lazyEntries: true, autoClose: false, strictFileNames: true }, (err, f) => (err ? reject(err) : resolve(f))),
    );
  } catch (err) {
    throw fail(`cannot be read as a zip archive (${(err as Error).message}): the download is corrupt or not a zip`);
  }
  try {
    const entries = await readEntries(file).catch((err: Error) => {
      throw fail(`refused: ${err.message}`);
    });
    const candidates: yauzl.Entry[] = [];
    for (const entry of entries) {
      const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
      if (type === S_IFLNK) throw fail(`entry "${entry.fileName}" is a symlink; expected only a regular file "${binary}"`);
      if (entry.fileName.endsWith('/')) continue;
      if (entryMatches(entry.fileName, binary)) candidates.push(entry);
    }
    if (candidates.length === 0) {
      const names = entries.map((e) => e.fileName).join(', ') || 'nothing';
      throw fail(`has no entry "${binary}" (it holds ${names})`);
    }
    if (candidates.length > 1) {
      throw fail(
        `has ${candidates.length} entries named "${binary}" (${candidates.map((e) => e.fileName).join(', ')}); expected exactly one`,
      );
    }
    const entry = candidates[0]!;
    const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
    if (type !== 0 && type !== S_IFREG)
      throw fail(`entry "${entry.fileName}" is not a regular file (mode ${(entry.externalFileAttributes >>> 16).toString(8)})`);
    if (entry.uncompressedSize > opts.maxBytes) {
      throw fail(
        `entry "${entry.fileName}" is ${entry.uncompressedSize} bytes uncompressed, over the limit of ${opts.maxBytes} (upstream.maxBinaryBytes)`,
      );
    }
    if (entry.compressionMethod !== STORED && entry.compressionMethod !== DEFLATED) {
      throw fail(`entry "${entry.fileName}" uses compression method ${entry.compressionMethod}; expected deflate (8) or stored (0)`);
    }
    // The entry's bytes as stored; inflated here in 1 MiB chunks (yauzl's own inflate yields 16 KiB chunks: writing 300 MiB
    // through them took twice as long as inflating it).
    if (entry.isEncrypted()) throw fail(`entry "${entry.fileName}" is encrypted`);
    // decodeFileData: false (yauzl >= 3.2; not in its type definitions): the stored bytes, whatever the method
    const raw = { decodeFileData: false } as unknown as yauzl.ZipFileOptions;
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      file.openReadStream(entry, raw, (err, s) => (err ? reject(fail(err.message)) : resolve(s))),
    );
    try {
      // yauzl checks the stored size; the inflated size must be exactly the declared one (checked against maxBytes above),
      // stopping at the first byte over it; and the CRC-32, which a stored entry with flipped bits would otherwise pass
      let crc = 0;
      let size = 0;
      const hash = createHash('sha256');
      const check = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > entry.uncompressedSize)
            return done(new Error(`it inflates to more than the declared ${entry.uncompressedSize} bytes`));
          crc = crc32(chunk, crc);
          hash.update(chunk);
          done(null, chunk);
        },
        flush(done) {
          if (size !== entry.uncompressedSize)
            return done(new Error(`it inflates to ${size} bytes, not the declared ${entry.uncompressedSize}`));
          done(
            crc === entry.crc32 ? null : new Error(`CRC-32 ${crc.toString(16)} does not match the recorded ${entry.crc32.toString(16)}`),
          );
        },
      });
      const sink = dest
        ? createWriteStream(dest, { mode: 0o755, highWaterMark: CHUNK })
        : new Writable({ write: (_chunk, _enc, done) => done() });
      if (entry.compressionMethod === DEFLATED) await pipeline(stream, createInflateRaw({ chunkSize: CHUNK }), check, sink);
      else await pipeline(stream, check, sink);
      if (dest) await chmod(dest, 0o755);
      return { sha256: hash.digest('hex') };
    } catch (err) {
      if (dest) await rm(dest, { force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new Error(`no space left extracting ${dest}: free disk space and retry`);
      throw fail(`entry "${entry.fileName}" is corrupt (${(err as Error).message})`);
    }
  } finally {
    file.close();
  }
}

function readEntries(file: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    file.on('entry', (e: yauzl.Entry) => {
      entries.push(e);
      file.readEntry();
    });
    file.once('end', () => resolve(entries));
    file.once('error', reject);
    file.readEntry();
  });
}
