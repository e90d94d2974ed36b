import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, readFile, readdir, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createDirectoryStore } from './directory-store.js';
import { PreconditionFailedError } from './errors.js';
import { sha256, tempDir } from '../test/helpers.js';

describe('directory store', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    tmp = await tempDir();
  });
  afterAll(async () => tmp.cleanup());

  it('lays objects out like the bucket, with metadata outside the served tree', async () => {
    const root = path.join(tmp.dir, 'layout');
    const store = createDirectoryStore(root, { prefix: 'sysext' });
    expect(store.describe()).toBe(`dir:${path.join(root, 'sysext')}`);
    const src = path.join(tmp.dir, 'img.raw');
    await writeFile(src, 'image bytes');
    const progress: number[] = [];
    const r = await store.putFile('alloy/alloy-1.0.0-amd64.raw', src, {
      contentType: 'application/octet-stream',
      cacheControl: 'immutable',
      onProgress: (p) => progress.push(p.loaded),
    });
    await store.putBytes('alloy/SHA256SUMS', Buffer.from('sums\n'), { contentType: 'text/plain' });
    expect(await readFile(path.join(root, 'sysext/alloy/alloy-1.0.0-amd64.raw'), 'utf8')).toBe('image bytes');
    expect((await readdir(root, { recursive: true })).sort()).toEqual([
      'sysext',
      'sysext/alloy',
      'sysext/alloy/SHA256SUMS',
      'sysext/alloy/alloy-1.0.0-amd64.raw',
    ]);
    expect(progress.at(-1)).toBe(11);
    expect(r).toEqual({ skipped: false, etag: `"${sha256(Buffer.from('image bytes'))}"` });
    expect(await store.head('alloy/alloy-1.0.0-amd64.raw')).toEqual({
      size: 11,
      sha256: sha256(Buffer.from('image bytes')),
      etag: r.etag,
      contentType: 'application/octet-stream',
      cacheControl: 'immutable',
    });
    expect((await store.list('alloy/')).map((o) => o.key)).toEqual(['alloy/SHA256SUMS', 'alloy/alloy-1.0.0-amd64.raw']);
    expect(await store.list('alloy/alloy-1.0.0')).toHaveLength(1);
    expect(await store.list('nothing/')).toEqual([]);
  });

  it('copies an object only from a source that holds the bytes the caller verified (read, not its record)', async () => {
    const store = createDirectoryStore(path.join(tmp.dir, 'copy'));
    await store.putBytes('a.raw', Buffer.from('bytes of a'));
    const sha = sha256(Buffer.from('bytes of a'));
    await expect(store.copy('a.raw', 'b.raw', { sha256: 'f'.repeat(64) })).rejects.toThrow(
      `cannot copy "a.raw" to "b.raw" in ${store.describe()}: the source holds sha256 ${sha}, expected ${'f'.repeat(64)}`,
    );
    await expect(store.copy('missing.raw', 'b.raw', { sha256: sha })).rejects.toThrow('the source is missing');
    expect(await store.head('b.raw')).toBeNull();
    expect((await store.copy('a.raw', 'b.raw', { sha256: sha })).skipped).toBe(false);
    expect((await store.get('b.raw'))!.body.toString()).toBe('bytes of a');
  });

  it('skips identical files without rewriting them', async () => {
    const root = path.join(tmp.dir, 'skip');
    const store = createDirectoryStore(root);
    const src = path.join(tmp.dir, 'same.raw');
    await writeFile(src, 'same');
    await store.putFile('same.raw', src);
    const before = await stat(path.join(root, 'same.raw'));
    await new Promise((r) => setTimeout(r, 20));
    expect((await store.putFile('same.raw', src)).skipped).toBe(true);
    expect((await stat(path.join(root, 'same.raw'))).mtimeMs).toBe(before.mtimeMs);
  });

  it('trusts the bytes over a stale sidecar when a file is replaced behind its back', async () => {
    const root = path.join(tmp.dir, 'stale');
    const store = createDirectoryStore(root);
    await store.putBytes('f.txt', Buffer.from('one'));
    await writeFile(path.join(root, 'f.txt'), 'changed outside');
    expect((await store.head('f.txt'))?.sha256).toBe(sha256(Buffer.from('changed outside')));
  });

  it('an image replaced in place with the same size and times (its metadata record still matching) is never skipped', async () => {
    const root = path.join(tmp.dir, 'forged');
    const store = createDirectoryStore(root);
    const src = path.join(tmp.dir, 'forged-genuine.raw');
    await writeFile(src, 'genuine image bytes');
    await store.putFile('img.raw', src);
    const object = path.join(root, 'img.raw');
    const before = await stat(object);
    // the attack: same length, the times put back, and the .meta record (size, mtime) made to match the file again
    await writeFile(object, 'forged image bytes!');
    await utimes(object, before.atime, before.mtime);
    const record = path.join(`${root}.meta`, 'objects', 'img.raw.json');
    const meta = JSON.parse(await readFile(record, 'utf8'));
    await writeFile(record, JSON.stringify({ ...meta, mtimeMs: (await stat(object)).mtimeMs }));
    expect((await store.head('img.raw'))!.sha256).toBe(sha256(Buffer.from('genuine image bytes')));
    expect((await store.putFile('img.raw', src)).skipped).toBe(false);
    expect(await readFile(object, 'utf8')).toBe('genuine image bytes');
    await writeFile(object, 'forged image bytes!');
    expect(await store.proveBytes('img.raw', { sha256: sha256(Buffer.from('genuine image bytes')) })).toMatchObject({
      same: false,
      by: 'read',
      sha256: sha256(Buffer.from('forged image bytes!')),
    });
    // without reading, the directory store decides nothing beyond the size
    expect((await store.proveBytes('img.raw', { sha256: sha256(Buffer.from('genuine image bytes')) }, 'never'))!.same).toBeUndefined();
  });

  it('enforces conditional writes with content etags', async () => {
    const root = path.join(tmp.dir, 'cond');
    const store = createDirectoryStore(root);
    const first = await store.putBytes('m', Buffer.from('v1'), { ifNoneMatch: '*' });
    await expect(store.putBytes('m', Buffer.from('v2'), { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(store.putBytes('m', Buffer.from('v2'), { ifMatch: '"deadbeef"' })).rejects.toMatchObject({
      kind: 'precondition-failed',
      status: 412,
    });
    await expect(store.putBytes('gone', Buffer.from('v2'), { ifMatch: first.etag })).rejects.toMatchObject({ status: 404 });
    const second = await store.putBytes('m', Buffer.from('v2'), { ifMatch: first.etag });
    expect(await store.get('m')).toEqual({ body: Buffer.from('v2'), etag: second.etag });
    await store.delete('m');
    expect(await store.get('m')).toBeNull();
    expect(await store.head('m')).toBeNull();
  });

  it('applies the same conditions to putFile: refused over other bytes, the old bytes stay; never skipped as identical', async () => {
    const root = path.join(tmp.dir, 'cond-file');
    const store = createDirectoryStore(root);
    const src = path.join(tmp.dir, 'cond-file.raw');
    await writeFile(src, 'new image bytes');
    const old = await store.putBytes('img.raw', Buffer.from('published bytes'));
    await expect(store.putFile('img.raw', src, { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(store.putFile('img.raw', src, { ifMatch: '"deadbeef"' })).rejects.toMatchObject({ status: 412 });
    expect((await store.get('img.raw'))?.body.toString()).toBe('published bytes');
    const r = await store.putFile('img.raw', src, { ifMatch: old.etag });
    expect(r.skipped).toBe(false);
    expect((await store.get('img.raw'))?.body.toString()).toBe('new image bytes');
    // Identical bytes under a condition still go through the precondition rather than being skipped.
    await expect(store.putFile('img.raw', src, { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
  });

  it('rejects keys that would escape the root', async () => {
    const store = createDirectoryStore(path.join(tmp.dir, 'esc'));
    await expect(store.putBytes('../x', Buffer.from('x'))).rejects.toThrow(/Invalid object key "\.\.\/x"/);
    await expect(store.head('/etc/passwd')).rejects.toThrow(/Invalid object key/);
  });

  it('refuses a prefix with ".", ".." or empty segments or a leading "/", naming the value', () => {
    for (const bad of ['..', '../escape', 'a/../../b', './a', 'a//b', '/abs', 'a/./b', 'bad\\seg', 'sp ace']) {
      expect(() => createDirectoryStore(path.join(tmp.dir, 'pfx'), { prefix: bad })).toThrow(
        `directory store prefix ${JSON.stringify(bad)} is not a key prefix: expected "" or path segments of letters, digits, "_", "-" and "." joined by "/"`,
      );
    }
    expect(createDirectoryStore(path.join(tmp.dir, 'pfx'), { prefix: 'alloy/' }).describe()).toBe(
      `dir:${path.join(tmp.dir, 'pfx', 'alloy')}`,
    );
    expect(createDirectoryStore(path.join(tmp.dir, 'pfx'), { prefix: '..a/b.c' }).describe()).toBe(
      `dir:${path.join(tmp.dir, 'pfx', '..a', 'b.c')}`,
    );
  });

  it('never reads, writes or deletes through a symbolic link in the bucket directory', async () => {
    const root = path.join(tmp.dir, 'linked');
    const outside = path.join(tmp.dir, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, 'victim.raw'), 'not yours');
    await mkdir(root, { recursive: true });
    await symlink(outside, path.join(root, 'alloy'));
    const store = createDirectoryStore(root);
    const refused = `${path.join(root, 'alloy')} in the bucket directory ${root} is a symlink: refusing to follow it (objects must be regular files)`;
    await expect(store.putBytes('alloy/evil.raw', Buffer.from('x'))).rejects.toThrow(refused);
    await expect(store.putBytes('alloy/deeper/evil.raw', Buffer.from('x'))).rejects.toThrow(refused);
    await expect(store.delete('alloy/victim.raw')).rejects.toThrow(/leads through a symbolic link/);
    await expect(store.get('alloy/victim.raw')).rejects.toThrow(refused);
    expect(await readdir(outside)).toEqual(['victim.raw']);
    expect(await readFile(path.join(outside, 'victim.raw'), 'utf8')).toBe('not yours');
    // Even a link that stays inside the root is refused: what the bucket serves must be what it holds.
    await mkdir(path.join(root, 'real'), { recursive: true });
    await symlink(path.join(root, 'real'), path.join(root, 'inner'));
    await expect(store.putBytes('inner/ok.raw', Buffer.from('ok'))).rejects.toThrow(
      `${path.join(root, 'inner')} in the bucket directory ${root} is a symlink`,
    );
    expect(await readdir(path.join(root, 'real'))).toEqual([]);
  });
});

describe('directory store under umask 077', () => {
  it('serves files 0644 and directories 0755 (readable by the web server serving the bucket)', async () => {
    const tmp = await tempDir();
    try {
      const root = path.join(tmp.dir, 'bucket');
      const { execFile } = await import('node:child_process');
      const { promisify } = await import('node:util');
      const code = `import { createDirectoryStore } from './directory-store.ts';
        const store = createDirectoryStore(${JSON.stringify(root)}, { prefix: 'alloy/' });
        await store.putBytes('SHA256SUMS', Buffer.from('sums\\n'));
        await store.putFile('sub/alloy-1.0.0-amd64.raw', ${JSON.stringify(path.join(tmp.dir, 'img.raw'))});`;
      await writeFile(path.join(tmp.dir, 'img.raw'), 'image bytes');
      const script = `umask 077 && exec "${process.execPath}" --import tsx --input-type=module -e "$0"`;
      await promisify(execFile)('sh', ['-c', script, code], { cwd: path.dirname(new URL(import.meta.url).pathname) });
      const mode = async (p: string) => ((await stat(path.join(root, p))).mode & 0o777).toString(8);
      expect(await Promise.all(['.', 'alloy', 'alloy/sub'].map(mode))).toEqual(['755', '755', '755']);
      expect(await Promise.all(['alloy/SHA256SUMS', 'alloy/sub/alloy-1.0.0-amd64.raw'].map(mode))).toEqual(['644', '644']);
    } finally {
      await tmp.cleanup();
    }
  }, 30_000);
});
