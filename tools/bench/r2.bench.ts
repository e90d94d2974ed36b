// Upload to the loopback S3 peer, for issue 14's goals: libs/r2 (createS3Store().putFile: sha256 + multipart read from
// the file by range) against Debian's `aws s3 cp`, same peer, same file, same run (throughput and peak RSS, ratio
// ours/aws); then peak RSS with a large file: putFile alone, and the real publish (publishVersion: verify the image's
// sha256 and signature, upload every object, re-check, merge and sign SHA256SUMS) of a version whose image is that file.
// Each measured run is its own child process under one tiny Python wrapper that reports wall time and the child's peak
// RSS (getrusage RUSAGE_CHILDREN), so all are measured the same way and the peer's own memory is not counted; the
// children (r2-put.child.ts, r2-publish.child.ts) import only what their run needs, and run as an esbuild bundle, the way
// the publish executor runs (not through tsx, whose transpiling start-up no production run pays).
//   npx tsx tools/bench/r2.bench.ts [--mib 300] [--rss-mib 1024]   (--rss-mib 0 skips the large-file rows)
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';
import { execa } from 'execa';
import { mergeManifest, signManifest } from '@alloy-sysext/manifest';
import { imageFiles, versionImages, versionLayout } from '@alloy-sysext/pipeline';
import { generateKey, loadPrivateKey, writeSignature } from '@alloy-sysext/signing';
import { r2Env, startS3Peer } from '@alloy-sysext/test-peers/s3';
import { benchRecipe, VERSION } from './r2-publish.child.js';

const self = fileURLToPath(import.meta.url);
const PY = '/usr/bin/python3';
const AWS = '/usr/bin/aws';
const MiB = 1024 * 1024;
const WRAPPER = [
  'import resource, subprocess, sys, time, json',
  't = time.monotonic()',
  'p = subprocess.run(sys.argv[1:])',
  'wall = time.monotonic() - t',
  'r = resource.getrusage(resource.RUSAGE_CHILDREN)',
  'print(json.dumps({"code": p.returncode, "wall": wall, "cpu": r.ru_utime + r.ru_stime, "maxrss_kib": r.ru_maxrss}), file=sys.stderr)',
].join('\n');

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

async function writePayload(file: string, mib: number): Promise<void> {
  const fh = await open(file, 'w');
  const block = randomBytes(MiB);
  for (let i = 0; i < mib; i++) {
    block.writeUInt32LE(i, 0);
    await fh.write(block);
  }
  await fh.close();
}

/** dist/ for VERSION as the chain leaves it, the image being a hard link to `payload` (publish checks hashes and
 *  signatures, not formats). Returns the private key file. */
async function layOutVersion(workspace: string, payload: string, env: NodeJS.ProcessEnv): Promise<string> {
  const recipe = await benchRecipe(env);
  const generated = await generateKey({ identity: recipe.signing.identity, outDir: path.join(workspace, 'key') });
  const key = await loadPrivateKey(await readFile(generated.privateKeyPath, 'utf8'));
  const layout = versionLayout(workspace, recipe, VERSION);
  await mkdir(layout.images, { recursive: true });
  await mkdir(layout.manifest, { recursive: true });
  const images = versionImages(recipe, VERSION, layout.images);
  for (const image of imageFiles(images)) {
    await link(payload, image.path);
    await writeFile(`${image.path}.sha256`, `${await sha256Of(image.path)}  ${image.file}\n`);
    await writeSignature(image.path, key);
  }
  const entries = [];
  for (const image of images) entries.push({ file: image.file, sha256: await sha256Of(image.path) });
  const text = mergeManifest(null, entries);
  await writeFile(path.join(layout.manifest, 'SHA256SUMS'), text);
  await writeFile(path.join(layout.manifest, 'SHA256SUMS.gpg'), await signManifest(text, key));
  return generated.privateKeyPath;
}

async function measure(cmd: string[], env: Record<string, string>) {
  const r = await execa(PY, ['-c', WRAPPER, ...cmd], { env, reject: false });
  const stats = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { code: number; wall: number; cpu: number; maxrss_kib: number };
  if (stats.code !== 0) throw new Error(`${cmd.join(' ')} failed (${stats.code}):\n${r.stdout}\n${r.stderr}`);
  const inner = JSON.parse(r.stdout.trim().split('\n').at(-1) || '{}') as { uploadSeconds?: number };
  return { ...stats, uploadSeconds: inner.uploadSeconds, rssMiB: stats.maxrss_kib / 1024 };
}

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

