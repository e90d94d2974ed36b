// Nx plugin of this workspace. Its one hook guards the alloy targets against Nx's reserved `--version` flag: when the
// nx CLI was not started through npx (so .npmrc's preload did not move the flag behind `--`), Nx would silently drop the
// value and run with no version. Fail before any task runs, with the forms that work.
exports.name = 'alloy-sysext';

const { createHash } = require('node:crypto');
const { readdirSync, readFileSync } = require('node:fs');
const path = require('node:path');

// --zipDir's value as typed, before or behind `--` (`--zipDir=d` or `--zipDir d`).
function zipDirArg(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--zipDir=')) return argv[i].slice('--zipDir='.length);
    if (argv[i] === '--zipDir') return argv[i + 1];
  }
  return undefined;
}

// The content of a --zipDir (each file's name and sha256) for fetch's Nx hash, as ALLOY_ZIP_DIR_CONTENT: with the path
// alone, replaced zips would restore the old fetch output. An unreadable directory hashes as such; fetch then names it.
function zipDirContent(dir, cwd) {
  const hash = createHash('sha256');
  try {
    const abs = path.resolve(cwd, dir);
    for (const entry of readdirSync(abs, { withFileTypes: true }).filter((e) => e.isFile()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      hash.update(`${entry.name}\0${createHash('sha256').update(readFileSync(path.join(abs, entry.name))).digest('hex')}\n`);
    }
  } catch (error) {
    hash.update(`unreadable ${dir}: ${error.code}`);
  }
  return hash.digest('hex');
}

// Strict semver as normalizeVersion accepts it (prerelease allowed here; the target decides whether to accept one).
const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

exports.preTasksExecution = async (_options, context) => {
  const argv = context.argv;
  const end = argv.indexOf('--') === -1 ? argv.length : argv.indexOf('--');
  // Behind `--` the value reaches the target, but Nx's parser first turns "1.10" into the number 1.1: check the text
  // as typed, so the message names what the user wrote.
  for (let i = end + 1; i < argv.length; i++) {
    const value = argv[i].startsWith('--version=') ? argv[i].slice('--version='.length) : argv[i] === '--version' ? argv[i + 1] ?? '' : undefined;
    if (value !== undefined && !SEMVER.test(value)) {
      throw new Error(`version "${value}" is not a strict semver version: expected MAJOR.MINOR.PATCH such as 1.10.2 or v1.10.2. Nothing was run.`);
    }
  }
  const flag = argv.slice(0, end).find((a) => a === '--version' || a.startsWith('--version='));
  const zipDir = zipDirArg(argv);
  const envs = { ALLOY_ZIP_DIR_CONTENT: zipDir ? zipDirContent(zipDir, context.workspaceRoot) : 'none' };
  if (!flag) return envs;
  const value = flag.includes('=') ? flag.slice('--version='.length) : '1.10.2';
  throw new Error(
    `Nx reserves --version and drops its value ("${flag}"), so nothing was run. Use one of:\n` +
      `  npx nx run alloy:publish --version=${value}      (npx loads .npmrc, which passes the flag through)\n` +
      `  nx run alloy:publish -- --version=${value}\n` +
      `  npm run release-bot -- release --version ${value}`,
  );
};
