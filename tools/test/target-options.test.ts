// The options each step target takes: the executors' schemas (generated from tools/src/executors/options.json), how they
// follow the targets' dependsOn, and the plugin's check of the command line before any task runs (issue 22, item 1).
// The commands typed as a user types them, under real nx, are in apps/alloy/test/options.e2e.test.ts.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../..', import.meta.url));
const { executorSchemas } = require(path.join(root, 'tools/nx/write-executor-schemas.cjs')) as {
  executorSchemas(): Promise<Record<string, string>>;
};
interface Property {
  visible?: boolean;
  enum?: string[];
}
const targetOptions = require(path.join(root, 'tools/nx/target-options.cjs')) as {
  acceptedOptions(step: string): Record<string, Property>;
  stepSchema(step: string): { properties: Record<string, Property>; additionalProperties: boolean };
  checkTypedOptions(argv: string[], context: { graph: unknown; nxJson: unknown }): void;
};
const source = JSON.parse(await readFile(path.join(root, 'tools/src/executors/options.json'), 'utf8')) as {
  steps: Record<string, string>;
  options: Record<string, { usedBy: string[] }>;
};
const STEPS = Object.keys(source.steps);

/** A project graph as Nx hands it over: two recipe projects' step targets, and a target of another executor. */
const graph = {
  nodes: {
    alloy: {
      name: 'alloy',
      type: 'app',
      data: {
        root: 'apps/alloy',
        targets: {
          ...Object.fromEntries(STEPS.map((s) => [s, { executor: `.:${s}` }])),
          test: { executor: 'nx:run-commands', options: { command: 'jest' } },
        },
      },
    },
    'docker-compose': {
      name: 'docker-compose',
      type: 'app',
      data: { root: 'sysexts/docker-compose', targets: Object.fromEntries(STEPS.map((s) => [s, { executor: `.:${s}` }])) },
    },
  },
  dependencies: {},
};
const check =
  (...args: string[]) =>
  () =>
    targetOptions.checkTypedOptions(['node', 'nx', ...args], { graph, nxJson: {} });
const attempt = (f: () => void) => {
  try {
    f();
    return 'accepted';
  } catch (error) {
    return (error as Error).message;
  }
};

describe('executor schemas', () => {
  it('are current: regenerating them from options.json gives the committed files (else node tools/nx/write-executor-schemas.cjs)', async () => {
    for (const [file, text] of Object.entries(await executorSchemas())) {
      expect([path.relative(root, file), await readFile(file, 'utf8')]).toEqual([path.relative(root, file), text]);
    }
  });

  it('declare every option in every step with additionalProperties false (Nx then refuses a typo a task is given)', () => {
    for (const step of STEPS) {
      const schema = targetOptions.stepSchema(step);
      expect([step, schema.additionalProperties, Object.keys(schema.properties)]).toEqual([step, false, Object.keys(source.options)]);
    }
  });

  it('list, for each target of project alloy, exactly the options of the steps its dependsOn runs (Nx forwards them there)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [require.resolve('nx/bin/nx.js'), 'show', 'project', 'alloy', '--json'],
      {
        cwd: root,
        env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const targets = (
      JSON.parse(stdout) as { targets: Record<string, { executor?: string; dependsOn?: ({ target: string; params?: string } | string)[] }> }
    ).targets;
    const runs = (target: string): string[] => {
      const forwarded = (targets[target]!.dependsOn ?? []).filter((d) => typeof d === 'object' && d.params === 'forward');
      return [target, ...forwarded.flatMap((d) => runs((d as { target: string }).target))];
    };
    for (const step of STEPS) {
      expect(targets[step]?.executor).toBe(`.:${step}`);
      const chain = new Set(runs(step));
      const expected = Object.entries(source.options)
        .filter(([, o]) => o.usedBy.some((s) => chain.has(s)))
        .map(([name]) => name);
      expect([step, Object.keys(targetOptions.acceptedOptions(step))]).toEqual([step, expected]);
    }
  }, 60_000);
});

