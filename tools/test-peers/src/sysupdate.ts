// Runs the real consumer, systemd-sysupdate, against a published directory: in a test host (./host.ts) on one of the
// roots setup.sh builds, systemd 254 from bookworm-backports unless the caller names another. The keyring is the
// host's /etc/systemd/import-pubring.gpg, which every supported systemd reads when no .pgp keyring is in /etc.
import { tmpdir } from 'node:os';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Host, locateHostRoot, type HostRelease } from './host.js';

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
  /** Directory of transfer .conf files (--definitions), under the machine's temp dir (the host sees it there). */
  definitions: string;
  /** Binary OpenPGP keyring (gpg --export form, e.g. generateKey().keyringPath) to verify SHA256SUMS.gpg with. */
  keyring: string;
  /** Verb and extra arguments, e.g. ['list'], ['check-new'], ['update']. */
  args: string[];
  /** The host root to run in (default: bookworm-backports, systemd 254). */
  release?: HostRelease;
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
 * Runs `systemd-sysupdate --definitions=<dir> <args>` in a fresh test host whose /etc/systemd/import-pubring.gpg is
 * `keyring`, with the machine's temp dir (definitions, targets) visible at the same path. Never throws on a non-zero
 * exit: callers assert on exitCode (check-new uses 1 for "nothing newer").
 */
export async function runSysupdate(opts: RunSysupdateOptions): Promise<SysupdateResult> {
  if (!existsSync(opts.keyring))
    throw new Error(`runSysupdate: keyring ${opts.keyring} not found; expected a binary keyring (gpg --export)`);
  if (!opts.definitions.startsWith(`${tmpdir()}/`))
    throw new Error(`runSysupdate: definitions ${opts.definitions} must be under ${tmpdir()}, which the host sees`);
  const host = await Host.create(await locateHostRoot(opts.release ?? 'bookworm-backports'));
  try {
    await host.writeFile('/etc/systemd/import-pubring.gpg', await readFile(opts.keyring));
    const args = [`--definitions=${opts.definitions}`, ...opts.args];
    opts.log?.(`sysupdate (${host.name}): ${args.join(' ')}`);
    return await host.sysupdate(args, { binds: [tmpdir()], timeoutMs: opts.timeoutMs });
  } finally {
    await host.destroy();
  }
}
