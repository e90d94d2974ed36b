// 300 MiB upload to the loopback S3 peer: libs/r2 (createS3Store().putFile: sha256 + lib-storage multipart) vs
// Debian's `aws s3 cp`, same peer, same file, same run. Each uploader runs as its own child process under one tiny
// Python wrapper that reports wall time and the child's peak RSS (getrusage RUSAGE_CHILDREN), so both are measured
// the same way and the peer's own memory is not counted.
//   npx tsx tools/bench/r2.bench.ts [--mib 300]
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { createS3Store } from '@alloy-sysext/r2';
import { startS3Peer } from '@alloy-sysext/test-peers/s3';

const self = fileURLToPath(import.meta.url);
const PY = '/usr/bin/python3';
const AWS = '/usr/bin/aws';
const WRAPPER = [
  'import resource, subprocess, sys, time, json',
  't = time.monotonic()',
  'p = subprocess.run(sys.argv[1:])',
  'wall = time.monotonic() - t',
  'print(json.dumps({"code": p.returncode, "wall": wall, "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}), file=sys.stderr)',
].join('\n');

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

// Child mode: one upload through libs/r2, prints the in-process upload time.
async function child(endpoint: string, bucket: string, key: string, file: string): Promise<void> {
  const store = createS3Store({ bucket, endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' });
  const t = performance.now();
  const r = await store.putFile(key, file);
  process.stdout.write(JSON.stringify({ uploadSeconds: (performance.now() - t) / 1000, skipped: r.skipped }) + '\n');
}

async function measure(cmd: string[], env: Record<string, string>) {
  const r = await execa(PY, ['-c', WRAPPER, ...cmd], { env, reject: false });
  const stats = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { code: number; wall: number; maxrss_kib: number };
  if (stats.code !== 0) throw new Error(`${cmd.join(' ')} failed (${stats.code}):\n${r.stdout}\n${r.stderr}`);
  return { ...stats, stdout: r.stdout };
}

async function main(): Promise<void> {
  const mibArg = process.argv.indexOf('--mib');
  const mib = mibArg > 0 ? Number(process.argv[mibArg + 1]) : 300;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'r2-bench-'));
  const peer = await startS3Peer({ bucket: 'bench' });
  try {
    const file = path.join(dir, 'payload.raw');
    const fh = await open(file, 'w');
    const block = randomBytes(1 << 20);
    for (let i = 0; i < mib; i++) {
      block.writeUInt32LE(i, 0);
      await fh.write(block);
    }
    await fh.close();
    const expected = await sha256Of(file);
    const size = mib * 1024 * 1024;
    const storedSha = (key: string) => sha256Of(path.join(peer.directory, peer.bucket, `${key}._S3rver_object`));

    const ours = await measure([process.execPath, '--import', 'tsx', self, '--child', peer.endpoint, peer.bucket, 'ours.raw', file], {
      ...process.env,
    } as Record<string, string>);
    const oursUpload = JSON.parse(ours.stdout.trim().split('\n').at(-1)!) as { uploadSeconds: number };
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
    const mibs = (s: number) => size / 1024 / 1024 / s;
    const rows = [
      ['uploader', 'wall s', 'MiB/s (wall)', 'upload-only s', 'peak RSS MiB'],
      [
        'libs/r2 putFile',
        ours.wall.toFixed(2),
        mibs(ours.wall).toFixed(1),
        oursUpload.uploadSeconds.toFixed(2),
        (ours.maxrss_kib / 1024).toFixed(0),
      ],
      ['aws s3 cp 2.9.19', aws.wall.toFixed(2), mibs(aws.wall).toFixed(1), '-', (aws.maxrss_kib / 1024).toFixed(0)],
      [
        'ratio r2/aws',
        (ours.wall / aws.wall).toFixed(2),
        (mibs(ours.wall) / mibs(aws.wall)).toFixed(2),
        '-',
        (ours.maxrss_kib / aws.maxrss_kib).toFixed(2),
      ],
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
    const out = [
      `${mib} MiB upload to the s3rver peer at ${peer.endpoint}, ${os.cpus().length} CPUs, node ${process.version}; both objects verified by sha256`,
      line(rows[0]),
      `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
      ...rows.slice(1).map(line),
      'libs/r2: 8 MiB parts × 4 in flight, sha256 of the file computed before upload (included in wall and upload-only);',
      'aws: default 8 MiB chunks × 10 concurrent requests. Wall includes process start (node+tsx / python).',
    ];
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await peer.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const [, , , endpoint, bucket, key, file] = process.argv;
  await child(endpoint, bucket, key, file);
} else {
  await main();
}
