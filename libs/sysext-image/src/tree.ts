import { systemdArchitecture, type Arch } from '@alloy-sysext/common';
import { chmod, copyFile, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';

export interface TreeOptions {
  /** The sysext's name: images are <name>-<version>-<arch>.raw, holding extension-release.<name>. */
  name: string;
  /** Where the binary lives in the image, relative: usr/bin/alloy. */
  binaryPath: string;
  /** The unit, if any: `source` absolute path of the template ({{binaryPath}} substituted), `path` its place in the image. */
  unit?: { source: string; path: string };
  /** extension-release fields; ARCHITECTURE is added from the arch. */
  extensionRelease: Record<string, string>;
}

export interface TreeEntry {
  type: 'dir' | 'file';
  mode: number;
}

/** Where systemd-sysext looks for the extension-release file of the sysext `name` (it must match the image's name). */
export function extensionReleasePath(name: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`sysext name "${name}" is not lowercase letters, digits and dashes`);
  return `usr/lib/extension-release.d/extension-release.${name}`;
}
/** All timestamps in every image: 1980-01-01, so the bytes never depend on when or where the build ran. */
export const FIXED_TIME = 315532800;

/** sysext merges only /usr and /opt; anything else in the image is ignored by systemd, so refuse it. */
function checkImagePath(field: string, p: string): string {
  const ok = typeof p === 'string' && p !== '' && !p.startsWith('/') && posix.normalize(p) === p && !p.split('/').includes('..');
  if (!ok || !/^(usr|opt)\/[\w.@+/-]+$/.test(p) || p.endsWith('/')) {
    throw new Error(`tree.${field} "${p}" is not a relative path under usr/ or opt/ such as usr/bin/alloy`);
  }
  return p;
}

/** Every path in the image (relative, no leading slash) with its type and mode — what the builder writes and validation expects. */
export function expectedEntries(tree: TreeOptions): Map<string, TreeEntry> {
  const binary = checkImagePath('binaryPath', tree.binaryPath);
  const files: Array<[string, number]> = [
    [binary, 0o755],
    ...(tree.unit ? [[checkImagePath('unit.path', tree.unit.path), 0o644] as [string, number]] : []),
    [extensionReleasePath(tree.name), 0o644],
  ];
  const entries = new Map<string, TreeEntry>();
  for (const [file, mode] of files) {
    if (entries.has(file)) throw new Error(`tree: "${file}" is used twice (binaryPath, unit.path and extension-release must differ)`);
    for (let dir = posix.dirname(file); dir !== '.'; dir = posix.dirname(dir)) {
      const existing = entries.get(dir);
      if (existing?.type === 'file') throw new Error(`tree: "${dir}" is both a file and a directory`);
      entries.set(dir, { type: 'dir', mode: 0o755 });
    }
    entries.set(file, { type: 'file', mode });
  }
  return entries;
}

export function renderExtensionRelease(fields: Record<string, string>, arch: Arch): string {
  const architecture = systemdArchitecture(arch);
  const lines: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(key)) throw new Error(`tree.extensionRelease key "${key}" is not an os-release style NAME (A-Z, 0-9, _)`);
    if (typeof value !== 'string' || /[\n\r\0]/.test(value)) {
      throw new Error(`tree.extensionRelease.${key} must be a single-line string, got ${JSON.stringify(value)}`);
    }
    if (key === 'ARCHITECTURE') {
      if (value !== architecture)
        throw new Error(`tree.extensionRelease.ARCHITECTURE "${value}" contradicts arch ${arch} (${architecture})`);
      continue;
    }
    lines.push(`${key}=${/^[\w.:@+-]*$/.test(value) ? value : JSON.stringify(value).replace(/\$/g, '\\$').replace(/`/g, '\\`')}`);
  }
  lines.push(`ARCHITECTURE=${architecture}`);
  return `${lines.join('\n')}\n`;
}

/** The unit as it goes into the image; undefined for a sysext without one. */
export async function renderUnit(tree: TreeOptions): Promise<string | undefined> {
  if (!tree.unit) return undefined;
  const source = tree.unit.source;
  const template = await readFile(source, 'utf8').catch((err: Error) => {
    throw new Error(`tree.unit.source ${source} cannot be read (${err.message}): expected an absolute path to the unit file`);
  });
  return template.replaceAll('{{binaryPath}}', tree.binaryPath);
}

/**
 * Lay the sysext tree out in the empty directory `root`, with explicit modes (the umask must not leak into the image) and
 * fixed timestamps.
 */
export async function stageTree(opts: { root: string; binary: string; arch: Arch; tree: TreeOptions }): Promise<void> {
  const entries = expectedEntries(opts.tree);
  const contents = new Map<string, string>([
    [extensionReleasePath(opts.tree.name), renderExtensionRelease(opts.tree.extensionRelease, opts.arch)],
  ]);
  if (opts.tree.unit) contents.set(opts.tree.unit.path, (await renderUnit(opts.tree))!);
  const sorted = [...entries.keys()].sort();
  for (const rel of sorted) {
    const entry = entries.get(rel)!;
    const abs = join(opts.root, rel);
    if (entry.type === 'dir') await mkdir(abs);
    else if (rel === opts.tree.binaryPath) await copyFile(opts.binary, abs);
    else await writeFile(abs, contents.get(rel)!);
    await chmod(abs, entry.mode);
  }
  for (const rel of [...sorted.reverse(), '.']) await utimes(join(opts.root, rel), FIXED_TIME, FIXED_TIME);
  await chmod(opts.root, 0o755);
}
