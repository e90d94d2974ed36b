// The versions of the filesystem tools that make images (provenance records them; the same version gives the same bytes).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from './tools.js';

export interface ToolVersions {
  mksquashfs: string;
  'mkfs.erofs': string;
  'mkfs.ext4': string;
  node: string;
}

/** First version line of each tool, or `not installed`. mkfs.erofs 1.5 has no --version: it prints it when it runs. */
export async function toolVersions(): Promise<ToolVersions> {
  const [mksquashfs, erofs, ext4] = await Promise.all([
    firstLine(() => runTool('mksquashfs', ['-version'])),
    firstLine(async () => {
      const dir = await mkdtemp(join(tmpdir(), 'erofs-version-'));
      try {
        return await runTool('mkfs.erofs', [join(dir, 'empty.img'), dir]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }),
    firstLine(() => runTool('mkfs.ext4', ['-V'])),
  ]);
  return { mksquashfs, 'mkfs.erofs': erofs, 'mkfs.ext4': ext4, node: process.version };
}

async function firstLine(run: () => Promise<{ stdout: string; stderr: string }>): Promise<string> {
  try {
    const { stdout, stderr } = await run();
    return (
      `${stdout}\n${stderr}`
        .split('\n')
        .map((l) => l.trim())
        .find(Boolean) ?? 'unknown'
    );
  } catch (error) {
    return /is not installed/.test((error as Error).message) ? 'not installed' : 'unknown';
  }
}
