// Preloaded into the nx CLI through .npmrc: when the plugin ran on the Nx daemon and let this run go on without an
// unreachable shared cache (ALLOY_NX_CACHE_OPTIONAL=true, see remote-cache-probe.cjs), its warning came back in the
// environment rather than on the terminal; print it when nx exits, after the tasks' output.
if (/[\\/](nx[\\/](dist[\\/])?bin[\\/]nx\.js|\.bin[\\/]nx)$/.test(process.argv[1] || '')) {
  process.on('exit', () => {
    if (process.env.ALLOY_NX_CACHE_WARNING) process.stderr.write(`\n${process.env.ALLOY_NX_CACHE_WARNING}\n`);
  });
}
