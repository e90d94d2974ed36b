// The options each step target takes (its executor's schema.json, made by write-executor-schemas.cjs: the options of
// every step it runs) and the check the plugin runs before any task: an option the typed target does not take is
// refused, naming the nearest one it does. Nx itself would hand an unknown option to the executor silently (a typo
// `--dryrun` published for real). What counts as Nx's own option comes from Nx: the command line is parsed by Nx's own
// yargs commands, and only what Nx passes on to the tasks is checked.
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');
const { distance } = require('fastest-levenshtein');

const ROOT = path.join(__dirname, '..', '..');
const COLLECTION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).name;
const { executors: EXECUTORS } = JSON.parse(fs.readFileSync(path.join(ROOT, 'executors.json'), 'utf8'));
const { options: OPTIONS } = JSON.parse(fs.readFileSync(path.join(ROOT, 'tools/src/executors/options.json'), 'utf8'));
// Nx's own modules (pinned at 23.2.1), and yargs as Nx resolves it
const fromNx = createRequire(require.resolve('nx/package.json'));

/** The step an executor string names when it is one of this workspace's (".:publish", "alloy-sysext:publish"). */
function stepOf(executor) {
  const m = /^(.+):([^:]+)$/.exec(executor ?? '');
  return m && (m[1] === '.' || m[1] === COLLECTION) && Object.hasOwn(EXECUTORS, m[2]) ? m[2] : undefined;
}

const schemas = new Map();
function stepSchema(step) {
  if (!schemas.has(step)) schemas.set(step, JSON.parse(fs.readFileSync(path.join(ROOT, EXECUTORS[step].schema), 'utf8')));
  return schemas.get(step);
}

/** Every option name any step declares (listed or not). */
function declaredOptionNames() {
  return new Set(Object.keys(EXECUTORS).flatMap((step) => Object.keys(stepSchema(step).properties)));
}

/** The options the target of `step` takes, as its --help lists them: name → schema property. */
function acceptedOptions(step) {
  return Object.fromEntries(Object.entries(stepSchema(step).properties).filter(([, p]) => p.visible !== false));
}

const camelCase = (s) => s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

/** The declared name nearest to `typed`: the same but for case and dashes, else within a few edits. */
function nearest(typed, names) {
  const plain = (s) => s.toLowerCase().replace(/[-_]/g, '');
  const same = names.find((n) => plain(n) === plain(typed));
  if (same) return same;
  const [best] = names.map((n) => [n, distance(plain(n), plain(typed))]).sort((a, b) => a[1] - b[1]);
  return best && best[1] <= Math.max(2, Math.floor(typed.length / 3)) ? best[0] : undefined;
}

/** Nx's command definitions: the three that run targets by name, and every command name Nx knows. */
function nxCommands() {
  const { yargsRunCommand, yargsNxInfixCommand } = require('nx/src/command-line/run/command-object');
  const { yargsRunManyCommand } = require('nx/src/command-line/run-many/command-object');
  const { yargsAffectedCommand } = require('nx/src/command-line/affected/command-object');
  const { commandsObject } = require('nx/src/command-line/nx-commands');
  const known = Object.keys(commandsObject.getInternalMethods().getCommandInstance().getCommandHandlers());
  return { run: yargsRunCommand, 'run-many': yargsRunManyCommand, affected: yargsAffectedCommand, infix: yargsNxInfixCommand, known };
}

/**
 * What Nx makes of `argv` (process.argv of the nx CLI): the targets it runs and the options it passes to them. Parsed
 * with the options Nx's own command declares and Nx's parser settings (whatever Nx does not know is the tasks'), but
 * without running that command's middleware, which Nx has already run (it reads stdin for --stdin, sets variables).
 * Undefined for a command that runs no target by name.
 */
function nxCommandLine(argv) {
  const commands = nxCommands();
  const name = argv[2];
  const kind = ['run', 'run-many', 'affected'].includes(name) ? name : commands.known.includes(name) || !name ? undefined : 'infix';
  if (!kind) return undefined;
  const { rewriteTargetsAndProjects } = require('nx/bin/init-local');
  const typed = kind === 'run-many' || kind === 'affected' ? rewriteTargetsAndProjects(argv).slice(1) : argv.slice(3);
  // yargs' own --version and --help are not the command's: --version is the targets' (the plugin checks where it is)
  const declared = commands[kind].builder(fromNx('yargs')([]).version(false).help(false)).getOptions();
  const { defaultYargsParserConfiguration } = require('nx/src/command-line/yargs-utils/shared-options');
  // as yargs hands a command's declared options to its parser (coerce functions left out: they belong to the middleware)
  const args = fromNx('yargs-parser')(typed, { ...declared, coerce: {}, configuration: defaultYargsParserConfiguration });
  const words = args._.map(String);
  // the command's positionals: run <project:target>, infix [project] after the target
  const positional = kind === 'run' || (kind === 'infix' && words[0] !== undefined && !words[0].startsWith('-')) ? 1 : 0;
  const rest = words.slice(positional);
  // With a `--`, Nx passes only what follows it; the unknown options before it are dropped.
  const after = args['--']?.map(String);
  const dropped = after ? rest.filter((a) => a.startsWith('-')) : [];
  const run =
    kind === 'run'
      ? { 'project:target:configuration': words[0] ?? '' }
      : kind === 'infix'
        ? { target: name, project: positional ? words[0] : undefined }
        : { targets: [args.targets ?? []].flat().flatMap((t) => String(t).split(',')) };
  return { kind, run: { ...args, ...run }, unparsed: after ?? rest, dropped };
}

