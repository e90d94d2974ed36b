// Nx plugin of this workspace. Its one hook guards the alloy targets against Nx's reserved `--version` flag: when the
// nx CLI was not started through npx (so .npmrc's preload did not move the flag behind `--`), Nx would silently drop the
// value and run with no version. Fail before any task runs, with the forms that work.
exports.name = 'alloy-sysext';

exports.preTasksExecution = async (_options, context) => {
  const argv = context.argv;
  const end = argv.indexOf('--') === -1 ? argv.length : argv.indexOf('--');
  const flag = argv.slice(0, end).find((a) => a === '--version' || a.startsWith('--version='));
  if (!flag) return;
  const value = flag.includes('=') ? flag.slice('--version='.length) : '1.10.2';
  throw new Error(
    `Nx reserves --version and drops its value ("${flag}"), so nothing was run. Use one of:\n` +
      `  npx nx run alloy:publish --version=${value}      (npx loads .npmrc, which passes the flag through)\n` +
      `  nx run alloy:publish -- --version=${value}\n` +
      `  npm run release-bot -- release --version ${value}`,
  );
};
