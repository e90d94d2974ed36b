// Nx reserves `--version`: `nx run alloy:publish --version=1.10.2` would drop the value (and `--version 1.10.2` prints Nx's
// own version and exits 0). Preloaded into the nx CLI through .npmrc `node-options` (so `npx nx …` gets it), this renames
// the flag in place to `--sysextVersion`, an option Nx does not reserve and every step executor declares, so every other
// option keeps parsing where it was written. A tag-style `v1.10.2` loses its `v` here (anything else is
// left as typed, so the plugin's refusal names it): the targets' outputs are named by
// the option's value, and the steps write under the normalized version (dist/<name>/1.10.2), so the two must agree.
// Generated into .npmrc by tools/nx/write-npmrc.cjs.
const argv = process.argv;
const value = (v) => (/^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(v) ? v.slice(1) : v);
if (/[\\/](nx[\\/](dist[\\/])?bin[\\/]nx\.js|\.bin[\\/]nx)$/.test(argv[1] || '') && argv[2] !== '--version') {
  for (let i = 3; i < argv.length; i++) {
    if (argv[i].startsWith('--version=')) argv[i] = '--sysextVersion=' + value(argv[i].slice('--version='.length));
    else if (argv[i] === '--version' && i + 1 < argv.length && !argv[i + 1].startsWith('-'))
      argv.splice(i, 2, '--sysextVersion=' + value(argv[i + 1]));
    else if (argv[i] === '--version') argv[i] = '--sysextVersion=';
  }
}
