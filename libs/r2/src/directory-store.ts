// ObjectStore on a local directory laid out exactly like the bucket (<root>/<prefix>/<key>), so the tree can be served
// over HTTP to systemd-sysupdate as is. Metadata (sha256, content type, cache control) lives in a metadata tree
// (<root>.meta by default) outside the served tree: nothing but published objects is ever served, and the metadata is
// only a cache for HEAD — when a file's size or mtime no longer matches it, the sha256 is recomputed from the bytes.
// Whoever writes the directory can forge both (same size, `touch -d`), so nothing is ever decided by them: proveBytes
// reads and hashes the file. ETags are the quoted sha256, so they are stable across processes and restarts.
// Writes go to a temp file and are renamed into place (readers never see partial files); writes to one key are
// serialised across processes with a lock directory so conditional writes are check-then-rename atomically.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readFile, readdir, realpath, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PreconditionFailedError, StoreError } from './errors.js';
import { sha256Bytes, sha256File } from '@alloy-sysext/common';
import {
  assertValidKey,
  copySource,
  isConditional,
  normalizePrefix,
  proveWith,
  refusedObject,
  type BytesProof,
  type CopyOptions,
  type ExpectedBytes,
  type ListedObject,
  type ObjectInfo,
  type ObjectStore,
  type PutBytesOptions,
  type PutOptions,
  type ReadPolicy,
  type WriteConditions,
  type WriteResult,
} from './store.js';

export interface DirectoryStoreOptions {
  prefix?: string;
  /** Sidecar metadata directory (default `<root>.meta`). Must be on the same file system as root. */
  metadataDir?: string;
  /** Give up waiting for another writer's lock on a key after this long (default 30 s). */
  lockTimeoutMs?: number;
}

interface Sidecar {
  sha256: string;
  size: number;
  mtimeMs: number;
  contentType?: string;
  cacheControl?: string;
}

const etagOf = (sha256: string) => `"${sha256}"`;
const unquote = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

