// Each recipe file is an Nx project (Nx's `createNodes` API, the way @nx/docker infers targets from a Dockerfile): named
// by the recipe's `name`, rooted at the recipe's directory, with the step targets fetch … pr. Adding a sysext is adding
// a recipe (and its unit file); no project.json, no code. The two globs are the ones findRecipes
// (libs/pipeline/src/recipes.ts) lists.
const fs = require('node:fs');
const path = require('node:path');

const RECIPES = '{apps,sysexts}/*/sysext.json';

// The run's version, under its two names: the one the .npmrc preload gives `--version` (version-flag.cjs), and
// `version` itself behind `--`. Outputs name both, since Nx drops an output whose option is missing.
const VERSION_OPTIONS = ['sysextVersion', 'version'];

/** The step targets of the recipe project `name` whose recipe is `recipeFile` (workspace-relative). */
function recipeTargets(name, recipeFile) {
  const out = (rest) => VERSION_OPTIONS.map((v) => `{workspaceRoot}/dist/${name}/{options.${v}}/${rest}`);
  const after = (target) => ({ dependsOn: [{ target, params: 'forward' }] });
  const step = (executor, cache, rest) => ({ executor: `.:${executor}`, cache, options: { recipe: recipeFile }, ...rest });
  const toolVersions = { runtime: 'sh tools/nx/tool-versions.sh' };
  const keyFingerprint = { env: 'ALLOY_SIGNING_KEY_FINGERPRINT' };
  return {
    fetch: step('fetch', true, {
      inputs: ['recipe', '^stepSources', { env: 'ALLOY_UPSTREAM_API_URL' }, { env: 'ALLOY_ZIP_DIR_CONTENT' }],
      outputs: out('upstream/*.sha256'),
    }),
    image: step('image', true, {
      ...after('fetch'),
      inputs: ['recipe', '^stepSources', { dependentTasksOutputFiles: '**/*', transitive: false }, toolVersions],
      outputs: out('images/*.sha256'),
    }),
    sign: step('sign', true, {
      ...after('image'),
      inputs: ['recipe', '^stepSources', toolVersions, { dependentTasksOutputFiles: '**/*.sha256', transitive: false }, keyFingerprint],
      outputs: out('images/*.asc'),
    }),
    manifest: step('manifest', true, {
      ...after('sign'),
      inputs: ['recipe', '^stepSources', { dependentTasksOutputFiles: '**/*.{sha256,asc}', transitive: true }, keyFingerprint],
      outputs: out('manifest'),
    }),
    seal: step('seal', true, {
      ...after('manifest'),
      inputs: ['recipe', '^stepSources', { dependentTasksOutputFiles: '**/*', transitive: false }, keyFingerprint, 'sealRun'],
      outputs: out('seal'),
    }),
    publish: step('publish', false, after('seal')),
    pr: step('pr', false, after('publish')),
  };
}

/** The project a recipe file makes; a file that is not a readable recipe with a name makes none (its steps say why). */
function recipeProject(recipeFile, workspaceRoot) {
  let name;
  try {
    name = JSON.parse(fs.readFileSync(path.join(workspaceRoot, recipeFile), 'utf8')).name;
  } catch {
    return {};
  }
  if (typeof name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(name)) return {};
  const root = path.posix.dirname(recipeFile);
  return {
    projects: {
      [root]: {
        name,
        root,
        projectType: 'application',
        tags: ['type:app'],
        namedInputs: {
          recipe: ['{projectRoot}/sysext.json', '{projectRoot}/sysext.schema.json', '{projectRoot}/files/**/*'],
          sealRun: [{ env: 'ALLOY_SEAL_RUN' }],
        },
        targets: recipeTargets(name, recipeFile),
      },
    },
  };
}

/** Nx `createNodes` (the v2 signature: every matching file at once). */
const createNodes = [
  RECIPES,
  async (recipeFiles, _options, context) =>
    recipeFiles.map((file) => [file, recipeProject(file.split(path.sep).join('/'), context.workspaceRoot)]),
];

module.exports = { createNodes, recipeTargets, RECIPES, VERSION_OPTIONS };
