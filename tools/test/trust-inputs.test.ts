// The Nx hash inputs that carry trust: --zipDir's content (not its path) for fetch, and the signing key's fingerprint
// for sign and manifest, unique per run while a fresh clone has no key yet.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKey } from '@alloy-sysext/signing';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../..', import.meta.url));
const plugin = require(path.join(root, 'tools/nx/plugin.cjs')) as {
  preTasksExecution(options: unknown, context: { argv: string[]; workspaceRoot?: string }): Promise<Record<string, string>>;
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'trust-inputs-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('fetch hashes the --zipDir content', () => {
  it('same path, replaced zip → another ALLOY_ZIP_DIR_CONTENT; both spellings, before and behind --', async () => {
    const zips = path.join(dir, 'zips');
    await mkdir(zips, { recursive: true });
    await writeFile(path.join(zips, 'alloy-linux-amd64.zip'), 'one');
    const env = (argv: string[]) =>
      plugin.preTasksExecution(undefined, { argv: ['node', 'nx', 'run', 'alloy:fetch', ...argv], workspaceRoot: dir });
    const first = (await env([`--zipDir=${zips}`])).ALLOY_ZIP_DIR_CONTENT;
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect((await env(['--', '--zipDir', 'zips'])).ALLOY_ZIP_DIR_CONTENT).toBe(first);
    await writeFile(path.join(zips, 'alloy-linux-amd64.zip'), 'two');
    expect((await env([`--zipDir=${zips}`])).ALLOY_ZIP_DIR_CONTENT).not.toBe(first);
  });
});

describe('key-fingerprint.mjs', () => {
  const script = async (env: NodeJS.ProcessEnv = {}) => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(dir, 'ws/tools/nx/key-fingerprint.mjs')], {
      env: { PATH: process.env.PATH, ...env },
    });
    return stdout.trim();
  };

  it('no key yet: a value unique to each run (a fresh clone never restores another clone’s dev-key entries); then the dev key’s fingerprint', async () => {
    await mkdir(path.join(dir, 'ws/tools/nx'), { recursive: true });
    await cp(path.join(root, 'tools/nx/key-fingerprint.mjs'), path.join(dir, 'ws/tools/nx/key-fingerprint.mjs'));
    await symlink(path.join(root, 'node_modules'), path.join(dir, 'ws/node_modules'));
    const [a, b] = [await script(), await script()];
    expect(a).toMatch(/^no-key-yet-/);
    expect(b).toMatch(/^no-key-yet-/);
    expect(a).not.toBe(b);
    const key = await generateKey({ identity: 'dev (development key) <dev@alloy-sysext.invalid>', outDir: path.join(dir, 'ws/.dev-keys') });
    expect(await script()).toBe(key.fingerprint);
  }, 60_000);
});
