// The cached step targets' cache keys come from the project graph (`^stepSources`, issue 21): every workspace file a
// step's process loads is hashed, so editing it reruns exactly the steps that load it; a file no step loads reruns
// nothing. What a step loads is read from the executor bundle itself (esbuild's metafile), what Nx hashes from Nx's own
// hasher in a copy of the workspace (tools/test/step-hashes.child.cjs), before and after a real edit of each file.
import { execFile } from 'node:child_process';
import { readFile, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyWorkspace, nxEnv, tempDir } from '@alloy-sysext/test-peers/nx-workspace';

const require = createRequire(import.meta.url);
const CHILD = fileURLToPath(new URL('./step-hashes.child.cjs', import.meta.url));
const CODE = /\.(ts|cjs|mjs|js|md|sh)$/;

interface Hashed {
  projects: Record<string, string>;
  hashes: Record<string, string>;
  inputs: Record<string, { files: string[]; runtime: string[]; environment: string[] }>;
  edits: Record<string, Record<string, string>>;
  after: Record<string, string>;
  nodes: Record<string, { root: string; targets: Record<string, { executor?: string; cache?: boolean }> }>;
  dependencies: Record<string, string[]>;
}

let parent: string;
let ws: string;
let recipes: string[]; // the recipe projects: alloy, docker-compose
let steps: string[]; // task ids of the cached step targets, e.g. alloy:fetch
let edited: string[]; // those hashed again after each edit: alloy's (the others hash the same files but their recipe's)
let loaded: Record<string, Set<string>>; // task id → workspace files its process loads
let anyLoaded: Set<string>; // what any of our executors loads, cached step or not (publish, pr)
let loader: string[]; // what Nx loads to run any of our executors (executors.json's implementation and its requires)
let owner: (file: string) => string;
let files: string[];
let result: Hashed;

/** Workspace files (code and docs) under `dir`, relative to it. */
async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const p = path.posix.join(rel, entry.name);
    if (entry.isDirectory() && !['node_modules', '.nx', 'dist', '.cache', '.git', '.dev-keys'].includes(entry.name)) {
      out.push(...(await walk(dir, p)));
    } else if (entry.isFile()) out.push(p);
  }
  return out;
}

/** Per executor, the workspace modules its bundle entry imports, transitively (esbuild's module graph, before tree-shaking). */
async function bundleInputs(): Promise<Record<string, Set<string>>> {
  const bundle = require(path.join(ws, 'tools/nx/executor-bundle.cjs'));
  const esbuild = require('esbuild');
  const built = await esbuild.build({
    ...bundle.bundleOptions(),
    entryPoints: Object.fromEntries(bundle.EXECUTORS.map((n: string) => [n, `tools/src/executors/${n}/executor.ts`])),
    splitting: true,
    outdir: path.join(parent, 'bundle'),
    write: false,
    metafile: true,
  });
  const inputs = built.metafile.inputs as Record<string, { imports: { path: string; external?: boolean }[] }>;
  const result: Record<string, Set<string>> = {};
  for (const name of bundle.EXECUTORS as string[]) {
    const modules = new Set<string>();
    const visit = (file: string) => {
      if (modules.has(file) || !inputs[file]) return;
      modules.add(file);
      inputs[file]!.imports.forEach((i) => i.external || visit(i.path));
    };
    visit(`tools/src/executors/${name}/executor.ts`);
    result[name] = new Set([...modules].filter((f) => !f.includes('node_modules')));
  }
  return result;
}

/** The implementation file of each executor in executors.json, and the workspace modules it requires, transitively. */
async function loaderFiles(): Promise<string[]> {
  const { executors } = JSON.parse(await readFile(path.join(ws, 'executors.json'), 'utf8'));
  const todo = [...new Set(Object.values(executors).map((e: any) => path.posix.normalize(e.implementation.split('#')[0])))];
  const seen = new Set<string>();
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of (await readFile(path.join(ws, file), 'utf8')).matchAll(/require\('(\.{1,2}\/[^']+)'\)/g)) {
      todo.push(path.posix.join(path.posix.dirname(file), m[1]!));
    }
  }
  return [...seen].sort();
}

