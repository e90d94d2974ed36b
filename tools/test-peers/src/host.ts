// Hosts for the consumer tests: one Debian root per systemd a host may run, unpacked by tools/setup/setup.sh with
// `mmdebstrap --variant=extract` under .cache/hosts/<release>/root, and a host = such a root plus a private writable
// layer (overlayfs) of its own. Commands run chrooted into the host inside `unshare -m`, so the host's files are at the
// paths systemd compiles in (/etc/systemd/import-pubring.*, /usr/lib/systemd/...) and nothing outside the layer is
// written: not the cached root, not the machine running the tests.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SOURCE_ROOT } from './nx-workspace.js';

/** The roots setup.sh builds: the release each comes from and the systemd it ships. */
export const HOST_RELEASES = {
  'bookworm-backports': { systemd: 254 },
  trixie: { systemd: 257 },
  forky: { systemd: 262 },
} as const;
export type HostRelease = keyof typeof HOST_RELEASES;

export const HOSTS_CACHE_DIR = '.cache/hosts';
/** PATH of a systemd service (systemd's default), which the snippet's units run with. */
export const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin';

export interface HostRoot {
  release: HostRelease;
  /** The unpacked root (read only: every host gets its own layer over it). */
  dir: string;
  /** systemd's major version in this root, as `systemctl --version` prints it. */
  systemd: number;
}

const DEFAULT_CACHE = path.join(SOURCE_ROOT, HOSTS_CACHE_DIR);

/** The cached root of `release`; fails naming setup.sh when it is missing or incomplete. */
export async function locateHostRoot(release: HostRelease, cache = DEFAULT_CACHE): Promise<HostRoot> {
  const dir = path.join(cache, release, 'root');
  const version = path.join(cache, release, 'systemd-version');
  const systemd = path.join(dir, 'usr/lib/systemd');
  for (const p of [path.join(systemd, 'systemd-sysupdate'), path.join(systemd, 'systemd-pull'), version]) {
    if (!existsSync(p)) {
      throw new Error(
        `host root ${release} (systemd ${HOST_RELEASES[release].systemd}) not found: ${p} is missing; ` +
          `run tools/setup/setup.sh to build it into ${HOSTS_CACHE_DIR}/${release}`,
      );
    }
  }
  return { release, dir, systemd: Number((await readFile(version, 'utf8')).trim()) };
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The command as run inside the host, for messages. */
  command: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  /** Host directories (absolute) visible at the same path inside the host, e.g. a test's temp dir. */
  binds?: string[];
  timeoutMs?: number;
}

/** One machine: a root plus its own layer. Files written through it land in the layer; runs see root + layer. */
export class Host {
  private constructor(
    readonly root: HostRoot,
    private readonly layer: string,
  ) {}

  /** A fresh host on `root`; its layer lives under the cache dir (overlayfs refuses an upper dir on overlayfs /tmp). */
  static async create(root: HostRoot): Promise<Host> {
    if (process.getuid?.() !== 0) {
      const why = 'a test host needs root (overlayfs and chroot in `unshare -m`)';
      throw new Error(`${why}: run the consumer tests as root, as CI does`);
    }
    const layers = path.join(path.dirname(path.dirname(root.dir)), '.layers');
    await mkdir(layers, { recursive: true });
    const layer = await mkdtemp(path.join(layers, `${root.release}-`));
    await mkdir(path.join(layer, 'upper'));
    await mkdir(path.join(layer, 'work'));
    await mkdir(path.join(layer, 'merged'));
    return new Host(root, layer);
  }

  get name(): string {
    return `systemd ${this.root.systemd} (${this.root.release})`;
  }

  /** Where `file` (absolute, in the host) is on this machine: the layer's copy, else the root's; null when absent. */
  async locate(file: string): Promise<string | null> {
    for (const base of [path.join(this.layer, 'upper'), this.root.dir]) {
      const st = await lstat(path.join(base, file)).catch(() => undefined);
      // overlayfs records a deletion as a 0:0 character device in the upper dir
      if (st?.isCharacterDevice() && st.rdev === 0) return null;
      if (st) return path.join(base, file);
    }
    return null;
  }