describe('the plugin refuses, before any task runs, an option the typed target does not take', () => {
  it.each([
    [['run', 'alloy:publish', '--sysextVersion=1.10.2', '--dryrun'], 'unknown option --dryrun for alloy:publish: did you mean --dryRun?'],
    [['run', 'alloy:publish', '--sysextVersion=1.10.2', '--dry-rn'], 'did you mean --dryRun?'],
    [['run', 'alloy:fetch', '--sysextVersion=1.10.2', '--zipdir=/z'], 'unknown option --zipdir for alloy:fetch: did you mean --zipDir?'],
    [
      ['run', 'alloy:sign', '--sysextVersion=1.10.2', '--assetdir=/z'],
      'unknown option --assetdir for alloy:sign: did you mean --assetDir?',
    ],
    [['run', 'alloy:pr', '--sysextVersion=1.10.2', '--consumers=ghost-stack'], 'did you mean --consumer?'],
    [['run', 'alloy:publish', '--sysextVersion=1.10.2', '--frobnicate'], 'unknown option --frobnicate for alloy:publish. Nothing was run.'],
    // the `--` fallback: what follows `--` is what the target gets
    [['run', 'alloy:publish', '--', '--version=1.10.2', '--dryrun'], 'unknown option --dryrun for alloy:publish: did you mean --dryRun?'],
    // the infix and run-many forms reach the same targets
    [['publish', 'alloy', '--sysextVersion=1.10.2', '--dryrun'], 'did you mean --dryRun?'],
    [['run-many', '-t', 'publish', '-p', 'alloy', '--sysextVersion=1.10.2', '--dryrun'], 'did you mean --dryRun?'],
    // an option of a later target: the earlier one runs no step that would use it
    [['run', 'alloy:fetch', '--sysextVersion=1.10.2', '--dryRun'], 'alloy:fetch does not take --dryRun (alloy:publish, alloy:pr do)'],
    [['run', 'alloy:image', '--sysextVersion=1.10.2', '--consumer=x'], 'alloy:image does not take --consumer (alloy:pr does)'],
    [['run', 'alloy:image', '--sysextVersion=1.10.2', '--format=zfs'], '--format "zfs" is not one of squashfs, erofs, ext4 (alloy:image)'],
    [['run', 'alloy:publish', '1.10.2'], 'alloy:publish takes no positional argument, got "1.10.2" (did you mean --version=1.10.2?)'],
    // every recipe project's targets take the same options
    [['run', 'docker-compose:publish', '--sysextVersion=2.29.1', '--dryrun'], 'unknown option --dryrun for docker-compose:publish'],
    [['run-many', '-t', 'image', '-p', 'docker-compose', '--sysextVersion=2.29.1', '--dryRun'], 'image does not take --dryRun'],
    // the version option's former, alloy-shaped name: refused, naming the one that replaced it
    [['run', 'alloy:publish', '--alloyVersion=1.10.2'], 'alloy:publish does not take --alloyVersion: it was renamed --sysextVersion.'],
    [['run', 'docker-compose:pr', '--alloy-version', '2.29.1'], 'docker-compose:pr does not take --alloy-version: it was renamed'],
  ])('%j', (args, message) => {
    expect(check(...args)).toThrow(message);
  });

  it('lists what the target takes, with the help that shows them', () => {
    expect(check('run', 'alloy:publish', '--frobnicate')).toThrow(
      'alloy:publish takes --sysextVersion, --version, --recipe, --allowPrerelease, --assetDir, --zipDir, --allowUnverified, ' +
        '--format, --compressor, --dryRun, --allowUntrustedKey (npx nx run alloy:publish --help lists them).',
    );
  });

  it('takes what each target lists, in the spellings Nx accepts (dashes, --no-, the fallback behind --)', () => {
    expect(
      check('run', 'alloy:pr', '--sysextVersion=1.10.2', '--dryRun', '--consumer=ghost-stack', '--zipDir=/z', '--format=erofs'),
    ).not.toThrow();
    expect(check('run', 'alloy:publish', '--sysextVersion=1.10.2', '--dry-run', '--no-allowUnverified', '--zip-dir', '/z')).not.toThrow();
    expect(check('run', 'alloy:pr', '--sysextVersion=1.10.2', '--asset-dir=/z', '--allowUnverified')).not.toThrow();
    expect(check('run', 'alloy:publish', '--', '--version=1.10.2', '--dryRun', '--compressor', 'xz')).not.toThrow();
    expect(
      check('run', 'alloy:manifest', '--sysextVersion=1.11.0-rc.1', '--allowPrerelease', '--recipe=apps/alloy/sysext.json'),
    ).not.toThrow();
  });

  it("never refuses Nx's own options: every option Nx's run, run-many and affected commands declare", () => {
    const fromNx = createRequire(require.resolve('nx/package.json'));
    const yargs = fromNx('yargs') as (args: string[]) => { getOptions(): { key: Record<string, unknown>; boolean: string[] } };
    const commands = [
      ['run alloy:publish', require('nx/src/command-line/run/command-object').yargsRunCommand],
      ['run-many -t publish -p alloy', require('nx/src/command-line/run-many/command-object').yargsRunManyCommand],
      ['affected -t publish', require('nx/src/command-line/affected/command-object').yargsAffectedCommand],
    ] as const;
    let seen = 0;
    for (const [command, definition] of commands) {
      const options = (definition.builder(yargs([])) as ReturnType<typeof yargs>).getOptions();
      for (const name of Object.keys(options.key)) {
        if (['version', 'help', 'target', 't', 'targets', 'project', 'p', 'projects', 'c', 'configuration'].includes(name)) continue;
        const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
        const value = options.boolean.includes(name) ? [] : ['1'];
        for (const spelling of new Set([name, kebab])) {
          const args = [...command.split(' '), '--sysextVersion=1.10.2', `--${spelling}`, ...value];
          expect([args.join(' '), attempt(check(...args))]).toEqual([args.join(' '), 'accepted']);
          seen++;
        }
      }
    }
    // the ones README and the tests use are among them
    expect(seen).toBeGreaterThan(40);
    for (const o of ['--skip-nx-cache', '--output-style=static', '--verbose', '--excludeTaskDependencies', '--parallel=2', '--nxBail']) {
      expect(check('run', 'alloy:publish', '--sysextVersion=1.10.2', '--dryRun', o)).not.toThrow();
    }
  });

  it('leaves targets of other executors alone (nx:run-commands passes its options on to the command)', () => {
    expect(check('run-many', '-t', 'test', '--testNamePattern=x')).not.toThrow();
    expect(check('run', 'alloy:test', '--watch')).not.toThrow();
  });
});

