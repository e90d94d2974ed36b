// End-to-end harness: temp copies of this workspace in which real `nx` runs the alloy targets against loopback peers.
// Used by apps/alloy's e2e tests and by tools/bench/pipeline.bench.ts.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real checkout these tests live in (tools/test-peers/src/nx-workspace.ts → three levels up). */
export const SOURCE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const NX_BIN = path.join(SOURCE_ROOT, 'node_modules/nx/dist/bin/nx.js');

/**
 * Copies the workspace: git-tracked files that exist, plus untracked, not-ignored files under apps/ libs/ tools/ (other
 * work in progress is part of what we test). node_modules is a directory of symlinks into the checkout's, except the
 * workspace packages (@alloy-sysext/*), which point into the copy, so an edit in the copy is what runs in the copy.
 */
export async function copyWorkspace(parent: string, name: string): Promise<string> {
  const dest = path.join(parent, name);
  const git = (args: string[]) => execa('git', args, { cwd: SOURCE_ROOT }).then((r) => r.stdout.split('\0').filter(Boolean));
  const files = new Set([
    ...(await git(['ls-files', '-z', '--cached'])),
    ...(await git(['ls-files', '-z', '--others', '--exclude-standard', '--', 'apps', 'libs', 'sysexts', 'tools'])),
  ]);
  for (const file of [...files].sort()) {
    const from = path.join(SOURCE_ROOT, file);
    const st = await lstat(from).catch(() => undefined);
    if (!st || st.isDirectory()) continue; // deleted in the working tree
    await mkdir(path.dirname(path.join(dest, file)), { recursive: true });
    await cp(from, path.join(dest, file), { preserveTimestamps: true, verbatimSymlinks: true });
  }
  await linkNodeModules(dest);
  return dest;
}

/**
 * A second clone of the same sources: copies `copy` (made by copyWorkspace) without its node_modules, .nx and dist.
 * Copying the checkout twice could pick up other people's edits made in between; two clones of one commit cannot.
 */
export async function cloneCopy(copy: string, parent: string, name: string): Promise<string> {
  const dest = path.join(parent, name);
  const skip = new Set(['node_modules', '.nx', 'dist', '.dev-keys'].map((d) => path.join(copy, d)));
  await cp(copy, dest, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, filter: (src) => !skip.has(src) });
  await linkNodeModules(dest);
  return dest;
}

/** `git clone` of `source` (a git repository, e.g. a copyWorkspace copy committed), with node_modules linked as above. */
export async function gitClone(source: string, parent: string, name: string): Promise<string> {
  const dest = path.join(parent, name);
  await execa('git', ['clone', '--quiet', source, dest]);
  await linkNodeModules(dest);
  return dest;
}

