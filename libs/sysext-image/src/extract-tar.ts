// The binary inside a gzip-compressed tar (e.g. node_exporter-<v>.linux-amd64.tar.gz), under the same rules as a zip's:
// no absolute or `..` names anywhere in the archive, exactly one regular-file entry matching, no more than maxBytes,
// and the whole archive inflating to a bounded size (a gzip bomb stops early instead of filling memory or disk).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { entryMatches } from './upstream-asset.js';

/** What an archive may hold besides the binary (licenses, READMEs): the inflated tar stays under maxBytes plus this. */
export const TAR_OTHER_FILES_BYTES = 64 * 1024 * 1024;
const REGULAR = new Set(['File', 'OldFile', 'ContiguousFile']);
const CHUNK = 1 << 20;
/** A tar's first header block has "ustar" at offset 257 (POSIX and GNU). */
const TAR_MAGIC_END = 262;

/** The one entry `entry` of the .tar.gz `archive`, hashed as it is read, and written to `dest` (mode 0755) if given. */
export async function readTarEntry(opts: { archive: string; entry: string; maxBytes: number }, dest?: string): Promise<{ sha256: string }> {
  const { archive, entry: wanted, maxBytes } = opts;
  const fail = (why: string) => new Error(`tar.gz ${archive}: ${why}`);
  const limit = maxBytes + TAR_OTHER_FILES_BYTES;
  let refused: string | undefined;
  const names: string[] = [];
  const candidates: string[] = [];
  let written: Promise<{ sha256: string }> | undefined;
  // the entry being written, destroyed when the archive breaks off (its stream would otherwise wait for ever)
  let source: Readable | undefined;

  const take = (entry: ReadEntry): Promise<{ sha256: string }> => {
    const hash = createHash('sha256');
    let size = 0;
    const check = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > entry.size) return done(new Error(`it holds more than the declared ${entry.size} bytes`));
        hash.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        done(size === entry.size ? null : new Error(`it holds ${size} bytes, not the declared ${entry.size}`));
      },
    });
    const sink = dest
      ? createWriteStream(dest, { mode: 0o755, highWaterMark: CHUNK })
      : new Writable({ write: (_chunk, _enc, done) => done() });
    source = Readable.from(entry);
    return pipeline(source, check, sink).then(() => ({ sha256: hash.digest('hex') }));
  };

  const parser = new Parser({
    strict: true,
    brotli: false,
    zstd: false,
    onReadEntry: (entry) => {
      const name = entry.path.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
      if (entry.path.startsWith('/') || name.split('/').includes('..')) {
        refused ??= `entry "${entry.path}" is an absolute or parent-relative name`;
      }
      names.push(name);
      if (refused || !entryMatches(name, wanted)) return entry.resume();
      candidates.push(name);
      if (candidates.length > 1) return entry.resume();
      if (!REGULAR.has(entry.type)) {
        refused = `entry "${name}" is a ${entry.type}${entry.linkpath ? ` to "${entry.linkpath}"` : ''}; expected a regular file`;
        return entry.resume();
      }
      if (entry.size > maxBytes) {
        refused = `entry "${name}" is ${entry.size} bytes, over the limit of ${maxBytes} (upstream.maxBinaryBytes)`;
        return entry.resume();
      }
      written = take(entry);
    },
  });
  let parseError: Error | undefined;
  parser.on('error', (error: Error) => (parseError ??= error));
  const parsed = new Promise<void>((resolve) => parser.once('end', () => resolve()));

  let inflated = 0;
  let head: Buffer | undefined = Buffer.alloc(0);
  const bounded = new Transform({
    transform(chunk: Buffer, _enc, done) {
      inflated += chunk.length;
      if (inflated > limit) return done(new Error(`it inflates to more than ${limit} bytes`));
      if (!head) return done(null, chunk);
      // the first header block, whole, before the parser sees a byte
      head = Buffer.concat([head, chunk]);
      if (head.length < TAR_MAGIC_END) return done();
      if (!looksLikeTar(head)) return done(new Error('it does not inflate to a tar archive'));
      const first = head;
      head = undefined;
      done(null, first);
    },
    flush(done) {
      done(head ? new Error('it does not inflate to a tar archive') : null);
    },
  });
  const intoParser = new Writable({
    highWaterMark: CHUNK,
    write(chunk: Buffer, _enc, done) {
      if (parseError) return done(parseError);
      if (parser.write(chunk)) done();
      else parser.once('drain', () => done(parseError));
    },
    final(done) {
      parser.end();
      parsed.then(() => done(parseError), done);
    },
  });
  try {
    try {
      await pipeline(createReadStream(archive), createGunzip({ chunkSize: CHUNK }), bounded, intoParser);
      const result = await written;
      if (parseError) throw parseError;
      if (refused) throw fail(`refused: ${refused}`);
      if (candidates.length > 1)
        throw fail(`has ${candidates.length} entries named "${wanted}" (${candidates.join(', ')}); expected exactly one`);
      if (!result) throw fail(`has no entry "${wanted}" (it holds ${names.slice(0, 20).join(', ') || 'nothing'})`);
      if (dest) await chmod(dest, 0o755);
      return result;
    } catch (error) {
      source?.destroy(error as Error);
      await written?.catch(() => undefined);
      throw error;
    }
  } catch (error) {
    if (dest) await rm(dest, { force: true });
    if ((error as Error).message.startsWith(`tar.gz ${archive}: `)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new Error(`no space left extracting ${dest}: free disk space and retry`);
    throw fail(`cannot be read as a gzip-compressed tar archive (${(error as Error).message}): the download is corrupt or not a .tar.gz`);
  }
}

// Anything else (another gzip layer, zstd, a zip) is not what the recipe says the asset is.
function looksLikeTar(head: Buffer): boolean {
  return head.toString('latin1', 257, TAR_MAGIC_END) === 'ustar';
}
