// The executors as one esbuild bundle (ESM, split per entry) under .nx/executors/, rebuilt whenever a source it was built
// from changed, so there is still no build step between editing and running. Loading it takes a fraction of what tsx
// needs to transpile the same import graph on every task (measured in tools/bench/executor-start.bench.ts).
const { createHash, randomUUID } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const ROOT = path.resolve(__dirname, '../..');
const OUT = path.join(ROOT, '.nx/executors');
const STAMP = path.join(OUT, 'current.json');
const EXECUTORS = ['fetch', 'image', 'sign', 'manifest', 'seal', 'publish', 'pr'];
// Bumped when the build options below change, so an old bundle is never taken for a new one.
const FORMAT = 3;

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

const isPackageFile = (file) => file.split(path.sep).includes('node_modules');
const statKey = (st) => `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;

/**
 * How an input is recorded: installed packages by their stat alone (npm extracts every file anew, with a new inode and
 * ctime, while the mtime packed in a tarball is the same for every version; hashing megabytes of node_modules on every
 * task would not pay), sources of this workspace by their stat and content (see unchanged()).
 */
function fingerprint(file) {
  const abs = path.join(ROOT, file);
  const st = fs.statSync(abs);
  if (isPackageFile(file)) return statKey(st);
  return { stat: statKey(st), sha256: sha256(fs.readFileSync(abs)) };
}

/**
 * Whether an input is as recorded. A workspace source whose size, mtime, ctime and inode are all as recorded was not
 * written since (every write, and every utimes() that puts an mtime back, moves ctime); otherwise its content decides,
 * so a copied or touched but identical file does not rebuild, and an edit that keeps size and mtime does.
 */
function unchanged(file, recorded) {
  const abs = path.join(ROOT, file);
  const st = fs.statSync(abs);
  if (isPackageFile(file)) return recorded === statKey(st);
  return recorded.stat === statKey(st) || recorded.sha256 === sha256(fs.readFileSync(abs));
}

/** The bundle described by current.json when every input it was built from is unchanged, else undefined. */
function freshBundle() {
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(STAMP, 'utf8'));
  } catch {
    return undefined;
  }
  if (stamp.format !== FORMAT || stamp.esbuild !== esbuildVersion()) return undefined;
  const dir = path.join(OUT, stamp.dir);
  if (!fs.existsSync(dir)) return undefined;
  for (const [file, recorded] of Object.entries(stamp.inputs)) {
    try {
      if (!unchanged(file, recorded)) return undefined;
    } catch {
      return undefined; // a deleted input
    }
  }
  return dir;
}

function esbuildVersion() {
  return require('esbuild/package.json').version;
}

// Workspace TypeScript is read here rather than by esbuild: `import.meta.url` keeps naming the source file, not the
// bundle (recipe.ts finds the recipe schema relative to itself), and each source is recorded as it was read (stat taken
// before the read), so a file edited while the build runs is found changed on the next task.
function workspaceSources(read) {
  return {
    name: 'workspace-sources',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (isPackageFile(args.path)) return undefined;
        const st = await fs.promises.stat(args.path);
        const bytes = await fs.promises.readFile(args.path);
        read.set(path.relative(ROOT, args.path), { stat: statKey(st), sha256: sha256(bytes) });
        const text = bytes.toString('utf8');
        return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
      });
    },
  };
}

/** How workspace code is bundled to run under node (the executors here; the r2 bench's children the same way). */
function bundleOptions() {
  return {
    absWorkingDir: ROOT,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
    // bundled CommonJS packages call require(); give them Node's, resolved from the workspace
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  };
}

/** Builds the bundle into a fresh directory, then points current.json at it (both atomic: concurrent tasks may race). */
async function build() {
  const esbuild = require('esbuild');
  fs.mkdirSync(OUT, { recursive: true });
  const tmp = path.join(OUT, `tmp-${randomUUID()}`);
  const read = new Map();
  const result = await esbuild.build({
    ...bundleOptions(),
    entryPoints: Object.fromEntries(EXECUTORS.map((name) => [name, `tools/src/executors/${name}/executor.ts`])),
    splitting: true,
    outdir: tmp,
    metafile: true,
    plugins: [workspaceSources(read)],
  });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs).sort()) {
    if (file.includes(':')) continue; // esbuild-internal virtual modules
    const normalized = path.normalize(file);
    inputs[normalized] = read.get(normalized) ?? fingerprint(normalized);
  }
  const dir = `build-${sha256(JSON.stringify(Object.entries(inputs).map(([f, r]) => [f, r.sha256 ?? r]))).slice(0, 16)}`;
  try {
    fs.renameSync(tmp, path.join(OUT, dir));
  } catch {
    fs.rmSync(tmp, { recursive: true, force: true }); // another task built the same inputs first
  }
  const stampTmp = `${STAMP}.${randomUUID()}`;
  fs.writeFileSync(stampTmp, JSON.stringify({ format: FORMAT, esbuild: esbuildVersion(), dir, inputs }, null, 1));
  fs.renameSync(stampTmp, STAMP);
  removeOldBuilds(dir);
  return path.join(OUT, dir);
}

// Builds other than the current one, once no task started in the last ten minutes can still be loading them.
function removeOldBuilds(keep) {
  const cutoff = Date.now() - 10 * 60 * 1000;
  for (const entry of fs.readdirSync(OUT)) {
    if (entry === keep || !/^(build|tmp)-/.test(entry)) continue;
    const p = path.join(OUT, entry);
    if (fs.statSync(p).mtimeMs < cutoff) fs.rmSync(p, { recursive: true, force: true });
  }
}

const LOCK = path.join(OUT, 'build.lock');
const LOCK_STALE_MS = 120_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An up-to-date bundle, built under a lock file: a task that finds a build under way (another task, or the one
 * prewarm() started) waits for it instead of building the same bundle again. A lock older than two minutes is a crashed
 * build's and is taken over.
 */
async function ensureBundle() {
  for (;;) {
    const fresh = freshBundle();
    if (fresh) return fresh;
    fs.mkdirSync(OUT, { recursive: true });
    let fd;
    try {
      fd = fs.openSync(LOCK, 'wx');
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const age = Date.now() - (fs.statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age > LOCK_STALE_MS) fs.rmSync(LOCK, { force: true });
      else await sleep(100);
      continue;
    }
    try {
      return freshBundle() ?? (await build());
    } finally {
      fs.closeSync(fd);
      fs.rmSync(LOCK, { force: true });
    }
  }
}

/**
 * Starts building the bundle in the background when this workspace has none yet (a fresh clone), so that a run whose
 * first tasks come from the cache does not wait for the build when its first executor starts. One stat when a bundle
 * exists; staleness is left to the executor (an edited source is never run stale either way).
 */
function prewarm() {
  if (fs.existsSync(STAMP)) return;
  const child = require('node:child_process').spawn(process.execPath, [__filename, '--build'], {
    cwd: ROOT,
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', () => {}); // the executor builds it then
  child.unref();
}

/** The executor module `name` from an up-to-date bundle (built first when missing or stale). */
async function importExecutor(name) {
  if (!EXECUTORS.includes(name)) throw new Error(`unknown executor "${name}": expected one of ${EXECUTORS.join(', ')}`);
  const dir = await ensureBundle();
  return import(pathToFileURL(path.join(dir, `${name}.mjs`)).href);
}

module.exports = { importExecutor, ensureBundle, freshBundle, build, prewarm, bundleOptions, EXECUTORS };

if (require.main === module && process.argv[2] === '--build') {
  ensureBundle().catch(() => process.exit(1)); // a failing build is reported by the executor that needs it
}
