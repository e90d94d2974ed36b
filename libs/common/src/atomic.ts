// The one atomic-write module: write beside the final name, fsync, rename; never a partial file under a final name.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A hidden sibling name for writing `final` before it is complete; same directory so the rename is atomic. */
export function tempPathFor(final: string): string {
  return join(dirname(final), `.${basename(final)}.${randomBytes(4).toString('hex')}.partial`);
}

/**
 * Run `write(temps)` and publish each temp under its final name only if every write succeeded; on failure remove them
 * all, so no partial output is ever left under a final name.
 */
export async function commitAll<T>(finals: string[], write: (temps: string[]) => Promise<T>): Promise<T> {
  const temps = finals.map(tempPathFor);
  try {
    const result = await write(temps);
    for (let i = 0; i < finals.length; i++) await rename(temps[i]!, finals[i]!);
    return result;
  } catch (err) {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
    throw err;
  }
}

/** Writes `data` to `path` atomically with `mode` (default 0644), flushed to disk before the rename. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await commitAll([path], async ([temp]) => {
    const fh = await open(temp!, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}
