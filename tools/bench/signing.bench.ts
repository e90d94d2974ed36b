// Detached armored signatures of 200 MiB and 1 GiB files: libs/signing (signFile, streaming) vs
// `gpg --detach-sign --armor`, same RSA-4096 key, same files, same run. Each signer runs as its own child process
// under GNU `/usr/bin/time -v`, which reports wall time and the child's peak RSS the same way for both. Every
// signature is checked with `gpg --verify` afterwards.
//   npx tsx tools/bench/signing.bench.ts [--sizes 0,200,1024]   (sizes in MiB; 0 = an empty file, i.e. the cost of
//   the signer process itself: node + tsx + openpgp + one RSA signature)
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { generateKey, loadPrivateKey, signFile } from '@alloy-sysext/signing';

const self = fileURLToPath(import.meta.url);

// Child mode: one signFile through libs/signing; prints the in-process signing time.
async function child(keyFile: string, file: string, out: string): Promise<void> {
  const key = await loadPrivateKey(await readFile(keyFile, 'utf8'));
  const t = performance.now();
  const sig = await signFile(file, key);
  const seconds = (performance.now() - t) / 1000;
  await writeFile(out, sig);
  process.stdout.write(JSON.stringify({ signSeconds: seconds }) + '\n');
}

/** Runs argv under `/usr/bin/time -v`; returns wall seconds, peak RSS (MiB) and stdout. */
async function measure(argv: string[], env?: Record<string, string>) {
  const r = await execa('/usr/bin/time', ['-v', ...argv], { reject: false, env });
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} failed (${r.exitCode}): ${r.stderr.slice(-2000)}`);
  const field = (name: string) =>
    r.stderr
      .split('\n')
      .find((l) => l.includes(name))
      ?.split(': ')
      .pop() ?? '';
  return {
    wall: parseWall(field('Elapsed (wall clock) time')),
    rssMiB: Number(field('Maximum resident set size (kbytes)')) / 1024,
    stdout: r.stdout,
  };
}

function parseWall(v: string): number {
  // GNU time prints "m:ss.ss" or "h:mm:ss".
  const parts = v.split(':').map(Number);
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

async function makeFile(file: string, mib: number): Promise<void> {
  const block = randomBytes(16 << 20); // hashing cost does not depend on content; 16 MiB of randomness suffices
  const fh = await open(file, 'w');
  try {
    for (let left = mib << 20; left > 0; left -= block.length) await fh.write(block, 0, Math.min(left, block.length));
  } finally {
    await fh.close();
  }
}

async function main(): Promise<void> {
  const sizesArg = process.argv.indexOf('--sizes');
  const sizes = (sizesArg > 0 ? process.argv[sizesArg + 1] : '0,200,1024').split(',').map(Number);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'signing-bench-'));
  try {
    const keys = await generateKey({ identity: 'Bench <bench@example.org>', outDir: path.join(dir, 'keys') });
    const home = path.join(dir, 'gnupg');
    await execa('mkdir', ['-m', '700', home]);
    await execa('gpg', ['--homedir', home, '--batch', '--quiet', '--import', keys.privateKeyPath]);
    const rows: string[][] = [];
    for (const mib of sizes) {
      const file = path.join(dir, `payload-${mib}.raw`);
      await makeFile(file, mib);
      const oursOut = `${file}.ours.asc`;
      const gpgOut = `${file}.gpg.asc`;
      // gpg first, then ours: both read a file the page cache already holds.
      const gpg = await measure([
        'gpg',
        '--homedir',
        home,
        '--batch',
        '--yes',
        '--digest-algo',
        'SHA256',
        '-u',
        keys.fingerprint,
        '--detach-sign',
        '--armor',
        '-o',
        gpgOut,
        file,
      ]);
      const ours = await measure([process.execPath, '--import', 'tsx', self, '--child', keys.privateKeyPath, file, oursOut]);
      for (const sig of [oursOut, gpgOut]) {
        const v = await execa('gpg', ['--homedir', home, '--batch', '--status-fd', '1', '--verify', sig, file], { reject: false });
        if (v.exitCode !== 0 || !v.stdout.includes(`VALIDSIG ${keys.fingerprint}`))
          throw new Error(`gpg --verify rejected ${sig}:\n${v.stderr}`);
      }
      const inProc = JSON.parse(ours.stdout.trim().split('\n').pop()!).signSeconds as number;
      rows.push([
        mib === 0 ? '0 (baseline)' : `${mib} MiB`,
        `${ours.wall.toFixed(2)} s (sign ${inProc.toFixed(2)} s)`,
        `${ours.rssMiB.toFixed(0)} MiB`,
        `${gpg.wall.toFixed(2)} s`,
        `${gpg.rssMiB.toFixed(0)} MiB`,
        mib === 0 ? '-' : `${(ours.wall / gpg.wall).toFixed(2)}x / ${(inProc / gpg.wall).toFixed(2)}x`,
        `${(ours.rssMiB / gpg.rssMiB).toFixed(1)}x`,
      ]);
      await rm(file, { force: true });
    }
    const head = [
      'file',
      'libs/signing wall (in-process)',
      'peak RSS',
      'gpg wall',
      'gpg peak RSS',
      'time ratio (wall / sign)',
      'RSS ratio',
    ];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
    console.log(
      `signing bench: RSA-4096, SHA-256, armored detached; node ${process.version}, ${os.cpus().length} cores; both signatures pass gpg --verify`,
    );
    console.log(line(head));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const r of rows) console.log(line(r));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4], process.argv[5]);
else await main();
