// Project graph edges from what a project's targets run: a project with a target using one of this workspace's own
// executors (the collection the root package.json names) depends on the project holding that executor's source (its
// directory, beside its schema: project `executors`, tools/src/executors). The step targets hash `^stepSources`, so
// this edge is what brings the executors, and through their imports every library they load, into a step's cache key;
// no project list is kept by hand (issue 21). The executors are a project of their own, not part of `tools`, so that
// what touches `tools` (its tests' inputs take every file under apps/ and libs/) does not make every recipe affected.
const fs = require('node:fs');
const path = require('node:path');

/** Executor name → its source's schema file (workspace-relative) in the workspace's own collection, and its names. */
function workspaceExecutors(workspaceRoot) {
  const pkg = JSON.parse(fs.readFileSync(path.join(workspaceRoot, 'package.json'), 'utf8'));
  if (!pkg.executors) return { names: [], files: new Map() };
  const collection = path.join(workspaceRoot, pkg.executors);
  const { executors } = JSON.parse(fs.readFileSync(collection, 'utf8'));
  const files = new Map();
  for (const [name, entry] of Object.entries(executors ?? {})) {
    const file = path.resolve(path.dirname(collection), String(entry.schema));
    files.set(name, path.relative(workspaceRoot, file).split(path.sep).join('/'));
  }
  // Targets name the collection as "." or by the root package's name.
  return { names: ['.', pkg.name], files };
}

/** The project whose root holds `file` (the deepest one, as Nx assigns files). */
function owningProject(projects, file) {
  let owner;
  for (const [name, project] of Object.entries(projects)) {
    const root = project.root === '.' ? '' : `${project.root}/`;
    if (file.startsWith(root) && (!owner || root.length > owner.root.length)) owner = { name, root };
  }
  return owner?.name;
}

/** Nx `createDependencies`: one implicit edge per (project, project holding an executor one of its targets runs). */
function createDependencies(_options, context) {
  const { names, files } = workspaceExecutors(context.workspaceRoot);
  const edges = new Map();
  for (const [source, project] of Object.entries(context.projects)) {
    for (const target of Object.values(project.targets ?? {})) {
      const [collection, name] = String(target.executor ?? '').split(':');
      if (!names.includes(collection) || !files.has(name)) continue;
      const owner = owningProject(context.projects, files.get(name));
      if (owner && owner !== source) edges.set(`${source}\0${owner}`, { source, target: owner, type: 'implicit' });
    }
  }
  return [...edges.values()];
}

module.exports = { createDependencies, workspaceExecutors, owningProject };
