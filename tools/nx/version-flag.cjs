// Nx reserves `--version`: `nx run alloy:publish --version=1.10.2` would drop the value (and `--version 1.10.2` prints Nx's
// own version). Preloaded into the nx CLI through .npmrc `node-options` (so `npx nx …` gets it), this moves the flag
// behind `--`, where Nx passes it to the task as the `version` option. Generated into .npmrc by tools/nx/write-npmrc.cjs.
const argv = process.argv;
if (/[\\/](nx[\\/](dist[\\/])?bin[\\/]nx\.js|\.bin[\\/]nx)$/.test(argv[1] || "") && argv[2] !== "--version") {
  const end = argv.indexOf('--') === -1 ? argv.length : argv.indexOf('--');
  const moved = [];
  for (let i = 3; i < end; i++) {
    if (argv[i].startsWith('--version=')) moved.push(...argv.splice(i--, 1));
    else if (argv[i] === '--version' && i + 1 < end && !argv[i + 1].startsWith('-')) moved.push('--version=' + argv.splice(i--, 2)[1]);
    else continue;
    break;
  }
  if (moved.length) argv.indexOf('--') === -1 ? argv.push('--', ...moved) : argv.splice(argv.indexOf('--') + 1, 0, ...moved);
}
