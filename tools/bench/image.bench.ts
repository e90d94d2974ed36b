// Image build benchmark: one ~300 MiB synthetic Go-like binary, every format/compressor we offer, against the old
// pipeline's `mksquashfs <tree> <img> -noappend -comp xz -Xdict-size 100%` on the same tree, in the same run.
// Run: npx tsx tools/bench/image.bench.ts [MiB]
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildImage, stageTree, type Compressor, type ImageFormat } from '@alloy-sysext/sysext-image';
import { makeSyntheticBinary } from '@alloy-sysext/test-peers/upstream';

const MIB = 1024 * 1024;
const size = Number(process.argv[2] ?? 300) * MIB;
const work = await mkdtemp(join(tmpdir(), 'image-bench-'));

try {
  const binary = join(work, 'alloy-linux-amd64');
  await writeFile(binary, makeSyntheticBinary('amd64', size));
  const unit = join(work, 'alloy.service');
  await writeFile(unit, '[Service]\nExecStart=/{{binaryPath}} run /etc/alloy/config.alloy\n');
  const tree = {
    name: 'alloy',
    binaryPath: 'usr/bin/alloy',
    unit: { source: unit, path: 'usr/lib/systemd/system/alloy.service' },
    extensionRelease: { ID: '_any' },
  };

  const root = join(work, 'tree');
  await mkdir(root);
  await stageTree({ root, binary, arch: 'amd64', tree });
  const oldImage = join(work, 'old.raw');
  let t = performance.now();
  await execa('mksquashfs', [root, oldImage, '-noappend', '-comp', 'xz', '-Xdict-size', '100%', '-quiet', '-no-progress']);
  const old = { seconds: (performance.now() - t) / 1000, bytes: (await stat(oldImage)).size };
  await rm(oldImage);

  const cases: Array<{ label: string; format: ImageFormat; compressor?: Compressor }> = [
    { label: 'squashfs zstd (default)', format: 'squashfs', compressor: 'zstd' },
    { label: 'squashfs xz', format: 'squashfs', compressor: 'xz' },
    { label: 'squashfs gzip', format: 'squashfs', compressor: 'gzip' },
    { label: 'erofs lz4hc', format: 'erofs' },
    { label: 'ext4 (uncompressed)', format: 'ext4' },
  ];
  const rows = [{ label: 'old pipeline: squashfs xz', ...old }];
  for (const c of cases) {
    const outDir = join(work, c.label.replace(/\W+/g, '-'));
    t = performance.now();
    const r = await buildImage({
      version: '1.0.0',
      arch: 'amd64',
      binary,
      tree,
      image: { format: c.format, ...(c.compressor ? { compressor: c.compressor } : {}) },
      outDir,
    });
    rows.push({ label: c.label, seconds: (performance.now() - t) / 1000, bytes: (await stat(r.image)).size });
    await rm(outDir, { recursive: true });
  }

  const cpus = (await import('node:os')).availableParallelism();
  console.log(
    `binary ${(size / MIB).toFixed(0)} MiB synthetic, ${cpus} CPUs; time = whole buildImage (stage + mkfs + sha256), old = mksquashfs only`,
  );
  console.log('| build | time s | size MiB | size vs old | time vs old |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${r.seconds.toFixed(1)} | ${(r.bytes / MIB).toFixed(1)} | ${(r.bytes / old.bytes).toFixed(2)} | ${(r.seconds / old.seconds).toFixed(2)} |`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
