// SHA256SUMS with 10 000 entries (alloy versions × {amd64, arm64, compat copy} plus other sysexts): time to parse,
// upsert one version, serialize, and the whole mergeManifest step a publisher runs per compare-and-swap attempt.
// Median of repeated runs after a warm-up, in one process: wall time, and this process's CPU time (user+system), which
// stays meaningful when other work shares the machine.
//   npx tsx tools/bench/manifest.bench.ts [--entries 10000] [--runs 25]
import { createHash } from 'node:crypto';
import os from 'node:os';
import { Manifest, mergeManifest } from '@alloy-sysext/manifest';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function bigManifest(n: number): string {
  const entries: { file: string; sha256: string }[] = [];
  for (let i = 0; entries.length < n; i++) {
    const v = `${1 + (i % 7)}.${Math.floor(i / 7) % 100}.${Math.floor(i / 700)}`;
    const files = i % 4 === 3 ? [`docker-compose-${v}-x86-64.raw`] : [`alloy-${v}-amd64.raw`, `alloy-${v}-arm64.raw`, `alloy-${v}.raw`];
    for (const file of files) if (entries.length < n) entries.push({ file, sha256: sha(file) });
  }
  // Shuffled input order: the serializer must sort, not rely on the input being sorted.
  entries.sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
  return entries.map((e) => `${e.sha256}  ${e.file}\n`).join('');
}

function median(fn: () => unknown, runs: number): [number, number] {
  fn(); // warm-up
  const t: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    const cpu = process.cpuUsage();
    fn();
    const d = process.cpuUsage(cpu);
    t.push(performance.now() - s);
    c.push((d.user + d.system) / 1000);
  }
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return [mid(t), mid(c)];
}

const n = arg('--entries', 10_000);
const runs = arg('--runs', 25);
const text = bigManifest(n);
const version = [
  { file: 'alloy-9.0.0-amd64.raw', sha256: sha('a') },
  { file: 'alloy-9.0.0-arm64.raw', sha256: sha('b') },
  { file: 'alloy-9.0.0.raw', sha256: sha('c') },
];
const parsed = Manifest.parse(text);
if (parsed.entries.length !== n) throw new Error(`expected ${n} entries, parsed ${parsed.entries.length}`);
const merged = mergeManifest(text, version);
if (Manifest.parse(merged).entries.length !== n + 3 || mergeManifest(merged, version) !== merged)
  throw new Error('merge is not an idempotent upsert');

const rows: [string, [number, number]][] = [
  ['Manifest.parse (file order kept)', median(() => Manifest.parse(text), runs)],
  ['upsert 3 entries (one version)', median(() => parsed.upsert(version), runs)],
  ['serialize', median(() => parsed.serialize(), runs)],
  ['prune(alloy, keep 5)', median(() => parsed.prune('alloy', 5), runs)],
  ['mergeManifest (parse+upsert+serialize)', median(() => mergeManifest(text, version), runs)],
];
console.log(
  `manifest bench: ${n} entries (${(text.length / 1024).toFixed(0)} KiB), median of ${runs} runs; node ${process.version}, ${os.cpus().length} cores`,
);
const w = Math.max(...rows.map(([k]) => k.length));
console.log(`| ${'operation'.padEnd(w)} | wall     | cpu      |`);
console.log(`|${'-'.repeat(w + 2)}|----------|----------|`);
for (const [k, [ms, cpu]] of rows)
  console.log(`| ${k.padEnd(w)} | ${`${ms.toFixed(1)} ms`.padStart(8)} | ${`${cpu.toFixed(1)} ms`.padStart(8)} |`);
console.log(
  `load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; goal: mergeManifest ≤ 50 ms`,
);
