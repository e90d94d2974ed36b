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

  it('renames --version=X in place to --sysextVersion=X, so every other option stays where Nx parses it', async () => {
    expect(await argvSeenByNx(['run', 'alloy:publish', '--version=1.10.2', '--dryRun', '--output-style=static'])).toEqual([
      'run',
      'alloy:publish',
      '--sysextVersion=1.10.2',
      '--dryRun',
      '--output-style=static',
    ]);
  });

  it('renames it the same for every recipe project: the name is the sysext’s, not alloy’s', async () => {
    expect(await argvSeenByNx(['run', 'docker-compose:publish', '--version=2.29.1'])).toEqual([
      'run',
      'docker-compose:publish',
      '--sysextVersion=2.29.1',
    ]);
    expect(await argvSeenByNx(['publish', 'docker-compose', '--version', 'v2.29.1'])).toEqual([
      'publish',
      'docker-compose',
      '--sysextVersion=2.29.1',
    ]);
  });

  // Outputs are named dist/alloy/{options.sysextVersion} while the steps write dist/alloy/<normalized>: a `v` kept here made
  // Nx cache an empty directory for `--version=v1.10.2`.
  it('drops the tag-style v, so the outputs Nx caches are the directory the steps write', async () => {
    expect(await argvSeenByNx(['run', 'alloy:publish', '--version=v1.10.2'])).toEqual(['run', 'alloy:publish', '--sysextVersion=1.10.2']);
    expect(await argvSeenByNx(['run', 'alloy:publish', '--version', 'v1.11.0-rc.1'])).toEqual([
      'run',
      'alloy:publish',
      '--sysextVersion=1.11.0-rc.1',
    ]);
    expect(await argvSeenByNx(['run', 'alloy:publish', '--version=very'])).toEqual(['run', 'alloy:publish', '--sysextVersion=very']);
    // not a version: left as typed, so the refusal names exactly what the user wrote
    expect(await argvSeenByNx(['run', 'alloy:publish', '--version=v1.10.x'])).toEqual(['run', 'alloy:publish', '--sysextVersion=v1.10.x']);
  });

  it('handles the space form, a bare flag, and the version behind --', async () => {
    expect(await argvSeenByNx(['run', 'alloy:pr', '--version', '1.10.2', '--dryRun'])).toEqual([
      'run',
      'alloy:pr',
      '--sysextVersion=1.10.2',
      '--dryRun',
    ]);
    expect(await argvSeenByNx(['run', 'alloy:pr', '--version', '--dryRun'])).toEqual(['run', 'alloy:pr', '--sysextVersion=', '--dryRun']);
    expect(await argvSeenByNx(['run', 'alloy:pr', '--', '--version=1.10.2', '--dryRun'])).toEqual([
      'run',
      'alloy:pr',
      '--',
      '--sysextVersion=1.10.2',
      '--dryRun',
    ]);
  });

  it('leaves `nx --version` and other programs alone', async () => {
    expect(await argvSeenByNx(['--version'])).toEqual(['--version']);
    const other = path.join(dir, 'other.js');
    await writeFile(other, 'console.log(JSON.stringify(process.argv.slice(2)))\n');
    expect(await argvSeenByNx(['run', 'x:y', '--version=1.0.0'], other)).toEqual(['run', 'x:y', '--version=1.0.0']);
  });
});

// what the hook sets when nothing is wrong: no --zipDir, and some signing key fingerprint (trust-inputs.test.ts)
const NO_ZIP_DIR = { ALLOY_ZIP_DIR_CONTENT: 'none', ALLOY_SIGNING_KEY_FINGERPRINT: expect.any(String), ALLOY_SEAL_RUN: expect.any(String) };
const hook = (...args: string[]) => plugin.preTasksExecution(undefined, { argv: ['node', 'nx', ...args] });

describe('.npmrc preload: exit code', () => {
  const exitCodeOf = async (code: string) => {
    // a stand-in nx CLI that ends the way Nx 23.2.1 ends a run whose dependency task failed
    const script = path.join(dir, 'exit', 'node_modules', '.bin', 'nx');
    await mkdir(path.dirname(script), { recursive: true });
    await writeFile(script, code);
    const options = /^node-options=(.*)$/m.exec(npmrcContent())![1];
    return promisify(execFile)(process.execPath, [...options.split(' '), script]).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
  };

  it("turns Nx's 130 for a failed dependency task into 1", async () => {
    expect(await exitCodeOf('process.exit(130)\n')).toBe(1);
    expect(await exitCodeOf('process.exit(2)\n')).toBe(2);
  });

  it('keeps 130 when the run really was interrupted', async () => {
    expect(
      await exitCodeOf("process.on('SIGINT', () => process.exit(130)); process.kill(process.pid, 'SIGINT'); setTimeout(() => {}, 5000)\n"),
    ).toBe(130);
  });
});