export function createDirectoryStore(root: string, opts: DirectoryStoreOptions = {}): ObjectStore {
  const rootDir = path.resolve(root);
  const metaDir = path.resolve(opts.metadataDir ?? `${rootDir}.meta`);
  const prefix = normalizePrefix(opts.prefix, 'directory store prefix');
  const lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
  const where = `dir:${prefix ? path.join(rootDir, prefix) : rootDir}`;

  const rel = (key: string) => {
    assertValidKey(key);
    return prefix ? `${prefix}/${key}` : key;
  };
  // Defence in depth behind assertValidKey and normalizePrefix: every path is resolved and must stay under its base.
  const dataPath = (key: string) => inside(rootDir, path.resolve(rootDir, ...rel(key).split('/')), key);
  const sidecarPath = (key: string) => inside(metaDir, path.resolve(metaDir, 'objects', ...rel(key).split('/')) + '.json', key);
  function inside(base: string, p: string, key: string): string {
    const r = path.relative(base, p);
    if (r === '' || r === '..' || r.startsWith(`..${path.sep}`) || path.isAbsolute(r)) {
      throw new StoreError(`object key ${JSON.stringify(key)} resolves to ${p}, outside ${base}: refusing to touch it`, 'failed');
    }
    return p;
  }
  /**
   * Checks that `dir`, symbolic links followed, is still under `base` (judged by its deepest existing ancestor, before
   * anything is created), so a linked directory inside the tree cannot carry a write or a delete outside it.
   */
  async function assertRealInside(base: string, dir: string, key: string): Promise<void> {
    await mkdir(base, { recursive: true });
    let existing = dir;
    while (
      existing !== base &&
      !(await stat(existing).then(
        () => true,
        () => false,
      ))
    )
      existing = path.dirname(existing);
    const [realBase, real] = await Promise.all([realpath(base), realpath(existing)]);
    const r = path.relative(realBase, real);
    if (r === '..' || r.startsWith(`..${path.sep}`) || path.isAbsolute(r)) {
      throw new StoreError(
        `object key ${JSON.stringify(key)} leads through a symbolic link to ${real}, outside ${realBase}: refusing to write or delete there`,
        'failed',
      );
    }
  }
  const mkdirInside = async (base: string, dir: string, key: string) => {
    await assertRealInside(base, dir, key);
    await mkdir(dir, { recursive: true });
  };
  const tmpPath = () => path.join(metaDir, 'tmp', randomBytes(8).toString('hex'));

  async function readSidecar(key: string): Promise<Sidecar | null> {
    try {
      return JSON.parse(await readFile(sidecarPath(key), 'utf8')) as Sidecar;
    } catch {
      return null;
    }
  }

  async function writeSidecar(key: string, sidecar: Sidecar): Promise<void> {
    const target = sidecarPath(key);
    await mkdirInside(metaDir, path.dirname(target), key);
    const tmp = tmpPath();
    await mkdir(path.dirname(tmp), { recursive: true });
    await writeFile(tmp, JSON.stringify(sidecar));
    await rename(tmp, target);
  }

  // A symlink in the bucket directory would make us read (and publish, or sign) a file outside it: refuse, never follow.
  async function refuseSymlinks(key: string): Promise<void> {
    let dir = rootDir;
    for (const part of rel(key).split('/')) {
      dir = path.join(dir, part);
      const st = await lstat(dir).catch(() => undefined);
      if (!st) return;
      if (st.isSymbolicLink()) {
        throw refusedObject(
          `${dir} in the bucket directory ${rootDir} is a symlink: refusing to follow it (objects must be regular files)`,
        );
      }
    }
  }

  async function head(key: string): Promise<ObjectInfo | null> {
    let st;
    try {
      await refuseSymlinks(key);
      st = await stat(dataPath(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    if (!st.isFile()) return null;
    let side = await readSidecar(key);
    if (!side || side.size !== st.size || side.mtimeMs !== st.mtimeMs) {
      // Sidecar missing or stale: the bytes are the truth.
      side = { ...(side ?? {}), sha256: await sha256File(dataPath(key)), size: st.size, mtimeMs: st.mtimeMs };
    }
    return {
      size: st.size,
      sha256: side.sha256,
      etag: etagOf(side.sha256),
      contentType: side.contentType,
      cacheControl: side.cacheControl,
    };
  }

  /** The file's size (no metadata has a say), then its bytes read and hashed: the writer of the directory forges the rest. */
  async function proveBytes(key: string, expected: ExpectedBytes, read: ReadPolicy = 'if-needed'): Promise<BytesProof | null> {
    const st = await regularFile(key);
    return proveWith(st && { size: st.size, etag: '' }, expected, read, async () => {
      const sha256 = await sha256File(dataPath(key)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      return sha256 === undefined ? null : { sha256, size: (await stat(dataPath(key))).size, etag: etagOf(sha256) };
    });
  }

  /** stat of the file under `key`, or null when there is none; a symlink on the way is refused. */
  async function regularFile(key: string) {
    try {
      await refuseSymlinks(key);
      const st = await stat(dataPath(key));
      return st.isFile() ? st : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async function get(key: string): Promise<{ body: Buffer; etag: string } | null> {
    try {
      await refuseSymlinks(key);
      const body = await readFile(dataPath(key));
      return { body, etag: etagOf(sha256Bytes(body)) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR') return null;
      throw err;
    }
  }

  async function getStream(key: string): Promise<{ body: Readable; size: number } | null> {
    try {
      await refuseSymlinks(key);
      const st = await stat(dataPath(key));
      if (!st.isFile()) return null;
      return { body: createReadStream(dataPath(key), { highWaterMark: 1 << 20 }), size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Exclusive per-key lock shared by every process using this metadata dir (mkdir is atomic). */
  async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const lock = path.join(metaDir, 'locks', Buffer.from(rel(key)).toString('base64url'));
    await mkdir(path.dirname(lock), { recursive: true });
    const started = Date.now();
    for (;;) {
      try {
        await mkdir(lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const age = await stat(lock).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > 2 * lockTimeoutMs) {
          // Left behind by a crashed writer.
          await rmdir(lock).catch(() => {});
          continue;
        }
        if (Date.now() - started > lockTimeoutMs) {
          throw new StoreError(`Timed out waiting for the write lock on ${JSON.stringify(key)} in ${where} (${lock})`, 'failed');
        }
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
      }
    }
    try {
      return await fn();
    } finally {
      await rmdir(lock).catch(() => {});
    }
  }

  /**
   * The served tree is read by a web server running as another user: directories 0755 and files 0644 whatever the
   * umask (under umask 077 they would be 0700/0600 and unreadable once served).
   */
  async function servedDirectory(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    for (let d = dir; ; d = path.dirname(d)) {
      await chmod(d, 0o755);
      if (d === rootDir || path.dirname(d) === d || !d.startsWith(rootDir)) break;
    }
  }

  /** Copies `source` (file path or bytes) into place atomically and records its sidecar. */
  async function install(key: string, source: string | Uint8Array, sha256: string, o: PutOptions): Promise<string> {
    const target = dataPath(key);
    await mkdirInside(rootDir, path.dirname(target), key);
    await servedDirectory(path.dirname(target));
    const tmp = tmpPath();
    await mkdir(path.dirname(tmp), { recursive: true });
    try {
      if (typeof source === 'string') {
        const total = (await stat(source)).size;
        let loaded = 0;
        await pipeline(
          createReadStream(source, { highWaterMark: 1 << 20 }),
          new Transform({
            transform(chunk: Buffer, _e, cb) {
              loaded += chunk.length;
              o.onProgress?.({ key, loaded, total });
              cb(null, chunk);
            },
          }),
          createWriteStream(tmp),
        );
      } else {
        await writeFile(tmp, source);
        o.onProgress?.({ key, loaded: source.length, total: source.length });
      }
      await chmod(tmp, 0o644);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new StoreError(`Writing ${JSON.stringify(key)} to ${where} failed: ${(err as Error).message}`, 'failed', undefined, {
        cause: err,
      });
    }
    const st = await stat(target);
    await writeSidecar(key, { sha256, size: st.size, mtimeMs: st.mtimeMs, contentType: o.contentType, cacheControl: o.cacheControl });
    return etagOf(sha256);
  }

  async function putFile(key: string, file: string, o: PutOptions = {}): Promise<WriteResult> {
    const { size } = await stat(file);
    const sha256 = o.sha256 ?? (await sha256File(file));
    return withLock(key, async () => {
      if (isConditional(o)) checkConditions(key, await head(key), o);
      const existing = isConditional(o) ? null : await proveBytes(key, { sha256, size });
      if (existing?.same) {
        o.onProgress?.({ key, loaded: size, total: size });
        return { skipped: true, etag: existing.etag };
      }
      return { skipped: false, etag: await install(key, file, sha256, o), ...(existing ? { replaced: existing } : {}) };
    });
  }

  async function copy(sourceKey: string, key: string, o: CopyOptions): Promise<WriteResult> {
    // the directory is this machine's: reading the source is what proves it, whatever etag the caller saw
    copySource(where, sourceKey, key, await proveBytes(sourceKey, { sha256: o.sha256 }), o.sha256);
    // the directory is this machine's: a local file copy, with putFile's skip and atomic install
    return putFile(key, dataPath(sourceKey), { sha256: o.sha256, contentType: o.contentType, cacheControl: o.cacheControl });
  }

  async function putBytes(key: string, bytes: Uint8Array, o: PutBytesOptions = {}): Promise<WriteResult> {
    const sha256 = o.sha256 ?? sha256Bytes(bytes);
    return withLock(key, async () => {
      if (isConditional(o)) checkConditions(key, await head(key), o);
      const existing = isConditional(o) ? null : await proveBytes(key, { sha256, size: bytes.length });
      if (existing?.same) return { etag: existing.etag, skipped: true };
      return { etag: await install(key, bytes, sha256, o), skipped: false, ...(existing ? { replaced: existing } : {}) };
    });
  }

  /** S3's precondition rules, checked under the key's lock so the check and the rename that follows are one step. */
  function checkConditions(key: string, existing: ObjectInfo | null, o: WriteConditions): void {
    if (o.ifMatch !== undefined) {
      if (!existing || (o.ifMatch !== '*' && unquote(o.ifMatch) !== unquote(existing.etag))) {
        throw new PreconditionFailedError(
          `Conditional write of ${JSON.stringify(key)} to ${where} lost a race: the object ${existing ? 'changed' : 'no longer exists'} since it was read`,
          existing ? 412 : 404,
        );
      }
    }
    if (o.ifNoneMatch === '*' && existing) {
      throw new PreconditionFailedError(
        `Conditional write of ${JSON.stringify(key)} to ${where} lost a race: the object already exists`,
        412,
      );
    }
  }

  async function list(listPrefix: string): Promise<ListedObject[]> {
    const base = prefix ? path.join(rootDir, ...prefix.split('/')) : rootDir;
    const out: ListedObject[] = [];
    async function walk(dir: string, relDir: string): Promise<void> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const key = relDir ? `${relDir}/${e.name}` : e.name;
        // Only descend where keys with this prefix can live.
        if (!key.startsWith(listPrefix) && !listPrefix.startsWith(`${key}/`)) continue;
        if (e.isDirectory()) await walk(path.join(dir, e.name), key);
        else if (e.isFile() && key.startsWith(listPrefix)) {
          const info = await head(key);
          if (info) out.push({ key, size: info.size, etag: info.etag });
        }
      }
    }
    await walk(base, '');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async function del(key: string): Promise<void> {
    await withLock(key, async () => {
      const target = dataPath(key);
      await assertRealInside(rootDir, path.dirname(target), key);
      await assertRealInside(metaDir, path.dirname(sidecarPath(key)), key);
      await rm(target, { force: true });
      await rm(sidecarPath(key), { force: true });
    });
  }

  return { describe: () => where, head, get, proveBytes, getStream, putFile, putBytes, copy, list, delete: del };
}
