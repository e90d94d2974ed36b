import {
  imageFileName,
  normalizeVersion,
  parseArch,
  parseChecksumLine,
  sha256File,
  systemdArchitecture,
  type Arch,
} from '@alloy-sysext/common';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { assertElfFor } from './elf.js';
import type { ImageFormat } from './formats.js';
import { detectFormat, listAndExtract, walk, type ImageEntry } from './inspect.js';
import { expectedEntries, extensionReleasePath, renderUnit, type TreeEntry, type TreeOptions } from './tree.js';

export interface ValidateExpectation {
  version: string;
  arch: Arch;
  tree: TreeOptions;
  format?: ImageFormat;
  /**
   * The sha256 the image must have (from a manifest). squashfs, erofs and ext4 keep no checksums of file data, so a
   * flipped bit inside the binary is caught only by this or by the `.sha256` beside the image.
   */
  sha256?: string;
  /** The sha256 of the binary the image was built from: the binary read back from the image must have it. */
  binarySha256?: string;
}

const octal = (mode: number) => `0${mode.toString(8)}`;

/**
 * Check an image without root: file name, superblock type, the `.sha256` beside it if any, every file read in full (the
 * binary against its expected sha256 when given), the exact file list with modes and root ownership, extension-release contents and arch, the unit, and the binary's ELF
 * machine. Throws an error naming the first thing that is wrong.
 */
export async function validateImage(image: string, expect: ValidateExpectation): Promise<void> {
  const version = normalizeVersion(expect.version, { allowPrerelease: true });
  const arch = parseArch(expect.arch);
  const expected = expectedEntries(expect.tree);
  const st = await stat(image).catch(() => undefined);
  if (!st?.isFile() || st.size === 0) throw new Error(`image ${image} does not exist or is empty`);

  const name = imageFileName(expect.tree.name, version, arch);
  if (basename(image) !== name) {
    throw new Error(`image ${image} is not named for version ${version} and arch ${arch}: expected ${name}`);
  }
  const format = await detectFormat(image);
  if (expect.format && expect.format !== format) throw new Error(`image ${image} is ${format}, expected ${expect.format}`);
  await checkChecksumFile(image);
  if (expect.sha256 !== undefined) {
    const actual = await sha256File(image);
    if (actual !== expect.sha256)
      throw new Error(`image ${image} has sha256 ${actual}, expected ${expect.sha256}: the image is corrupt or not the one expected`);
  }

  const work = await mkdtemp(join(tmpdir(), 'sysext-validate-'));
  try {
    const root = join(work, 'root');
    if (format === 'ext4') await mkdir(root);
    const listed = await listAndExtract(image, format, root).catch((err: Error) => {
      throw new Error(`image ${image} is corrupt or truncated: ${err.message}`);
    });
    if (format === 'ext4') expected.set('lost+found', { type: 'dir', mode: 0o700 });
    compareEntries(image, listed, expected);
    await compareExtracted(image, root, listed, { path: expect.tree.binaryPath, sha256: expect.binarySha256 });

    const releasePath = extensionReleasePath(expect.tree.name);
    const release = parseOsRelease(await readFile(join(root, releasePath), 'utf8'));
    const wanted: Record<string, string> = { ...expect.tree.extensionRelease, ARCHITECTURE: systemdArchitecture(arch) };
    for (const key of new Set([...Object.keys(wanted), ...Object.keys(release)])) {
      if (release[key] !== wanted[key]) {
        throw new Error(`image ${image}: ${releasePath} has ${key}=${release[key] ?? '(missing)'}, expected ${wanted[key] ?? '(absent)'}`);
      }
    }
    const { unit } = expect.tree;
    if (unit && (await readFile(join(root, unit.path), 'utf8')) !== (await renderUnit(expect.tree))) {
      throw new Error(`image ${image}: ${unit.path} differs from ${unit.source} with {{binaryPath}} substituted`);
    }
    await assertElfFor(join(root, expect.tree.binaryPath), arch, `image ${image}: ${expect.tree.binaryPath}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function checkChecksumFile(image: string): Promise<void> {
  const text = await readFile(`${image}.sha256`, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  const recorded = parseChecksumLine(text, basename(image), `${image}.sha256`);
  const actual = await sha256File(image);
  if (actual !== recorded)
    throw new Error(`image ${image} has sha256 ${actual} but ${image}.sha256 says ${recorded}: the image is corrupt`);
}

function compareEntries(image: string, listed: Map<string, ImageEntry>, expected: Map<string, TreeEntry>): void {
  for (const [path, want] of [...expected].sort(([a], [b]) => a.localeCompare(b))) {
    const got = listed.get(path);
    if (!got) throw new Error(`image ${image} lacks ${path} (expected a ${want.type === 'dir' ? 'directory' : 'file'})`);
    if (got.type !== want.type) throw new Error(`image ${image}: ${path} is a ${got.type}, expected a ${want.type}`);
    if (got.mode !== want.mode) throw new Error(`image ${image}: ${path} has mode ${octal(got.mode)}, expected ${octal(want.mode)}`);
    if (got.uid !== 0 || got.gid !== 0) throw new Error(`image ${image}: ${path} is owned by ${got.uid}:${got.gid}, expected 0:0 (root)`);
  }
  const extra = [...listed.keys()].filter((p) => !expected.has(p));
  if (extra.length) throw new Error(`image ${image} has unexpected entries: ${extra.join(', ')}`);
}

/**
 * Every listed file must have come out whole; reading each back to the end catches short reads. The binary, when its
 * sha256 is expected, must be those very bytes (hashed in the same read).
 */
async function compareExtracted(
  image: string,
  root: string,
  listed: Map<string, ImageEntry>,
  binary: { path: string; sha256?: string },
): Promise<void> {
  const found = await walk(root);
  const buffer = Buffer.allocUnsafe(1 << 20);
  for (const [path, entry] of listed) {
    if (entry.type !== 'file') continue;
    const got = found.get(path);
    const hash = path === binary.path && binary.sha256 ? createHash('sha256') : undefined;
    let read = 0;
    if (got?.type === 'file') {
      const fh = await open(join(root, path), 'r');
      try {
        for (let n; (n = (await fh.read(buffer, 0, buffer.length, null)).bytesRead) > 0; read += n) hash?.update(buffer.subarray(0, n));
      } finally {
        await fh.close();
      }
    }
    if (!got || read !== entry.size) {
      throw new Error(`image ${image}: ${path} should hold ${entry.size} bytes but ${got ? read : 'nothing'} could be read`);
    }
    const sha256 = hash?.digest('hex');
    if (sha256 !== undefined && sha256 !== binary.sha256) {
      throw new Error(`image ${image}: ${path} has sha256 ${sha256}, but the binary it was built from has ${binary.sha256}`);
    }
  }
}

/** os-release syntax: KEY=value, optionally quoted with shell-style escapes; comments and blank lines ignored. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2]!;
    const q = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
    if (q) value = q[1]!.replace(/\\(["\\$`])/g, '$1');
    out[m[1]!] = value;
  }
  return out;
}
