// Executor entry points. Nx loads executors with require(); ours are ESM TypeScript, so each entry imports its
// implementation through tsx on first use (no build step between editing and running).
const { tsImport } = require('tsx/esm/api');

function lazy(name) {
  return async function executor(options, context) {
    const mod = await tsImport(`../src/executors/${name}/executor.ts`, __filename);
    return mod.default(options, context);
  };
}

module.exports = {
  fetch: lazy('fetch'),
  image: lazy('image'),
  sign: lazy('sign'),
  manifest: lazy('manifest'),
  publish: lazy('publish'),
  pr: lazy('pr'),
};