describe('.npmrc preload: output style', () => {
  const styleSeenByNx = async (args: string[], env: Record<string, string> = {}) => {
    const script = path.join(dir, 'style', 'node_modules', '.bin', 'nx');
    await mkdir(path.dirname(script), { recursive: true });
    await writeFile(script, 'console.log(process.env.NX_DEFAULT_OUTPUT_STYLE ?? "(unset)")\n');
    const options = /^node-options=(.*)$/m.exec(npmrcContent())![1];
    const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
    if (!env.NX_DEFAULT_OUTPUT_STYLE) delete childEnv.NX_DEFAULT_OUTPUT_STYLE;
    const { stdout } = await promisify(execFile)(process.execPath, [...options.split(' '), script, ...args], { env: childEnv });
    return stdout.trim();
  };

  it('streams the alloy targets off a TTY (static output would hold a long transfer until it ends)', async () => {
    expect(await styleSeenByNx(['run', 'alloy:publish', '--version=1.10.2'])).toBe('stream');
    expect(await styleSeenByNx(['run', 'docker-compose:seal', '--version=2.29.1'])).toBe('stream');
  });

  it("leaves the user's choice and other projects alone", async () => {
    expect(await styleSeenByNx(['run', 'alloy:publish', '--output-style=static'])).toBe('(unset)');
    expect(await styleSeenByNx(['run', 'alloy:publish'], { NX_DEFAULT_OUTPUT_STYLE: 'static' })).toBe('static');
    expect(await styleSeenByNx(['run-many', '-t', 'test'])).toBe('(unset)');
  });
});

describe('plugin hook', () => {
  it('fails loudly, with the working forms, when --version reached Nx unrenamed (nx not started through npx)', async () => {
    await expect(hook('run', 'alloy:publish', '--version=1.10.2')).rejects.toThrow(
      /Nx reserves --version[\s\S]*npx nx run alloy:publish --version=1.10.2[\s\S]*nx run alloy:publish --sysextVersion=1.10.2[\s\S]*-- --version=1.10.2/,
    );
  });

  it('names the working forms for any recipe project', async () => {
    await expect(hook('run', 'docker-compose:publish', '--version=2.29.1')).rejects.toThrow(
      /npx nx run docker-compose:publish --version=2.29.1[\s\S]*nx run docker-compose:publish --sysextVersion=2.29.1/,
    );
  });

  it('lets the renamed flag, the version behind -- (or no version flag) through', async () => {
    await expect(hook('run', 'alloy:publish', '--sysextVersion=1.10.2', '--dryRun')).resolves.toEqual(NO_ZIP_DIR);
    await expect(hook('run', 'alloy:publish', '--', '--version=1.10.2', '--dryRun')).resolves.toEqual(NO_ZIP_DIR);
    await expect(hook('run', 'alloy:publish', '--output-style=static', '--', '--version=1.10.2')).resolves.toEqual(NO_ZIP_DIR);
    await expect(hook('run-many', '-t', 'test')).resolves.toEqual(NO_ZIP_DIR);
  });

  it.each([
    ['--dryRun'],
    ['--dry-run'],
    ['--zipDir=/z'],
    ['--assetDir=/z'],
    ['--consumer', 'ghost-stack'],
    ['--allowPrerelease'],
    ['--format=erofs'],
  ])('refuses a target option (%s) written before --, where Nx drops it, naming the one-place form', async (...option) => {
    await expect(hook('run', 'alloy:publish', ...option, '--', '--sysextVersion=1.10.2')).rejects.toThrow(
      `${option.join(' ').split(' ')[0]} is written before "--"`,
    );
    await expect(hook('run', 'alloy:publish', ...option, '--', '--sysextVersion=1.10.2')).rejects.toThrow(
      `npx nx run alloy:publish ${option.join(' ')} --version=1.10.2`,
    );
  });

  it('refuses a bare --version and two different versions', async () => {
    await expect(hook('run', 'alloy:publish', '--sysextVersion=')).rejects.toThrow('--version needs a value');
    await expect(hook('run', 'alloy:publish', '--', '--sysextVersion=1.10.2', '--version=1.10.3')).rejects.toThrow(
      'two different versions',
    );
  });
});

describe('plugin hook: the version as typed', () => {
  it.each(['1.10', '2', '1.10.2.1', '01.2.3'])('refuses --version=%s naming it before Nx turns it into a number', async (value) => {
    for (const argv of [['--', `--version=${value}`], [`--sysextVersion=${value}`], ['--sysextVersion', value]]) {
      await expect(hook('run', 'alloy:publish', ...argv)).rejects.toThrow(
        `version "${value}" is not a strict semver version: expected MAJOR.MINOR.PATCH`,
      );
    }
  });

  it('refuses what semver refuses, as the steps do (a prerelease number with a leading zero)', async () => {
    await expect(hook('run', 'alloy:publish', '--', '--version=1.0.0-01')).rejects.toThrow(
      'version "1.0.0-01" is not a strict semver version: expected MAJOR.MINOR.PATCH',
    );
  });

  it('accepts v-prefixed and prerelease versions (the target decides about prereleases)', async () => {
    for (const value of ['v1.10.2', '1.11.0-rc.1']) {
      await expect(
        plugin.preTasksExecution(undefined, { argv: ['node', 'nx', 'run', 'alloy:pr', '--', '--version', value] }),
      ).resolves.toEqual(NO_ZIP_DIR);
    }
  });
});