describe('README agrees with what the targets take', () => {
  const readme = () => readFile(path.join(root, 'README.md'), 'utf8');

  it('every `nx run <project>:<target> …` README shows passes the option check', async () => {
    const commands = [...(await readme()).matchAll(/`((?:npx )?nx run [^`]+)`|^((?:npx )?nx run .+)$/gm)]
      .map((m) =>
        (m[1] ?? m[2])!
          .replace(/<[^>]*>/g, 'X')
          .replace(/\s+#.*$/, '')
          .trim(),
      )
      .filter((c) => !/[|&;]/.test(c));
    expect(commands.length).toBeGreaterThan(10);
    for (const command of commands) {
      const args = command.replace(/^npx /, '').split(/\s+/).slice(1);
      // the one README shows as a typo is refused, naming the option it meant; every other is taken
      const expected = command.endsWith(' --dryrun')
        ? expect.stringContaining('did you mean --dryRun?')
        : command.includes('--alloyVersion') // README's row for the former name says it is refused
          ? expect.stringContaining('it was renamed --sysextVersion')
          : 'accepted';
      expect([command, attempt(check(...args))]).toEqual([command, expected]);
    }
  });

  it('the targets table lists, per target, the options that target adds to the ones before it', async () => {
    const text = await readme();
    const table = text.slice(text.indexOf('| target | options it adds'));
    const lines = table.split('\n').slice(2);
    const rows = lines
      .slice(
        0,
        lines.findIndex((l) => !l.startsWith('|')),
      )
      .map((l) =>
        l
          .split(/(?<!\\)\|/)
          .slice(1, -1)
          .map((c) => c.trim()),
      );
    const always = ['sysextVersion', 'version', 'recipe', 'allowPrerelease'];
    expect(rows.map(([target]) => target!.replace(/`/g, ''))).toEqual(STEPS);
    for (const [target, options] of rows) {
      const step = target!.replace(/`/g, '');
      const documented = [...options!.matchAll(/`--(\w+)/g)].map((m) => m[1]!).sort();
      const adds = Object.entries(source.options)
        .filter(([name, o]) => !always.includes(name) && STEPS.indexOf(step) === Math.min(...o.usedBy.map((s) => STEPS.indexOf(s))))
        .map(([name]) => name)
        .sort();
      // each option the row introduces is there, and whatever else it mentions is one the target takes
      expect([step, adds.filter((o) => !documented.includes(o))]).toEqual([step, []]);
      expect([step, documented.filter((o) => !Object.hasOwn(targetOptions.acceptedOptions(step), o))]).toEqual([step, []]);
    }
  });
});
