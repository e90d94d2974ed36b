// Reading an image back: its format, its entries with modes and owners, its timestamps, and every file's bytes.
import { lstat, mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageFormat } from './formats.js';
import { runTool } from './tools.js';

/** One path inside an image as the filesystem records it. */
export interface ImageEntry {
  type: 'dir' | 'file' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
}

/** The first `bytes` bytes of a file (zero-filled past its end): superblocks and magic numbers are read from here. */
export async function readHead(file: string, bytes: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  const head = Buffer.alloc(bytes);
  try {
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  return head;
}

/** Recognise the filesystem from its superblock magic, or say what the file looks like instead. */
export async function detectFormat(image: string): Promise<ImageFormat> {
  const head = await readHead(image, 2048);
  if (head.toString('latin1', 0, 4) === 'hsqs') return 'squashfs';
  if (head.readUInt32LE(1024) === 0xe0f5e1e2) return 'erofs';
  if (head.readUInt16LE(1024 + 56) === 0xef53) return 'ext4';
  throw new Error(`image ${image} has no squashfs, erofs or ext4 superblock (first bytes ${head.subarray(0, 8).toString('hex')})`);
}

const TYPE_CHAR: Record<string, ImageEntry['type']> = { d: 'dir', '-': 'file', l: 'symlink' };

/** `rwsr-xr-T` → 04755 | 01000…: s/t mean the special bit plus x, S/T the special bit alone. */
function parseModeString(s: string): number {
  let mode = 0;
  for (let i = 0; i < 9; i++) if (!'-ST'.includes(s[i]!)) mode |= 1 << (8 - i);
  const special: Array<[number, number]> = [
    [2, 0o4000],
    [5, 0o2000],
    [8, 0o1000],
  ];
  for (const [i, bit] of special) if ('sStT'.includes(s[i]!)) mode |= bit;
  return mode;
}

/**
 * Read the image's file list (with modes and owners) and extract every file into `dest`, which makes the tools read and
 * decompress all of it: truncated or corrupt images fail here.
 */
export async function listAndExtract(image: string, format: ImageFormat, dest: string): Promise<Map<string, ImageEntry>> {
  switch (format) {
    case 'squashfs':
      return squashfs(image, dest);
    case 'erofs':
      return erofs(image, dest);
    case 'ext4':
      return ext4(image, dest);
  }
}

async function squashfs(image: string, dest: string): Promise<Map<string, ImageEntry>> {
  const { stdout: sb } = await runTool('unsquashfs', ['-s', image]);
  const declared = Number(/Filesystem size (\d+) bytes/.exec(sb)?.[1] ?? NaN);
  const actual = (await lstat(image)).size;
  if (!(declared <= actual)) throw new Error(`image ${image} is truncated: its superblock says ${declared} bytes, the file has ${actual}`);
  const { stdout } = await runTool('unsquashfs', ['-lln', '-d', '', image]);
  const entries = new Map<string, ImageEntry>();
  for (const line of stdout.split('\n')) {
    const m = /^([dl\-bcps])([rwxsStT-]{9}) (\d+)\/(\d+) +(\d+) \S+ \S+ (.*)$/.exec(line);
    if (!m) continue;
    const path = m[6]!.replace(/^\//, '').replace(/ -> .*$/, '');
    if (path === '') continue;
    entries.set(path, { type: TYPE_CHAR[m[1]!] ?? 'other', mode: parseModeString(m[2]!), uid: +m[3]!, gid: +m[4]!, size: +m[5]! });
  }
  await runTool('unsquashfs', ['-n', '-d', dest, image]);
  return entries;
}

async function erofs(image: string, dest: string): Promise<Map<string, ImageEntry>> {
  await runTool('fsck.erofs', [`--extract=${dest}`, '--preserve-perms', image]);
  const entries = await walk(dest);
  for (const [path, entry] of entries) {
    const { stdout } = await runTool('dump.erofs', [`--path=/${path}`, image]);
    const m = /Uid: (\d+)\s+Gid: (\d+)\s+Access: ([0-7]+)/.exec(stdout);
    if (!m) throw new Error(`dump.erofs gave no owner for /${path} in ${image}`);
    Object.assign(entry, { uid: +m[1]!, gid: +m[2]!, mode: parseInt(m[3]!, 8) & 0o7777 });
  }
  return entries;
}

async function ext4(image: string, dest: string): Promise<Map<string, ImageEntry>> {
  // e2fsck -n and debugfs read past the end of a short file as zeros, so compare the superblock's size first
  const sb = Buffer.alloc(1024);
  const fh = await open(image, 'r');
  try {
    await fh.read(sb, 0, sb.length, 1024);
  } finally {
    await fh.close();
  }
  const blockSize = 1024 << sb.readUInt32LE(24);
  const is64 = (sb.readUInt32LE(0x60) & 0x80) !== 0;
  const blocks = sb.readUInt32LE(4) + (is64 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
  const actual = (await lstat(image)).size;
  if (blocks * blockSize > actual) {
    throw new Error(`image ${image} is truncated: its superblock says ${blocks * blockSize} bytes, the file has ${actual}`);
  }
  await runTool('e2fsck', ['-fn', image]);
  const entries = new Map<string, ImageEntry>();
  const visit = async (dir: string): Promise<void> => {
    const { stdout } = await runTool('debugfs', ['-R', `ls -p "/${dir}"`, image]);
    for (const line of stdout.split('\n')) {
      // /inode/mode/uid/gid/name/size/
      const m = /^\/(\d+)\/([0-7]+)\/(\d+)\/(\d+)\/([^/]*)\/(\d*)\/$/.exec(line.trim());
      if (!m || m[1] === '0' || m[5] === '' || m[5] === '.' || m[5] === '..') continue; // inode 0: unused slots in lost+found
      const mode = parseInt(m[2]!, 8);
      const path = dir ? `${dir}/${m[5]}` : m[5]!;
      const fmt = mode & 0o170000;
      const type = fmt === 0o040000 ? 'dir' : fmt === 0o100000 ? 'file' : fmt === 0o120000 ? 'symlink' : 'other';
      entries.set(path, { type, mode: mode & 0o7777, uid: +m[3]!, gid: +m[4]!, size: Number(m[6] || 0) });
      if (type === 'dir') await visit(path);
    }
  };
  await visit('');
  await runTool('debugfs', ['-R', `rdump / "${dest}"`, image]);
  return entries;
}

/** Every path under `root` (relative), from lstat. */
export async function walk(root: string, prefix = ''): Promise<Map<string, ImageEntry>> {
  const out = new Map<string, ImageEntry>();
  for (const name of (await readdir(join(root, prefix))).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = await lstat(join(root, rel));
    const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
    out.set(rel, { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'dir' ? 0 : st.size });
    if (type === 'dir') for (const [k, v] of await walk(root, rel)) out.set(k, v);
  }
  return out;
}

/** Every timestamp an image records, in seconds since the epoch: the filesystem's own, and each path's ('' is the root). */
export interface ImageTimes {
  filesystem: Record<string, number>;
  paths: Map<string, Record<string, number>>;
}

const UTC = { env: { TZ: 'UTC' } };
/** "Tue Jan  1 00:00:00 1980" or "1980-01-01 00:00:00.000000000", printed in UTC → seconds. */
function utcSeconds(text: string, what: string): number {
  const iso = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)/.exec(text.trim());
  const ms = iso ? Date.parse(`${iso[1]}T${iso[2]}Z`) : Date.parse(`${text.trim()} UTC`);
  if (Number.isNaN(ms)) throw new Error(`cannot read the time ${JSON.stringify(text)} of ${what}`);
  return ms / 1000;
}

/** Read back the timestamps of an image (for checking that they all equal the fixed build time). */
export async function imageTimes(image: string, format: ImageFormat): Promise<ImageTimes> {
  const paths = new Map<string, Record<string, number>>();
  switch (format) {
    case 'squashfs': {
      // squashfs keeps one mtime per inode; unsquashfs sets it on what it extracts, to the second
      const fs = Number((await runTool('unsquashfs', ['-mkfs-time', image])).stdout.trim());
      const dest = await mkdtemp(join(tmpdir(), 'image-times-'));
      try {
        await runTool('unsquashfs', ['-n', '-f', '-d', dest, image]);
        paths.set('', { mtime: Math.floor((await lstat(dest)).mtimeMs / 1000) });
        for (const path of (await walk(dest)).keys())
          paths.set(path, { mtime: Math.floor((await lstat(join(dest, path))).mtimeMs / 1000) });
      } finally {
        await rm(dest, { recursive: true, force: true });
      }
      return { filesystem: { mkfs: fs }, paths };
    }
    case 'erofs': {
      const sb = (await runTool('dump.erofs', ['-s', image], UTC)).stdout;
      const created = /Filesystem created:\s*(.+)/.exec(sb)?.[1];
      const listing = await imageEntriesOf(image, format);
      for (const path of ['', ...listing]) {
        const out = (await runTool('dump.erofs', [`--path=/${path}`, image], UTC)).stdout;
        const t = /Timestamp: (.+)/.exec(out)?.[1];
        if (!t) throw new Error(`dump.erofs gave no timestamp for /${path} in ${image}`);
        paths.set(path, { mtime: utcSeconds(t, `/${path} in ${image}`) });
      }
      return { filesystem: created ? { created: utcSeconds(created, `${image}'s superblock`) } : {}, paths };
    }
    case 'ext4': {
      const sb = (await runTool('debugfs', ['-R', 'stats', image], UTC)).stdout;
      const filesystem: Record<string, number> = {};
      for (const [key, label] of [
        ['created', 'Filesystem created'],
        ['lastWrite', 'Last write time'],
        ['lastMount', 'Last mount time'],
      ] as const) {
        const v = new RegExp(`^${label}:\\s*(.+)$`, 'm').exec(sb)?.[1];
        if (v && v.trim() !== 'n/a') filesystem[key] = utcSeconds(v, `${image}'s superblock ${label}`);
      }
      const listing = await imageEntriesOf(image, format);
      for (const path of ['', ...listing]) {
        const out = (await runTool('debugfs', ['-R', `stat "/${path}"`, image])).stdout;
        const times: Record<string, number> = {};
        // " mtime: 0x12cea600:00000000 -- …": seconds (signed 32 bits) plus the epoch bits of the extra field
        for (const m of out.matchAll(/^\s*(a|c|m|cr)time: 0x([0-9a-f]{8})(?::([0-9a-f]{8}))?/gm)) {
          const low = parseInt(m[2]!, 16) | 0;
          const epoch = m[3] ? parseInt(m[3], 16) & 3 : 0;
          times[`${m[1]}time`] = low + epoch * 2 ** 32;
        }
        if (!times.mtime) throw new Error(`debugfs gave no mtime for /${path} in ${image}`);
        paths.set(path, times);
      }
      return { filesystem, paths };
    }
  }
}

/** The paths in an image (without extracting file contents where the format allows). */
async function imageEntriesOf(image: string, format: ImageFormat): Promise<string[]> {
  const dest = await mkdtemp(join(tmpdir(), 'image-list-'));
  try {
    const root = join(dest, 'root');
    if (format === 'ext4') await mkdir(root);
    return [...(await listAndExtract(image, format, root)).keys()];
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
}
