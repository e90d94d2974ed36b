// Runs the real consumer, systemd-sysupdate 254, unpacked under .cache/systemd-254 (tools/setup/setup.sh), against a
// published directory. sysupdate's keyring location is compiled in (/etc/systemd/import-pubring.gpg, else
// /usr/lib/systemd/import-pubring.gpg), so we run it in a private mount namespace (`unshare -m`) where a test keyring
// is bind-mounted there; the host's files are never written.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const SYSTEMD_CACHE_DIR = '.cache/systemd-254/root';
const USER_KEYRING = '/etc/systemd/import-pubring.gpg';

export interface Systemd254 {
  root: string;
  sysupdate: string;
  pull: string;
  dissect: string;
  libDir: string;
}

/** The workspace root: the nearest directory at or above `from` holding nx.json. */
export function workspaceRoot(from = process.cwd()): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no nx.json at or above ${from}; run from inside the alloy-sysext workspace`);
  }
}

/** Locates the unpacked systemd 254; fails naming the setup script when it is missing. */
export function locateSystemd254(root = join(workspaceRoot(), SYSTEMD_CACHE_DIR)): Systemd254 {
  const s: Systemd254 = {
    root,
    sysupdate: join(root, 'lib/systemd/systemd-sysupdate'),
    pull: join(root, 'lib/systemd/systemd-pull'),
    dissect: join(root, 'usr/bin/systemd-dissect'),
    libDir: join(root, 'usr/lib/x86_64-linux-gnu/systemd'),
  };
  for (const p of [s.sysupdate, s.pull, join(s.libDir, 'libsystemd-shared-254.so')]) {
    if (!existsSync(p)) {
      throw new Error(`systemd-sysupdate 254 not found: ${p} is missing; run tools/setup/setup.sh to unpack it into ${SYSTEMD_CACHE_DIR}`);
    }
  }
  return s;
}

export interface TransferOptions {
  /** Base URL of the published directory, with trailing slash (sysupdate appends SHA256SUMS and file names). */
  sourceUrl: string;
  /** MatchPattern for source and target. Default "alloy-@v-amd64.raw". */
  pattern?: string;
  /** Directory the images are installed into. */
  targetDir: string;
  /** CurrentSymlink path (absolute), e.g. <targetDir>/alloy.raw. */
  currentSymlink?: string;
  /** Verify= of the source; default true (sysupdate's default too). */
  verify?: boolean;
  /** InstancesMax of the target; default 2. */
  instancesMax?: number;
}

/** A transfer definition like the ones Flatcar consumers ship in /etc/sysupdate.<name>.d/. */
export function transferConf(t: TransferOptions): string {
  const pattern = t.pattern ?? 'alloy-@v-amd64.raw';
  return [
    '[Transfer]',
    `Verify=${t.verify === false ? 'no' : 'yes'}`,
    '',
    '[Source]',
    'Type=url-file',
    `Path=${t.sourceUrl}`,
    `MatchPattern=${pattern}`,
    '',
    '[Target]',
    'Type=regular-file',
    `Path=${t.targetDir}`,
    `MatchPattern=${pattern}`,
    ...(t.currentSymlink ? [`CurrentSymlink=${t.currentSymlink}`] : []),
    `InstancesMax=${t.instancesMax ?? 2}`,
    '',
  ].join('\n');
}

/** Writes `<dir>/<name>.conf` for each transfer and returns dir (for --definitions). */
export async function writeDefinitions(dir: string, transfers: Record<string, TransferOptions>): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, t] of Object.entries(transfers)) await writeFile(join(dir, `${name}.conf`), transferConf(t));
  return dir;
}

export interface RunSysupdateOptions {
  /** Directory of transfer .conf files (--definitions). */
  definitions: string;
  /** Binary OpenPGP keyring (gpg --export form, e.g. generateKey().keyringPath) sysupdate verifies SHA256SUMS.gpg with. */
  keyring: string;
  /** Verb and extra arguments, e.g. ['list'], ['check-new'], ['update']. */
  args: string[];
  /** Override the unpacked systemd location (default: <workspace>/.cache/systemd-254/root). */
  systemdRoot?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface SysupdateResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The sysupdate argv, for messages. */
  command: string;
}

/**
 * Runs `systemd-sysupdate --definitions=<dir> <args>` in a private mount namespace with `keyring` at
 * /etc/systemd/import-pubring.gpg. Never throws on a non-zero exit: callers assert on exitCode (check-new uses 1
 * for "nothing newer").
 */
export async function runSysupdate(opts: RunSysupdateOptions): Promise<SysupdateResult> {
  const sd = locateSystemd254(opts.systemdRoot);
  if (process.getuid?.() !== 0) {
    throw new Error(
      'runSysupdate: needs root (it bind-mounts the keyring inside `unshare -m`); run the consumer tests as root, e.g. in the CI container',
    );
  }
  if (!existsSync(opts.keyring))
    throw new Error(`runSysupdate: keyring ${opts.keyring} not found; expected a binary keyring (gpg --export)`);
  // A private copy: the bind mount must not pin or expose the caller's file, and a directory we own is needed when
  // the host has no /etc/systemd/import-pubring.gpg to mount over.
  const scratch = await mkdtemp(join(tmpdir(), 'sysupdate-keyring-'));
  try {
    await copyFile(opts.keyring, join(scratch, 'import-pubring.gpg'));
    const argv = [sd.sysupdate, `--definitions=${opts.definitions}`, '--no-pager', ...opts.args];
    // Inside the namespace only: mount over the existing file, or, when the host has none, over /etc/systemd itself
    // with a directory that holds just the keyring (creating the file on the host would change the host's trust).
    const script = [
      'set -e',
      'mount --make-rprivate /',
      `if [ -e ${USER_KEYRING} ]; then mount --bind "$0/import-pubring.gpg" ${USER_KEYRING};`,
      `else mount --bind "$0" ${dirname(USER_KEYRING)}; fi`,
      'exec "$@"',
    ].join('\n');
    opts.log?.(`sysupdate: ${argv.slice(1).join(' ')}`);
    const r = await execa('unshare', ['-m', 'sh', '-c', script, scratch, ...argv], {
      reject: false,
      timeout: opts.timeoutMs ?? 60_000,
      env: {
        LD_LIBRARY_PATH: sd.libDir,
        SYSTEMD_PULL_PATH: sd.pull,
        SYSTEMD_LOG_LEVEL: 'info',
        SYSTEMD_LOG_COLOR: '0',
        SYSTEMD_PAGER: 'cat',
        SYSTEMD_COLORS: '0',
      },
    });
    if (r.timedOut) throw new Error(`runSysupdate: ${argv.slice(1).join(' ')} timed out after ${opts.timeoutMs ?? 60_000} ms`);
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, command: argv.join(' ') };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