/** The [project, target] pairs a parsed command line runs, from the project graph. */
function typedTargets(line, graph, nxJson) {
  if (line.kind === 'run' || line.kind === 'infix') {
    const { parseRunOneOptions } = require('nx/src/command-line/run/run-one');
    try {
      const { project, target } = parseRunOneOptions(process.cwd(), { ...line.run }, graph, nxJson);
      return [[project, target]];
    } catch {
      return []; // Nx reports what it cannot run
    }
  }
  const { targets } = line.run;
  return Object.values(graph.nodes).flatMap((node) => targets.filter((t) => node.data.targets?.[t]).map((t) => [node.name, t]));
}

/** Whether a parsed command line runs one of the step targets (of any recipe project). */
function runsStep(line, graph, nxJson) {
  return typedTargets(line, graph, nxJson).some(([p, t]) => stepOf(graph.nodes[p]?.data.targets?.[t]?.executor));
}

/**
 * Refuses, before any task runs, an option the typed target does not take (with the nearest one it does), a positional
 * argument, and a value outside an option's choices. `graph` is the project graph Nx has just computed.
 */
function checkTypedOptions(argv, { graph, nxJson }) {
  const line = nxCommandLine(argv);
  if (!line) return;
  const { createOverrides } = require('nx/src/utils/command-line-utils');
  const overrides = createOverrides(line.unparsed);
  for (const [project, target] of typedTargets(line, graph, nxJson)) {
    const step = stepOf(graph.nodes[project]?.data.targets?.[target]?.executor);
    if (!step) continue;
    const accepted = acceptedOptions(step);
    const names = Object.keys(accepted);
    const run = `${project}:${target}`;
    const help = `(npx nx run ${run} --help lists them)`;
    for (const [key, value] of Object.entries(overrides)) {
      if (key === '__overrides_unparsed__') continue;
      if (key === '_') {
        throw new Error(
          `${run} takes no positional argument, got ${value.map((v) => JSON.stringify(String(v))).join(' ')}` +
            `${value.length === 1 && /^v?\d/.test(String(value[0])) ? ` (did you mean --version=${value[0]}?)` : ''}. ` +
            `Nothing was run.`,
        );
      }
      const name = Object.hasOwn(accepted, camelCase(key)) ? camelCase(key) : undefined;
      if (!name) throw new Error(unknownOptionMessage(key, run, names, help));
      const choices = accepted[name].enum;
      if (choices && !choices.includes(value)) {
        throw new Error(`--${name} ${JSON.stringify(String(value))} is not one of ${choices.join(', ')} (${run}). Nothing was run.`);
      }
    }
  }
}

/** The option now declared under the name `key` had before (options.json `formerNames`), if any. */
function renamedTo(key) {
  return Object.keys(OPTIONS).find((name) => OPTIONS[name].formerNames?.includes(camelCase(key)));
}

function unknownOptionMessage(key, run, names, help) {
  const typed = `--${key}`;
  const renamed = renamedTo(key);
  if (renamed) return `${run} does not take ${typed}: it was renamed --${renamed}. Nothing was run. ${run} takes --${renamed} ${help}.`;
  const project = run.slice(0, run.lastIndexOf(':'));
  const takers = Object.keys(EXECUTORS).filter((s) => Object.hasOwn(acceptedOptions(s), camelCase(key)));
  if (takers.length) {
    const list = takers.map((s) => `${project}:${s}`).join(', ');
    return `${run} does not take ${typed} (${list} ${takers.length > 1 ? 'do' : 'does'}). Nothing was run.`;
  }
  const near = nearest(key, names);
  return (
    `unknown option ${typed} for ${run}${near ? `: did you mean --${near}?` : '.'} Nothing was run. ` +
    `${run} takes ${names.map((n) => `--${n}`).join(', ')} ${help}.`
  );
}

module.exports = {
  acceptedOptions,
  checkTypedOptions,
  declaredOptionNames,
  nearest,
  nxCommandLine,
  runsStep,
  stepOf,
  stepSchema,
};
