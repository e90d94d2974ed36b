// What Ignition does with a Butane config on a host's first boot, for the parts our snippets use: storage.directories,
// storage.files (inline, data: and http(s) sources, sha256 verification), storage.links, systemd.units (contents,
// drop-ins). Enough to install a published snippet on a test host exactly as written, then run its units.
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import type { Host, RunOptions, RunResult } from './host.js';

interface ButaneFile {
  path: string;
  mode?: number;
  contents?: { inline?: string; source?: string; verification?: { hash?: string } };
}
interface ButaneUnit {
  name: string;
  enabled?: boolean;
  contents?: string;
  dropins?: Array<{ name: string; contents: string }>;
}
interface Butane {
  storage?: {
    directories?: Array<{ path: string; mode?: number }>;
    files?: ButaneFile[];
    links?: Array<{ path: string; target: string; hard?: boolean }>;
  };
  systemd?: { units?: ButaneUnit[] };
}

/** The bytes of a `data:` URL (RFC 2397: base64 or percent-encoded). */
function dataUrl(url: string): Buffer {
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma < 0) throw new Error(`not a data: URL: ${url.slice(0, 40)}`);
  const meta = url.slice(5, comma);
  const body = url.slice(comma + 1);
  return meta.endsWith(';base64') ? Buffer.from(body, 'base64') : Buffer.from(decodeURIComponent(body), 'latin1');
}

async function contents(file: ButaneFile): Promise<Buffer> {
  const c = file.contents ?? {};
  let bytes: Buffer;
  if (c.inline !== undefined) bytes = Buffer.from(c.inline, 'utf8');
  else if (c.source?.startsWith('data:')) bytes = dataUrl(c.source);
  else if (c.source) {
    const res = await fetch(c.source, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`ignition: GET ${c.source} answered ${res.status}`);
    bytes = Buffer.from(await res.arrayBuffer());
  } else bytes = Buffer.alloc(0);
  const want = c.verification?.hash;
  if (want) {
    const got = `sha256-${createHash('sha256').update(bytes).digest('hex')}`;
    if (got !== want) throw new Error(`ignition: ${file.path} from ${c.source} has ${got}, the config wants ${want}`);
  }
  return bytes;
}

/** Installs a Butane config's files, links and units on `host`, as Ignition would. Returns the enabled units. */
export async function applyButane(host: Host, text: string): Promise<string[]> {
  // Butane (go-yaml) reads `mode: 0755` as octal, as YAML 1.1 does
  const config = parse(text, { version: '1.1' }) as Butane;
  for (const d of config.storage?.directories ?? []) await host.mkdir(d.path, d.mode ?? 0o755);
  for (const f of config.storage?.files ?? []) await host.writeFile(f.path, await contents(f), f.mode ?? 0o644);
  for (const l of config.storage?.links ?? []) {
    if (l.hard) throw new Error(`ignition: hard link ${l.path} is not supported here`);
    await host.symlink(l.path, l.target);
  }
  for (const u of config.systemd?.units ?? []) {
    if (u.contents !== undefined) await host.writeFile(`/etc/systemd/system/${u.name}`, u.contents);
    for (const d of u.dropins ?? []) await host.writeFile(`/etc/systemd/system/${u.name}.d/${d.name}`, d.contents);
  }
  return (config.systemd?.units ?? []).filter((u) => u.enabled).map((u) => u.name);
}

/** Where systemd finds a unit's file, the administrator's before the vendor's. */
const UNIT_DIRS = ['/etc/systemd/system', '/usr/lib/systemd/system'];
const EXEC = ['ExecStartPre', 'ExecStart', 'ExecStartPost'] as const;

/**
 * Starts a oneshot unit installed on `host` the way systemd would run it here: its file (from /etc/systemd/system, else
 * /usr/lib/systemd/system) with the drop-ins of /etc/systemd/system/<unit>.d in name order, then each ExecStartPre=,
 * ExecStart= and ExecStartPost= in that order, with a service's PATH, stopping at the first failure. An empty `ExecX=`
 * clears the earlier ones, as in systemd. Only plain command lines (no prefixes, quotes or specifiers).
 */
export async function startUnit(host: Host, unit: string, opts: RunOptions = {}): Promise<RunResult[]> {
  let text: string | undefined;
  for (const dir of UNIT_DIRS) text ??= (await host.readFile(`${dir}/${unit}`))?.toString('utf8');
  if (text === undefined) throw new Error(`${host.name}: unit ${unit} is not installed`);
  const dropins = (await host.readdir(`/etc/systemd/system/${unit}.d`)).filter((n) => n.endsWith('.conf')).sort();
  for (const name of dropins) {
    text += `\n${(await host.readFile(`/etc/systemd/system/${unit}.d/${name}`))!.toString('utf8')}`;
  }
  const commands: Record<(typeof EXEC)[number], string[]> = { ExecStartPre: [], ExecStart: [], ExecStartPost: [] };
  for (const line of text.split('\n')) {
    const key = EXEC.find((k) => line.startsWith(`${k}=`));
    if (!key) continue;
    const value = line.slice(key.length + 1).trim();
    if (value === '') commands[key] = [];
    else commands[key].push(value);
  }
  if (commands.ExecStart.length === 0) throw new Error(`${host.name}: unit ${unit} has no ExecStart=`);
  const results: RunResult[] = [];
  for (const line of EXEC.flatMap((k) => commands[k])) {
    const argv = line.split(/\s+/);
    if (/^[-@:+!]/.test(argv[0]!) || /["'%$\\]/.test(line)) throw new Error(`${unit}: ${line} needs a real systemd`);
    const r = await host.run(argv, opts);
    results.push(r);
    if (r.exitCode !== 0) break;
  }
  return results;
}
