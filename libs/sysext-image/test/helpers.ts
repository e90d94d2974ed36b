import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TreeOptions } from '../src/index.js';

export const UNIT_TEMPLATE = `[Service]\nExecStart=/{{binaryPath}} run /etc/alloy/config.alloy\n`;

/** A temp dir per test, removed by the returned cleanup. */
export async function tempDir(prefix = 'sysext-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeAll(dirs: string[]): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** A tree option set whose unit template lives in `dir`. */
export async function makeTree(dir: string, extensionRelease: Record<string, string> = { ID: '_any' }): Promise<TreeOptions> {
  const source = join(dir, 'alloy.service');
  await writeFile(source, UNIT_TEMPLATE);
  return {
    name: 'alloy',
    binaryPath: 'usr/bin/alloy',
    unit: { source, path: 'usr/lib/systemd/system/alloy.service' },
    extensionRelease,
  };
}

/** File names in `dir`, hidden temporaries included, so tests can prove nothing partial was left. */
export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}
