// Executor entry points (the collection is the root executors.json; see CONTRIBUTING.md for why it lives there). Nx
// loads executors with require(); ours are ESM TypeScript, so each entry imports its implementation from the executor
// bundle on first use (executor-bundle.cjs: rebuilt when a source changed, so there is no build step between editing and
// running).
const { importExecutor } = require('./executor-bundle.cjs');

function lazy(name) {
  return async function executor(options, context) {
    const mod = await importExecutor(name);
    return mod.default(options, context);
  };
}

module.exports = {
  fetch: lazy('fetch'),
  image: lazy('image'),
  sign: lazy('sign'),
  manifest: lazy('manifest'),
  seal: lazy('seal'),
  publish: lazy('publish'),
  pr: lazy('pr'),
};