beforeAll(async () => {
  parent = await tempDir('step-inputs-');
  ws = await copyWorkspace(parent, 'ws');
  const byExecutor = await bundleInputs();
  loader = await loaderFiles();
  files = (await walk(ws)).filter((f) => CODE.test(f)).sort();
  const roots = (await walk(ws)).filter((f) => f.endsWith('project.json')).map((f) => path.posix.dirname(f));
  owner = (file) => roots.filter((r) => file.startsWith(`${r}/`)).sort((a, b) => b.length - a.length)[0] ?? '.';

  // One loaded file per project the steps load; one source (else any file) per project that no step loads, and the docs
  // of the libraries the steps load.
  anyLoaded = new Set([...Object.values(byExecutor).flatMap((s) => [...s]), ...loader]);
  const firstPerProject = (candidates: string[]) => {
    const byProject = new Map<string, string>();
    for (const f of candidates) if (!byProject.has(owner(f))) byProject.set(owner(f), f);
    return [...byProject.values()];
  };
  const notLoaded = files.filter((f) => !anyLoaded.has(f));
  const loadedProjects = new Set([...anyLoaded].map(owner));
  const edits = [
    ...firstPerProject(files.filter((f) => anyLoaded.has(f))),
    ...firstPerProject([...notLoaded.filter((f) => /(?<!\.test)\.ts$/.test(f)), ...notLoaded]),
    ...notLoaded.filter((f) => f.endsWith('.md') && loadedProjects.has(owner(f)) && owner(f) !== '.'),
    // and a test of each library the steps load (a library's first pick above may be a type-only module instead)
    ...firstPerProject(notLoaded.filter((f) => f.endsWith('.test.ts') && loadedProjects.has(owner(f)))),
    ...loader,
  ];
  const { stdout } = await promisify(execFile)(
    process.execPath,
    // every recipe project's inputs, alloy's hashes after each edit (the others' inputs are alloy's but for the recipe)
    [CHILD, JSON.stringify({ target: 'seal', options: { sysextVersion: '1.10.2' }, edits, editProjects: ['alloy'] })],
    { cwd: ws, env: nxEnv({}), maxBuffer: 64 * 1024 * 1024 },
  );
  result = JSON.parse(stdout);
  // The step targets as Nx resolved them (inferred from each recipe file by the workspace plugin), for every recipe.
  recipes = Object.entries(result.nodes)
    .filter(([, n]) => n.targets.fetch?.executor === '.:fetch')
    .map(([name]) => name)
    .sort();
  const stepTargets = recipes.flatMap((p) =>
    Object.entries(result.nodes[p]!.targets)
      .filter(([, t]) => t.cache && t.executor?.startsWith('.:'))
      .map(([name, t]) => [`${p}:${name}`, t.executor!.slice(2)] as const),
  );
  steps = stepTargets.map(([id]) => id);
  edited = steps.filter((id) => id.startsWith('alloy:'));
  loaded = Object.fromEntries(stepTargets.map(([id, executor]) => [id, byExecutor[executor]!]));
}, 300_000);
afterAll(() => rm(parent, { recursive: true, force: true }));