async function linkNodeModules(dest: string): Promise<void> {
  const modules = path.join(dest, 'node_modules');
  await mkdir(path.join(modules, '@alloy-sysext'), { recursive: true });
  for (const entry of await readdir(path.join(SOURCE_ROOT, 'node_modules'))) {
    if (entry === '@alloy-sysext') continue;
    await symlink(path.join(SOURCE_ROOT, 'node_modules', entry), path.join(modules, entry));
  }
  // relative links (../../libs/x): they resolve inside the copy
  for (const entry of await readdir(path.join(SOURCE_ROOT, 'node_modules/@alloy-sysext'))) {
    const target = await readlink(path.join(SOURCE_ROOT, 'node_modules/@alloy-sysext', entry));
    await symlink(target, path.join(modules, '@alloy-sysext', entry));
  }
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export interface NxRun {
  code: number;
  output: string;
  ms: number;
  command: string;
}

/** Environment for nx in a copy: the caller's minus anything that would leak the real checkout's config. */
export function nxEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(NX_|ALLOY_|R2_|GPG_|GITHUB_|GHOST_STACK_|INFISICAL_STACK_|JEST_|npm_|NODE_OPTIONS$)/i.test(k)) continue;
    env[k] = v;
  }
  Object.assign(env, { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true', FORCE_COLOR: '0' });
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** `node <nx.js> ...args` in `cwd` (no npx, so .npmrc's preload does not apply: pass the version behind `--`). */
export async function nx(cwd: string, args: string[], env: Record<string, string | undefined>): Promise<NxRun> {
  return run(cwd, process.execPath, [NX_BIN, ...withStaticOutput(args)], env);
}

/** `npx nx ...args` in `cwd`: npm reads the copy's .npmrc, as for a user in the checkout. */
export async function npxNx(cwd: string, args: string[], env: Record<string, string | undefined>): Promise<NxRun> {
  return run(cwd, 'npx', ['--no-install', 'nx', ...withStaticOutput(args)], env);
}

/** Nx's own flags go before `--` (after it they are passed to the task). */
function withStaticOutput(args: string[]): string[] {
  const end = args.indexOf('--') === -1 ? args.length : args.indexOf('--');
  return [...args.slice(0, end), '--output-style=static', ...args.slice(end)];
}

async function run(cwd: string, file: string, args: string[], env: Record<string, string | undefined>): Promise<NxRun> {
  const started = Date.now();
  // the cache inside the copy, whatever nx.json says
  const fullEnv = nxEnv({ NX_CACHE_DIRECTORY: path.join(cwd, '.nx/cache'), ...env });
  const r = await execa(file, args, { cwd, env: fullEnv, extendEnv: false, all: true, reject: false, stdin: 'ignore' });
  return { code: r.exitCode ?? -1, output: r.all ?? '', ms: Date.now() - started, command: `${path.basename(file)} ${args.join(' ')}` };
}

/**
 * How nx reported each task of a run: "local" ([local cache]), "existing" ([existing outputs match the cache, left as
 * is]), "remote" ([remote cache]) or "ran". Keys are task ids such as "alloy:image".
 */
export function taskStatus(output: string): Record<string, 'local' | 'existing' | 'remote' | 'ran'> {
  const result: Record<string, 'local' | 'existing' | 'remote' | 'ran'> = {};
  // static output style: "> nx run alloy:image  [local cache]" (the -- args after the task id when given); in GitHub
  // Actions (GITHUB_ACTIONS set) Nx folds each task's output into a log group, "::group::<status icon> > nx run …"
  for (const line of output.split('\n')) {
    const m = /^(?:::group::\S*\s*)?> nx run (\S+?:\S+)(.*)$/.exec(line.replace(/\x1b\[[0-9;]*m/g, '').trim());
    if (!m) continue;
    const rest = m[2];
    result[m[1]] = rest.includes('[existing outputs match the cache, left as is]')
      ? 'existing'
      : rest.includes('[local cache]')
        ? 'local'
        : rest.includes('[remote cache]')
          ? 'remote'
          : 'ran';
  }
  return result;
}

/** sha256 of every file under `dir`, keyed by path relative to it. */
export async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) out[path.relative(dir, p)] = await sha256File(p);
    }
  };
  await walk(dir);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `gpg --verify` of a detached signature with a throwaway GNUPGHOME holding only `keyring` (binary or armored). */
export async function gpgVerify(keyring: Buffer, signature: Buffer, data: Buffer): Promise<{ ok: boolean; output: string }> {
  const home = await tempDir('e2e-gpg-');
  try {
    const write = (name: string, b: Buffer) => writeFile(path.join(home, name), b);
    await write('keyring', keyring);
    await write('data', data);
    await write('data.sig', signature);
    await execa('gpg', ['--homedir', home, '--batch', '--import', path.join(home, 'keyring')], { all: true });
    const r = await execa(
      'gpg',
      ['--homedir', home, '--batch', '--status-fd', '1', '--verify', path.join(home, 'data.sig'), path.join(home, 'data')],
      {
        all: true,
        reject: false,
      },
    );
    return { ok: r.exitCode === 0 && /\[GNUPG:\] VALIDSIG/.test(r.all ?? ''), output: r.all ?? '' };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

export async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8');
}

/** Last lines of an nx run, for failure messages. */
export function tail(run: NxRun, lines = 60): string {
  return `${run.command} → exit ${run.code} in ${run.ms} ms\n${run.output.split('\n').slice(-lines).join('\n')}`;
}
