import { execa, type Options } from 'execa';

const PACKAGE: Record<string, string> = {
  mksquashfs: 'squashfs-tools',
  unsquashfs: 'squashfs-tools',
  'mkfs.erofs': 'erofs-utils',
  'fsck.erofs': 'erofs-utils',
  'dump.erofs': 'erofs-utils',
  'mkfs.ext4': 'e2fsprogs',
  debugfs: 'e2fsprogs',
  e2fsck: 'e2fsprogs',
};
// e2fsprogs installs to /usr/sbin, which is not on a non-root user's PATH on Debian
const SBIN = new Set(['mkfs.ext4', 'debugfs', 'e2fsck']);

/** Run an external filesystem tool, turning "not installed" and failures into errors that say what to do. */
export async function runTool(tool: string, args: string[], options: Options = {}): Promise<{ stdout: string; stderr: string }> {
  const candidates = SBIN.has(tool) ? [tool, `/usr/sbin/${tool}`, `/sbin/${tool}`] : [tool];
  for (const [i, candidate] of candidates.entries()) {
    try {
      const r = await execa(candidate, args, { ...options, stdin: 'ignore', encoding: 'utf8' });
      return { stdout: String(r.stdout), stderr: String(r.stderr) };
    } catch (err) {
      const e = err as { code?: string; exitCode?: number; stderr?: string; stdout?: string; shortMessage?: string };
      if (e.code === 'ENOENT') {
        if (i < candidates.length - 1) continue;
        throw new Error(`${tool} is not installed (not found on PATH): install it with \`apt-get install ${PACKAGE[tool] ?? tool}\``);
      }
      const detail = `${String(e.stderr ?? '').trim()}\n${String(e.stdout ?? '').trim()}`.trim().split('\n').slice(-6).join('\n');
      const error = new Error(`${tool} ${args.join(' ')} failed (exit ${e.exitCode ?? e.code ?? '?'}): ${detail || e.shortMessage}`);
      (error as Error & { code?: string }).code = /No space left|ENOSPC/i.test(detail) ? 'ENOSPC' : undefined;
      throw error;
    }
  }
  throw new Error(`unreachable: no candidate for ${tool}`);
}
