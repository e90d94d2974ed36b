// Child of step-inputs.test.ts, run in a copy of the workspace (its cwd): Nx's own hasher (the one `nx run` uses without
// the daemon) hashes the tasks of `nx run <project>:<target>` with the given options, then again after each edit of a
// file, each edit undone before the next. Prints {hashes, inputs, edits}, and the resolved projects, as JSON on stdout.
//   node step-hashes.child.cjs '{"projects":["alloy"],"target":"manifest","options":{...},"edits":["libs/x/src/y.ts"]}'
// Without "projects": every project whose target runs one of the workspace's own executors. With "editProjects", only
// their tasks are hashed again after each edit (the others' inputs are listed once).
const fs = require('node:fs');
const path = require('node:path');

process.env.NX_DAEMON = 'false';
const root = process.cwd();
const nx = (module) => require(path.join(root, 'node_modules/nx/dist/src', module));
const { createProjectGraphAsync } = nx('project-graph/project-graph.js');
const { createTaskGraph } = nx('tasks-runner/create-task-graph.js');
const { InProcessTaskHasher } = nx('hasher/task-hasher.js');
const { readNxJson } = nx('config/nx-json.js');
const context = nx('utils/workspace-context.js');

// A line each kind of file takes without changing what it does.
const EDIT = { '.md': '\nedited\n', '.sh': '\n# edited\n' };

async function main() {
  const { projects: names, editProjects, target, options, edits } = JSON.parse(process.argv[2]);
  const graph = await createProjectGraphAsync({ exitOnError: false });
  const nxJson = readNxJson(root);
  const roots = Object.fromEntries(Object.values(graph.nodes).map((n) => [n.data.root, n.name]));
  // by default every project whose `target` runs one of this workspace's executors (every recipe project)
  const ours = (n) => String(n.data.targets?.[target]?.executor ?? '').startsWith('.:');
  const tasks = createTaskGraph(
    graph,
    {},
    names ??
      Object.values(graph.nodes)
        .filter(ours)
        .map((n) => n.name),
    [target],
    undefined,
    options,
  );

  // The file hashes as the workspace context holds them now (it is told of each edit, as the daemon's watcher does).
  async function hashAll(collectInputs, only) {
    const { externalReferences } = await context.getNxWorkspaceFilesFromContext(root, roots);
    const hasher = new InProcessTaskHasher(graph, nxJson, externalReferences);
    const hashes = {};
    const inputs = {};
    for (const task of Object.values(tasks.tasks).filter((t) => !only || only.includes(t.target.project))) {
      const hash = await hasher.hashTask(task, tasks, process.env, root, collectInputs);
      hashes[task.id] = hash.value;
      if (collectInputs) inputs[task.id] = hash.inputs;
    }
    return { hashes, inputs };
  }

  const { hashes, inputs } = await hashAll(true);
  const edited = {};
  for (const file of edits) {
    const original = fs.readFileSync(file);
    fs.appendFileSync(file, EDIT[path.extname(file)] ?? '\n// edited\n');
    context.updateFilesInContext(root, [file], []);
    try {
      edited[file] = (await hashAll(false, editProjects)).hashes;
    } finally {
      fs.writeFileSync(file, original);
      context.updateFilesInContext(root, [file], []);
    }
  }
  const projects = Object.fromEntries(Object.values(graph.nodes).map((n) => [n.name, n.data.root]));
  // the resolved project configurations (project.json and the plugins' inferred ones merged) and the graph's edges
  const nodes = Object.fromEntries(Object.values(graph.nodes).map((n) => [n.name, { root: n.data.root, targets: n.data.targets }]));
  const dependencies = Object.fromEntries(Object.entries(graph.dependencies).map(([p, ds]) => [p, ds.map((d) => d.target)]));
  const after = (await hashAll(false, editProjects)).hashes;
  process.stdout.write(JSON.stringify({ projects, nodes, dependencies, hashes, inputs, edits: edited, after }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
