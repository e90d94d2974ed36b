// Nx plugin of this workspace: one project per recipe (createNodes), edges to the executors' project (createDependencies),
// and a hook that checks, before any task runs, that the step targets' options reach them as
// typed: Nx reserves `--version` (renamed to `--sysextVersion` by the .npmrc preload under npx) and drops every target
// option written before a `--`; and that each option is one the target takes (target-options.cjs). Anything that
// cannot work fails here, naming the form that does.
const fs = require('node:fs');
const path = require('node:path');

exports.name = 'alloy-sysext';

// One project per recipe file, with the step targets (recipe-projects.cjs).
exports.createNodes = require('./recipe-projects.cjs').createNodes;

// Project graph edges from the executors a project's targets run (step-dependencies.cjs).
exports.createDependencies = require('./step-dependencies.cjs').createDependencies;

const { createHash, randomUUID } = require('node:crypto');
const { signingKeyFingerprint } = require('./key-fingerprint.cjs');
const { prewarm } = require('./executor-bundle.cjs');
const { checkRemoteCache, SERVER: REMOTE_CACHE_SERVER } = require('./remote-cache-probe.cjs');
const { checkTypedOptions, nxCommandLine, runsStep } = require('./target-options.cjs');

// The asset directory as typed, before or behind `--` (`--assetDir=d`, `--assetDir d`, or its first name --zipDir).
function assetDirArg(argv) {
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(assetDir|zipDir)(=(.*))?$/.exec(argv[i]);
    if (m) return m[2] !== undefined ? m[3] : argv[i + 1];
  }
  return undefined;
}

// The content of the asset directory (each file's name and sha256) for fetch's Nx hash, as ALLOY_ZIP_DIR_CONTENT: with
// the path alone, replaced assets would restore the old fetch output. An unreadable directory hashes as such; fetch then names it.
function assetDirContent(dir, cwd) {
  const hash = createHash('sha256');
  try {
    const abs = path.resolve(cwd, dir);
    for (const entry of fs
      .readdirSync(abs, { withFileTypes: true })
      .filter((e) => e.isFile())
      .sort((a, b) => (a.name < b.name ? -1 : 1))) {
      hash.update(
        `${entry.name}\0${createHash('sha256')
          .update(fs.readFileSync(path.join(abs, entry.name)))
          .digest('hex')}\n`,
      );
    }
  } catch (error) {
    hash.update(`unreadable ${dir}: ${error.code}`);
  }
  return hash.digest('hex');
}

// The seal (SHA256SUMS merged with the bucket's as it was read, signed) is shared through the cache within one GitHub
// Actions run only: its sign job stores it, its publish and pr jobs restore it, and publish checks it against the bucket
// before writing. Elsewhere each run seals again (a value unique to the run), since the bucket may have changed.
function sealRun(env) {
  return env.GITHUB_RUN_ID ? `github-run-${env.GITHUB_RUN_ID}` : `unshared-${randomUUID()}`;
}

// Strict semver as normalizeVersion (libs/common/src/version.ts) accepts it: semver's strict grammar, nothing trimmed,
// no build metadata; a prerelease passes here (the target decides whether to accept one).
const isStrictVersion = (v) => v.trim() === v && require('semver').parse(v)?.build.length === 0;
const VERSION_FLAGS = ['version', 'sysextVersion'];

const camelCase = (s) => s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

/** `--name=value` / `--name value` / `--name` at argv[i] → { name, value, next } (value undefined for a bare flag). */
function flagAt(argv, i) {
  const m = /^--([A-Za-z][\w-]*)(=(.*))?$/.exec(argv[i]);
  if (!m) return undefined;
  const name = camelCase(m[1]);
  if (m[2] !== undefined) return { name, value: m[3], next: i + 1 };
  if (i + 1 < argv.length && !argv[i + 1].startsWith('-')) return { name, value: argv[i + 1], next: i + 2 };
  return { name, value: undefined, next: i + 1 };
}

/** The command as the user should type it: everything in one place, the version flag spelled --version. */
function oneArgumentList(argv, end) {
  return argv
    .slice(2)
    .filter((_, i) => i + 2 !== end)
    .map((a) => a.replace(/^--sysextVersion(?==|$)/, '--version'));
}

// Nx builds its cache client after this hook, from the environment the hook leaves (an empty server means none). In the
// nx process the warning is printed here; on the daemon (whose output only reaches its log) it travels back with the
// environment, and the .npmrc preload (cache-warning.cjs) prints it when nx exits.
function remoteCacheDisabled(warning) {
  if (global.NX_DAEMON || global.NX_PLUGIN_WORKER) return { [REMOTE_CACHE_SERVER]: '', ALLOY_NX_CACHE_WARNING: warning };
  console.error(warning);
  return { [REMOTE_CACHE_SERVER]: '' };
}

