// This version's manifest entries, from the `<image>.sha256` files the build step writes beside each image.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseChecksumLine, parseImageName, sha256File } from '@alloy-sysext/common';

export interface ImageEntriesOptions {
  /** Only images of this name (default: any name). */
  name?: string;
  /** Re-hash each image and require it to match its .sha256 file (reads every byte). */
  verify?: boolean;
}

/**
 * Reads every `<image>.sha256` in `dir` whose image parses as version `version` (all arches, plus the arch-less
 * compatibility name). Each file must be one `sha256sum` line naming that image.
 */
export async function imageEntries(
  dir: string,
  version: string,
  opts: ImageEntriesOptions = {},
): Promise<{ file: string; sha256: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    throw new Error(`imageEntries: directory not found: ${dir}`);
  }
  const out: { file: string; sha256: string }[] = [];
  for (const sumFile of names.filter((n) => n.endsWith('.sha256')).sort()) {
    const image = sumFile.slice(0, -'.sha256'.length);
    const p = parseImageName(image);
    if (!p || p.version !== version || (opts.name !== undefined && p.name !== opts.name)) continue;
    const path = join(dir, sumFile);
    const sha256 = parseChecksumLine(await readFile(path, 'utf8'), image, path);
    if (opts.verify) {
      const actual = await sha256File(join(dir, image));
      if (actual !== sha256) throw new Error(`${join(dir, image)}: sha256 is ${actual}, but ${sumFile} says ${sha256}`);
    }
    out.push({ file: image, sha256 });
  }
  if (out.length === 0) throw new Error(`imageEntries: no <image>.sha256 files for version ${version} in ${dir}`);
  return out;
}
