import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../..', import.meta.url));
const { npmrcContent } = require(path.join(root, 'tools/nx/write-npmrc.cjs')) as { npmrcContent(): string };
const plugin = require(path.join(root, 'tools/nx/plugin.cjs')) as {
  preTasksExecution(options: unknown, context: { argv: string[] }): Promise<Record<string, string> | undefined>;
};

let dir: string;
let fakeNx: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nx-flag-'));
  // Stands in for node_modules/.bin/nx: prints the argv the real CLI would parse.
  fakeNx = path.join(dir, 'node_modules', '.bin', 'nx');
  await mkdir(path.dirname(fakeNx), { recursive: true });
  await writeFile(fakeNx, 'console.log(JSON.stringify(process.argv.slice(2)))\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function argvSeenByNx(args: string[], script = fakeNx): Promise<string[]> {
  const options = /^node-options=(.*)$/m.exec(npmrcContent())![1];
  const { stdout } = await promisify(execFile)(process.execPath, [...options.split(' '), script, ...args]);
  return JSON.parse(stdout);
}

describe('.npmrc preload for npx nx', () => {
  it('is exactly what write-npmrc generates from version-flag.cjs', async () => {
    expect(await readFile(path.join(root, '.npmrc'), 'utf8')).toBe(npmrcContent());
  });

  it('moves --version=X behind -- so Nx hands it to the target', async () => {
    expect(await argvSeenByNx(['run', 'alloy:publish', '--version=1.10.2', '--output-style=static'])).toEqual([
      'run', 'alloy:publish', '--output-style=static', '--', '--version=1.10.2',
    ]);
  });

  it('handles the space form and an existing --', async () => {
    expect(await argvSeenByNx(['run', 'alloy:pr', '--version', '1.10.2', '--', '--dryRun'])).toEqual([
      'run', 'alloy:pr', '--', '--version=1.10.2', '--dryRun',
    ]);
  });

  it("leaves `nx --version` and other programs alone", async () => {
    expect(await argvSeenByNx(['--version'])).toEqual(['--version']);
    const other = path.join(dir, 'other.js');
    await writeFile(other, 'console.log(JSON.stringify(process.argv.slice(2)))\n');
    expect(await argvSeenByNx(['run', 'x:y', '--version=1.0.0'], other)).toEqual(['run', 'x:y', '--version=1.0.0']);
  });
});

describe('plugin hook', () => {
  it('fails loudly, with the working forms, when --version reached Nx unmoved', async () => {
    await expect(
      plugin.preTasksExecution(undefined, { argv: ['node', 'nx', 'run', 'alloy:publish', '--version=1.10.2'] }),
    ).rejects.toThrow(/Nx reserves --version[\s\S]*npx nx run alloy:publish --version=1.10.2[\s\S]*-- --version=1.10.2/);
  });

  it('lets runs with the version behind -- (or no version flag) through', async () => {
    await expect(plugin.preTasksExecution(undefined, { argv: ['node', 'nx', 'run', 'alloy:publish', '--', '--version=1.10.2'] })).resolves.toEqual({ ALLOY_ZIP_DIR_CONTENT: 'none' });
    await expect(plugin.preTasksExecution(undefined, { argv: ['node', 'nx', 'run-many', '-t', 'test'] })).resolves.toEqual({ ALLOY_ZIP_DIR_CONTENT: 'none' });
  });
});

describe('plugin hook: the version as typed', () => {
  it.each(['1.10', '2', '1.10.2.1', '01.2.3', ''])('refuses --version=%s naming it before Nx turns it into a number', async (value) => {
    await expect(
      plugin.preTasksExecution(undefined, { argv: ['node', 'nx', 'run', 'alloy:publish', '--', `--version=${value}`] }),
    ).rejects.toThrow(`version "${value}" is not a strict semver version: expected MAJOR.MINOR.PATCH`);
  });

  it('accepts v-prefixed and prerelease versions (the target decides about prereleases)', async () => {
    for (const value of ['v1.10.2', '1.11.0-rc.1']) {
      await expect(plugin.preTasksExecution(undefined, { argv: ['node', 'nx', 'run', 'alloy:pr', '--', '--version', value] })).resolves.toEqual({ ALLOY_ZIP_DIR_CONTENT: 'none' });
    }
  });
});