  async readFile(file: string): Promise<Buffer | null> {
    const at = await this.locate(file);
    return at ? readFile(at) : null;
  }

  /** The names in `dir` as the host sees it (layer and root; [] when there is no such directory). */
  async readdir(dir: string): Promise<string[]> {
    const names = new Set<string>();
    for (const base of [path.join(this.layer, 'upper'), this.root.dir]) {
      for (const n of await readdir(path.join(base, dir)).catch(() => [] as string[])) names.add(n);
    }
    const present = await Promise.all([...names].map(async (n) => ((await this.locate(`${dir}/${n}`)) ? n : null)));
    return present.filter((n): n is string => n !== null).sort();
  }

  async readlink(file: string): Promise<string | null> {
    const at = await this.locate(file);
    return at ? readlink(at) : null;
  }

  /** Writes `file` into the layer (the root stays untouched), creating its directories. */
  async writeFile(file: string, bytes: string | Uint8Array, mode = 0o644): Promise<void> {
    const at = path.join(this.layer, 'upper', file);
    await mkdir(path.dirname(at), { recursive: true });
    await rm(at, { force: true });
    await writeFile(at, bytes);
    await chmod(at, mode);
  }

  async mkdir(dir: string, mode = 0o755): Promise<void> {
    const at = path.join(this.layer, 'upper', dir);
    await mkdir(at, { recursive: true });
    await chmod(at, mode);
  }

  /** Removes `file` from the layer; a file of the root itself is refused (the root is shared by every host). */
  async rm(file: string): Promise<void> {
    if (existsSync(path.join(this.root.dir, file))) throw new Error(`${this.name}: ${file} belongs to the root`);
    await rm(path.join(this.layer, 'upper', file));
  }

  async symlink(file: string, target: string): Promise<void> {
    const at = path.join(this.layer, 'upper', file);
    await mkdir(path.dirname(at), { recursive: true });
    await rm(at, { force: true });
    await symlink(target, at);
  }

  /** Runs argv chrooted into the host, as root, with only `env` (PATH: a service's). Never throws on an exit code. */
  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    const merged = path.join(this.layer, 'merged');
    const binds = opts.binds ?? [];
    const script = [
      'set -e',
      'lower=$1; upper=$2; work=$3; merged=$4; nbinds=$5; shift 5',
      'mount --make-rprivate /',
      'mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$merged"',
      // an extract root may lack the mount points; they are created in the layer
      'mkdir -p "$merged/proc" "$merged/dev" "$merged/tmp"',
      'mount -t proc proc "$merged/proc"',
      'mount --rbind /dev "$merged/dev"',
      'while [ "$nbinds" -gt 0 ]; do',
      '  mkdir -p "$merged$1"; mount --rbind "$1" "$merged$1"; shift; nbinds=$((nbinds - 1))',
      'done',
      'exec chroot "$merged" "$@"',
    ].join('\n');
    const layer = [path.join(this.layer, 'upper'), path.join(this.layer, 'work'), merged];
    const args = [this.root.dir, ...layer, String(binds.length), ...binds, ...argv];
    const timeout = opts.timeoutMs ?? 60_000;
    const r = await execa('unshare', ['-m', 'sh', '-c', script, 'host', ...args], {
      reject: false,
      timeout,
      extendEnv: false,
      env: { PATH: SERVICE_PATH, LANG: 'C.UTF-8', ...opts.env },
    });
    const command = argv.join(' ');
    if (r.timedOut) throw new Error(`${this.name}: ${command} timed out after ${timeout} ms`);
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, command };
  }

  /** `systemd-sysupdate --no-pager <args>` in the host, logging at info level without colors. */
  sysupdate(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.run(['/usr/lib/systemd/systemd-sysupdate', '--no-pager', ...args], {
      ...opts,
      env: { SYSTEMD_LOG_LEVEL: 'info', SYSTEMD_LOG_COLOR: '0', SYSTEMD_COLORS: '0', ...opts.env },
    });
  }

  /** Removes the layer: the host and everything it installed. */
  async destroy(): Promise<void> {
    await rm(this.layer, { recursive: true, force: true });
  }
}