/** The project:target typed (`nx run alloy:publish …`), for messages; the first such argument. */
function typedRun(argv) {
  return argv.slice(2).find((a) => /^[^-][^:]*:[^:]+/.test(a)) ?? '<project>:<target>';
}

function cachedProjectGraph() {
  try {
    return require('@nx/devkit').readCachedProjectGraph();
  } catch {
    return undefined;
  }
}

exports.preTasksExecution = async (_options, context) => {
  const argv = context.argv;
  const end = argv.indexOf('--') === -1 ? argv.length : argv.indexOf('--');

  // 1. Options before a `--`: Nx passes only what follows `--` to the target and silently drops them.
  const line = nxCommandLine(argv);
  if (line?.dropped.length) {
    throw new Error(
      `${line.dropped.join(' ')} is written before "--", and Nx passes only what follows "--" to the target: it would be ` +
        `silently ignored, so nothing was run. Write every option in one place:\n  npx nx ${oneArgumentList(argv, end).join(' ')}`,
    );
  }

  // 2. Every option the target is given must be one it takes (its --help lists them); Nx would pass a typo on silently.
  // Nx has just computed the project graph (a hook called outside a run finds none: the executors' schemas still refuse).
  const graph = line && cachedProjectGraph();
  if (graph) checkTypedOptions(argv, { graph, nxJson: context.nxJsonConfiguration });

  // 3. The version, as typed (Nx's parser would turn "1.10" into the number 1.1 before the target sees it).
  const versions = [];
  for (let i = 2; i < argv.length; i++) {
    if (i === end) continue;
    const flag = flagAt(argv, i);
    if (!flag || !VERSION_FLAGS.includes(flag.name)) continue;
    if (flag.name === 'version' && i < end) {
      // Not renamed by the preload: nx was not started through npx, and Nx drops the value.
      const value = flag.value || '1.10.2';
      const run = typedRun(argv);
      throw new Error(
        `Nx reserves --version and drops its value ("${argv.slice(i, flag.next).join(' ')}"), so nothing was run. Use one of:\n` +
          `  npx nx run ${run} --version=${value}      (npx loads .npmrc, which passes the flag through)\n` +
          `  nx run ${run} --sysextVersion=${value}\n` +
          `  nx run ${run} -- --version=${value}`,
      );
    }
    if (!flag.value) {
      throw new Error('--version needs a value: expected MAJOR.MINOR.PATCH such as --version=1.10.2. Nothing was run.');
    }
    if (!isStrictVersion(flag.value)) {
      throw new Error(
        `version "${flag.value}" is not a strict semver version: expected MAJOR.MINOR.PATCH such as 1.10.2 or v1.10.2. Nothing was run.`,
      );
    }
    versions.push(flag.value);
    i = flag.next - 1;
  }
  if (new Set(versions.map((v) => v.replace(/^v/, ''))).size > 1) {
    throw new Error(`two different versions given (${versions.join(', ')}): give --version once. Nothing was run.`);
  }

  // 4. The shared cache answers within a deadline, or the run fails (or goes on without it where the user opted in).
  const remoteCache = await checkRemoteCache(argv, process.env);

  // 5. A fresh clone builds the executor bundle in the background while Nx hashes and restores cached tasks.
  if (graph && runsStep(line, graph, context.nxJsonConfiguration)) prewarm();

  // 6. Hash inputs computed once per run, as env inputs: fetch follows the content of the asset directory, not its
  // path (see assetDirContent); sign and manifest follow the signing key's fingerprint (see key-fingerprint.cjs). Nx
  // takes what a hook assigns to process.env (in its plugin worker and daemon too), not what it returns (for tests).
  const assetDir = assetDirArg(argv);
  const env = {
    ALLOY_ZIP_DIR_CONTENT: assetDir ? assetDirContent(assetDir, context.workspaceRoot) : 'none',
    ALLOY_SIGNING_KEY_FINGERPRINT: await signingKeyFingerprint(process.env, context.workspaceRoot),
    ALLOY_SEAL_RUN: sealRun(process.env),
  };
  if (remoteCache?.disable) Object.assign(env, remoteCacheDisabled(remoteCache.warning));
  Object.assign(process.env, env);
  // On the daemon (or in a plugin worker) that process.env is the daemon's own, which Nx compares with each client's:
  // values left there would count as an env change on every later run and make the daemon recompute the project graph.
  // Nx has already taken the assignments above for this run's client.
  if (global.NX_DAEMON || global.NX_PLUGIN_WORKER) for (const key of Object.keys(env)) delete process.env[key];
  return env;
};