async function main(): Promise<void> {
  const mib = flag('--mib', 300);
  const rssMib = flag('--rss-mib', 1024);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'r2-bench-'));
  const cleanup: (() => Promise<void>)[] = [];
  const peer = await startS3Peer({ bucket: 'bench' });
  const load = () => os.loadavg()[0].toFixed(1);
  const loadBefore = load();
  try {
    const file = path.join(dir, 'payload.raw');
    await writePayload(file, mib);
    const expected = await sha256Of(file);
    const storedSha = (key: string) => sha256Of(path.join(peer.directory, peer.bucket, `${key}._S3rver_object`));
    const children = await bundleChildren();
    cleanup.push(() => rm(children.dir, { recursive: true, force: true }));
    const node = (child: keyof typeof children.files) => [process.execPath, children.files[child]];

    const ours = await measure([...node('r2-put'), peer.endpoint, peer.bucket, 'ours.raw', file], { ...process.env } as Record<
      string,
      string
    >);
    const awsEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_PAGER: '',
    };
    const aws = await measure(
      [AWS, '--endpoint-url', peer.endpoint, 's3', 'cp', '--only-show-errors', file, `s3://${peer.bucket}/aws.raw`],
      awsEnv,
    );
    for (const key of ['ours.raw', 'aws.raw']) {
      const got = await storedSha(key);
      if (got !== expected) throw new Error(`${key}: stored sha256 ${got} != ${expected}`);
    }
    await rm(path.join(peer.directory, peer.bucket, 'aws.raw._S3rver_object'), { force: true });
    await rm(path.join(peer.directory, peer.bucket, 'ours.raw._S3rver_object'), { force: true });
    await rm(file);

    type Row = string[];
    type Run = Awaited<ReturnType<typeof measure>>;
    const row = (label: string, r: Run, size: number): Row => [
      label,
      r.wall.toFixed(2),
      (size / r.wall).toFixed(1),
      r.uploadSeconds === undefined ? '-' : r.uploadSeconds.toFixed(2),
      r.cpu.toFixed(2),
      r.rssMiB.toFixed(0),
    ];
    const rows: Row[] = [
      row(`libs/r2 putFile, ${mib} MiB`, ours, mib),
      row(`aws s3 cp 2.9.19, ${mib} MiB`, aws, mib),
      [
        'ratio ours/aws',
        (ours.wall / aws.wall).toFixed(2),
        (aws.wall / ours.wall).toFixed(2),
        `${(aws.wall / ours.uploadSeconds!).toFixed(2)} (MiB/s)`,
        (ours.cpu / aws.cpu).toFixed(2),
        (ours.rssMiB / aws.rssMiB).toFixed(2),
      ],
    ];

    let publish: Run | undefined;
    if (rssMib > 0) {
      const big = path.join(dir, 'big.raw');
      await writePayload(big, rssMib);
      const large = await measure([...node('r2-put'), peer.endpoint, peer.bucket, 'large.raw', big], {
        ...process.env,
      } as Record<string, string>);
      await rm(path.join(peer.directory, peer.bucket, 'large.raw._S3rver_object'), { force: true });
      rows.push(row(`libs/r2 putFile, ${rssMib} MiB`, large, rssMib));
      const env = { ...process.env, ...r2Env(peer) } as Record<string, string>;
      const workspace = path.join(dir, 'workspace');
      const keyFile = await layOutVersion(workspace, big, env);
      publish = await measure([...node('r2-publish'), workspace, keyFile], env);
      rows.push(row(`publishVersion, ${rssMib} MiB image`, publish, rssMib));
    }

    const header = ['run', 'wall s', 'MiB/s (wall)', 'in-process s', 'CPU s', 'peak RSS MiB'];
    const widths = header.map((_, i) => Math.max(header[i].length, ...rows.map((r) => r[i].length)));
    const line = (r: Row) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
    const goals = [
      `goal: throughput ours/aws ≥ 1.00: ${(aws.wall / ours.wall).toFixed(2)} by wall time incl. process start ` +
        `(${aws.wall / ours.wall >= 1 ? 'met' : 'NOT met'}), ${(aws.wall / ours.uploadSeconds!).toFixed(2)} in-process ` +
        `(${aws.wall / ours.uploadSeconds! >= 1 ? 'met' : 'NOT met'}; aws's wall includes its own start)`,
      publish
        ? `goal: publish RSS ≤ 200 MB with a ${rssMib} MiB image: ${((publish.maxrss_kib * 1024) / 1e6).toFixed(0)} MB ` +
          `${publish.maxrss_kib * 1024 <= 200e6 ? 'met' : 'NOT met'}`
        : 'goal: publish RSS not measured (--rss-mib 0)',
    ];
    const out = [
      `Upload to the s3rver peer at ${peer.endpoint}, ${os.cpus().length} CPUs, node ${process.version}, load ${loadBefore} → ${load()} (1-min avg)`,
      line(header),
      `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
      ...rows.map(line),
      ...goals,
      'libs/r2: 8 MiB parts × 4 in flight read from the file by range, sha256 of the file computed first (publish passes the',
      'hash it verified); aws: default 8 MiB chunks × 10 concurrent requests. Wall includes process start (node running the bundle / python).',
      'in-process s: from the call to its return (putFile / publishVersion); CPU s: user + system of the child (less noisy',
      'than wall on a loaded machine; includes start-up). Stored objects verified by sha256.',
    ];
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await peer.stop();
    await rm(dir, { recursive: true, force: true });
    for (const c of cleanup) await c();
  }
}

/**
 * The children as an ESM bundle with the executors' build options (tools/nx/executor-bundle.cjs), inside the workspace so
 * that what a bundled package require()s at run time resolves from its node_modules.
 */
async function bundleChildren(): Promise<{ dir: string; files: Record<'r2-put' | 'r2-publish', string> }> {
  const { build } = await import('esbuild');
  const { bundleOptions } = createRequire(import.meta.url)('../nx/executor-bundle.cjs') as { bundleOptions: () => BuildOptions };
  const root = path.resolve(path.dirname(self), '../..');
  const dir = await mkdtemp(path.join(root, '.nx/bench-children-'));
  await build({
    ...bundleOptions(),
    entryPoints: { 'r2-put': 'tools/bench/r2-put.child.ts', 'r2-publish': 'tools/bench/r2-publish.child.ts' },
    outdir: dir,
  });
  return { dir, files: { 'r2-put': path.join(dir, 'r2-put.mjs'), 'r2-publish': path.join(dir, 'r2-publish.mjs') } };
}

await main();