describe('the cached steps hash what their executors load, found through the project graph', () => {
  it('every recipe is a project whose cached steps are fetch, image, sign, manifest and seal, each loading libraries', () => {
    expect(recipes).toEqual(['alloy', 'docker-compose']);
    expect(result.nodes['docker-compose']!.root).toBe('sysexts/docker-compose');
    const cached = ['fetch', 'image', 'sign', 'manifest', 'seal'];
    expect(steps).toEqual(recipes.flatMap((p) => cached.map((t) => `${p}:${t}`)));
    for (const step of steps) expect(new Set([...loaded[step]!].map(owner)).size).toBeGreaterThan(3);
  });

  it('every recipe project depends on the project holding the executors (the edge ^stepSources follows)', () => {
    const root = owner('tools/src/executors/fetch/executor.ts');
    const [executors] = Object.entries(result.nodes).find(([, n]) => n.root === root)!;
    expect(executors).toBe('executors');
    for (const p of recipes) expect([p, result.dependencies[p]]).toEqual([p, expect.arrayContaining([executors])]);
  });

  it('every workspace file a step loads is in its hashed inputs (the executor loader too)', () => {
    for (const step of steps) {
      const hashed = new Set(result.inputs[step]!.files);
      expect([step, [...loaded[step]!, ...loader].filter((f) => !hashed.has(f))]).toEqual([step, []]);
    }
  });

  it('every recipe project’s step hashes the same files as alloy’s, but for its own recipe', () => {
    const recipeFile = (f: string) => recipes.some((p) => f.startsWith(`${result.nodes[p]!.root}/`));
    for (const step of steps.filter((s) => !s.startsWith('alloy:'))) {
      const same = `alloy:${step.split(':')[1]}`;
      expect([step, result.inputs[step]!.files.filter((f) => !recipeFile(f))]).toEqual([
        step,
        result.inputs[same]!.files.filter((f) => !recipeFile(f)),
      ]);
    }
  });

  it('every code file in a step’s hashed inputs belongs to a library the step loads', () => {
    for (const step of steps) {
      // The key follows the graph library by library: the other steps' executors, beside this one's, are hashed too.
      const libraries = new Set([...loaded[step]!, ...loader].map(owner));
      const code = result.inputs[step]!.files.filter((f) => CODE.test(f));
      expect([step, code.filter((f) => !libraries.has(owner(f)))]).toEqual([step, []]);
    }
  });

  it('editing a file of each library the steps load reruns exactly the steps that load that library', () => {
    const editedFiles = Object.keys(result.edits).filter((f) => anyLoaded.has(f));
    // every project whose files a step loads is tried: common, pipeline, the domain libs, the executors and their loader
    expect(new Set(editedFiles.map(owner))).toEqual(new Set([...Object.values(loaded).flatMap((s) => [...s]), ...loader].map(owner)));
    const loads = (step: string, project: string) => [...loaded[step]!, ...loader].some((f) => owner(f) === project);
    for (const file of editedFiles) {
      const rerun = edited.filter((s) => result.edits[file]![s] !== result.hashes[s]);
      expect([file, rerun]).toEqual([file, edited.filter((s) => loads(s, owner(file)))]);
    }
  });

  it('editing a file no step loads (tests, test peers, apps, benchmarks, docs) reruns nothing', () => {
    // A module only ever imported as a type (erased, so no bundle loads it) in a library the steps load is hashed
    // with that library: the key follows the graph library by library. It reruns exactly the steps loading the library.
    const loadedLibraries = new Set([...anyLoaded].map(owner));
    const typeOnly = (f: string) =>
      !anyLoaded.has(f) && loadedLibraries.has(owner(f)) && f.startsWith(`${owner(f)}/src/`) && !/\.test\.ts$/.test(f);
    const loads = (step: string, project: string) => [...loaded[step]!, ...loader].some((f) => owner(f) === project);
    for (const file of Object.keys(result.edits).filter(typeOnly)) {
      const rerun = edited.filter((s) => result.edits[file]![s] !== result.hashes[s]);
      expect([file, rerun]).toEqual([file, edited.filter((s) => loads(s, owner(file)))]);
    }
    const notLoaded = Object.keys(result.edits).filter((f) => !anyLoaded.has(f) && !typeOnly(f));
    expect(notLoaded.map(owner)).toEqual(
      expect.arrayContaining(['tools/test-peers', 'apps/nx-cache', 'apps/release-bot', 'libs/common', 'tools']),
    );
    for (const file of notLoaded) {
      expect([file, edited.filter((s) => result.edits[file]![s] !== result.hashes[s])]).toEqual([file, []]);
    }
    // every edit was undone: the hashes are back
    expect(result.after).toEqual(Object.fromEntries(edited.map((s) => [s, result.hashes[s]])));
  });

  it('keeps the trust inputs: recipe, upstream API URL, --zipDir content, key fingerprint, tool versions', () => {
    const recipe = {
      alloy: ['apps/alloy/sysext.json', 'apps/alloy/sysext.schema.json', 'apps/alloy/files/alloy.service'],
      'docker-compose': ['sysexts/docker-compose/sysext.json'],
    };
    for (const step of steps) {
      const [project] = step.split(':') as [keyof typeof recipe];
      expect(result.inputs[step]!.files).toEqual(expect.arrayContaining(recipe[project]));
      // one recipe's files are not another's input
      const others = Object.entries(recipe)
        .filter(([p]) => p !== project)
        .flatMap(([, files]) => files);
      expect([step, result.inputs[step]!.files.filter((f) => others.includes(f))]).toEqual([step, []]);
    }
    const env = (step: string) => result.inputs[step]!.environment;
    for (const p of recipes) {
      expect(env(`${p}:fetch`)).toEqual(expect.arrayContaining(['ALLOY_UPSTREAM_API_URL', 'ALLOY_ZIP_DIR_CONTENT']));
      expect(env(`${p}:sign`)).toContain('ALLOY_SIGNING_KEY_FINGERPRINT');
      expect(env(`${p}:manifest`)).toContain('ALLOY_SIGNING_KEY_FINGERPRINT');
      expect(env(`${p}:seal`)).toEqual(expect.arrayContaining(['ALLOY_SIGNING_KEY_FINGERPRINT', 'ALLOY_SEAL_RUN']));
      for (const step of [`${p}:image`, `${p}:sign`]) expect(result.inputs[step]!.runtime).toContain('sh tools/nx/tool-versions.sh');
    }
  });
});
