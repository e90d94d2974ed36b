// Start-up of one executor (publish) in a fresh node process, as Nx pays it on every task: tsx transpiling the import
// graph, against the esbuild bundle of tools/nx/executor-bundle.cjs (everything bundled) and a variant that leaves
// node_modules packages external. Runs alternate, so load changes hit every variant alike; medians are compared.
//   npx tsx tools/bench/executor-start.bench.ts [--runs 5]
import { execa } from 'execa';
import { build } from 'esbuild';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SOURCE_ROOT } from '@alloy-sysext/test-peers/nx-workspace';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const require = (await import('node:module')).createRequire(import.meta.url);
const bundler = require(path.join(SOURCE_ROOT, 'tools/nx/executor-bundle.cjs')) as { ensureBundle(): Promise<string> };

const out = await mkdtemp(path.join(os.tmpdir(), 'executor-start-'));
try {
  const bundled = await bundler.ensureBundle();
  // the same build with every bare import left to Node's resolution (workspace packages still bundled)
  const externalDir = path.join(SOURCE_ROOT, '.nx/executors', `bench-external-${path.basename(out)}`);
  await build({
    absWorkingDir: SOURCE_ROOT,
    entryPoints: { publish: 'tools/src/executors/publish/executor.ts' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    outdir: externalDir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
    plugins: [
      {
        name: 'external-packages',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith('@alloy-sysext/') ? undefined : { external: true }));
        },
      },
    ],
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  });
  const variants: Record<string, string> = {
    'tsx (before)': `require('tsx/esm/api').tsImport('./tools/src/executors/publish/executor.ts', __filename)`,
    'bundle, all bundled (now)': `import(${JSON.stringify(path.join(bundled, 'publish.mjs'))})`,
    'bundle, node_modules external': `import(${JSON.stringify(path.join(externalDir, 'publish.mjs'))})`,
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, expr] of Object.entries(variants)) {
      const started = performance.now();
      await execa(process.execPath, ['-e', `${expr}.then((m) => { if (typeof m.default !== 'function') process.exit(1); })`], {
        cwd: SOURCE_ROOT,
      });
      times[name]!.push(performance.now() - started);
    }
  }
  await rm(externalDir, { recursive: true, force: true });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(times['tsx (before)']!);
  console.log(`executor start-up (node process + import of the publish executor), ${runs} runs each, load ${os.loadavg()[0]!.toFixed(1)}`);
  for (const [name, xs] of Object.entries(times)) {
    console.log(`  ${name.padEnd(32)} median ${median(xs).toFixed(0).padStart(5)} ms  ${(median(xs) / base).toFixed(2)}×`);
  }
} finally {
  await rm(out, { recursive: true, force: true });
}
