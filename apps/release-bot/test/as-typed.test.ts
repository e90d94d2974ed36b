// release-bot commands typed as issue 22 shows them (`npm run release-bot -- …`), each asserting output and exit code:
// a mistyped option, an option npm keeps for itself, a configuration error, a key that would be overwritten, and `serve`
// stopped by its PID.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EXIT, main } from '../src/index.js';
import { capture, npmRunReleaseBot, WORKSPACE } from './helpers.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'release-bot-typed-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('options as typed', () => {
  it('`npm run release-bot -- check --dryrun`: exit 2, naming the option it meant', async () => {
    const r = await npmRunReleaseBot(['--', 'check', '--dryrun']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.output).toContain("unknown option '--dryrun'");
    expect(r.output).toContain('(Did you mean --dry-run?)');
  }, 60_000);

  it('`npm run release-bot check --dry-run` (npm keeps --dry-run for itself): exit 2, nothing run, the form that works', async () => {
    // an upstream that would answer: had check run, it would say what it found there
    const r = await npmRunReleaseBot(['check', '--dry-run'], { ALLOY_UPSTREAM_API_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.output).toContain('npm took --dry-run as its own option (written before "--") and did not pass it on, so nothing was run');
    expect(r.output).toContain('npm run release-bot -- check --dry-run');
    expect(r.output).not.toContain('cannot list releases');
  }, 60_000);

  it('the same check in-process: every option any command declares, as npm names it in the environment', async () => {
    const c = capture(WORKSPACE, { npm_lifecycle_event: 'release-bot', npm_config_keep: 'true', npm_config_zipdir: '/zips' });
    expect(await main(['prune', '3'], c.ctx)).toBe(EXIT.USAGE);
    expect(c.stderr()).toContain('npm took --keep <n>, --zipDir <dir> as its own options');
    // the same variables outside `npm run release-bot` (a user's npm config) are not ours to judge
    const direct = capture(WORKSPACE, { npm_config_dry_run: 'true' });
    expect(await main(['keys'], direct.ctx)).toBe(EXIT.USAGE);
    expect(direct.stderr()).not.toContain('npm took');
  });
});

describe('messages that tell the truth', () => {
  it('`R2_PREFIX=../x npm run release-bot -- status`: a configuration error exits 1 naming it, with no table', async () => {
    const r = await npmRunReleaseBot(['--', 'status'], { R2_PREFIX: '../x', ALLOY_UPSTREAM_API_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.output).toContain('release-bot status: R2_PREFIX "../x" is not a key prefix');
    expect(r.output).not.toContain('upstream latest stable');
  }, 60_000);

  it('`npm run release-bot -- keys generate --out DIR` over a key: refused once, saying what to do, the key untouched', async () => {
    const dir = path.join(tmp, 'key');
    await mkdir(dir);
    await writeFile(path.join(dir, 'signing-key.asc'), 'the key already here\n');
    const r = await npmRunReleaseBot(['--', 'keys', 'generate', '--out', dir]);
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.output).toContain(
      `release-bot keys: ${path.join(dir, 'signing-key.asc')} already exists; refusing to overwrite a key: pass --out with a new directory`,
    );
    expect(r.output).not.toMatch(/outDir|generateKey/);
    expect(await readFile(path.join(dir, 'signing-key.asc'), 'utf8')).toBe('the key already here\n');
  }, 60_000);
});

describe('`npm run release-bot -- serve` stops with its parent', () => {
  const freePort = async () => {
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as { port: number };
    await new Promise((resolve) => srv.close(resolve));
    return port;
  };
  const answers = (port: number) =>
    fetch(`http://127.0.0.1:${port}/alloy/SHA256SUMS`).then(
      (r) => r.status,
      () => 'closed',
    );
  const until = async (what: () => Promise<unknown>, want: unknown, ms: number) => {
    const deadline = Date.now() + ms;
    let got = await what();
    while (got !== want && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      got = await what();
    }
    return got;
  };
  /** The processes under `pid` (npm → sh → node), from ps. */
  const descendants = async (pid: number): Promise<{ pid: number; cmd: string }[]> => {
    const { stdout } = await execa('ps', ['-e', '-o', 'pid=,ppid=,args=']);
    const all = stdout
      .split('\n')
      .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)!)
      .filter(Boolean);
    const out: { pid: number; cmd: string }[] = [];
    const walk = (p: number) => {
      for (const m of all.filter((m) => Number(m[2]) === p)) {
        out.push({ pid: Number(m[1]), cmd: m[3]! });
        walk(Number(m[1]));
      }
    };
    walk(pid);
    return out;
  };

  it.each(['npm', 'node'])(
    'SIGTERM to the %s process: nothing is left serving',
    async (which) => {
      const port = await freePort();
      await mkdir(path.join(tmp, `bucket-${which}/alloy`), { recursive: true });
      await writeFile(path.join(tmp, `bucket-${which}/alloy/SHA256SUMS`), '');
      const clean: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(npm_|NODE_OPTIONS$|ALLOY_|R2_)/i.test(k)) clean[k] = v;
      const npm = execa('npm', ['run', 'release-bot', '--', 'serve'], {
        cwd: WORKSPACE,
        env: { ...clean, ALLOY_SERVE_PORT: String(port), ALLOY_LOCAL_BUCKET: path.join(tmp, `bucket-${which}`) },
        extendEnv: false,
        all: true,
        reject: false,
        stdin: 'ignore',
      });
      let node: { pid: number; cmd: string } | undefined;
      const alive = async () => {
        try {
          process.kill(node!.pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      try {
        expect(await until(() => answers(port), 200, 60_000)).toBe(200);
        node = (await descendants(npm.pid!)).find((p) => /^node .*release-bot\.mjs serve/.test(p.cmd));
        expect(node).toBeDefined();
        process.kill(which === 'npm' ? npm.pid! : node!.pid, 'SIGTERM');
        expect(await until(() => answers(port), 'closed', 10_000)).toBe('closed');
        expect(await until(alive, false, 10_000)).toBe(false);
      } finally {
        if (node && (await alive())) process.kill(node.pid, 'SIGKILL');
        npm.kill('SIGKILL');
        await npm;
      }
    },
    90_000,
  );
});
