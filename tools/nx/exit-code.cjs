// Nx 23.2.1 exits 130 (as if interrupted by Ctrl-C) when a dependency task fails: the orchestrator never reports skipped
// tasks to its lifecycle, so run-command's didCommandComplete() finds tasks without a result and takes the run for
// interrupted. Preloaded into the nx CLI through .npmrc (with version-flag.cjs), this turns that 130 back into 1 unless
// the process really received a signal. Generated into .npmrc by tools/nx/write-npmrc.cjs.
if (/[\\/](nx[\\/](dist[\\/])?bin[\\/]nx\.js|\.bin[\\/]nx)$/.test(process.argv[1] || '')) {
  let signalled = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    const record = () => {
      signalled = true;
      // alone (Nx has not installed its handlers yet): behave as if nothing listened, i.e. die of the signal
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, record);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, record);
  }
  const exit = process.exit;
  process.exit = function (code) {
    return exit.call(process, code === 130 && !signalled ? 1 : code);
  };
}
