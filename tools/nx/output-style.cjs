// Nx's default output style off a TTY (CI logs, pipes) is "static", which holds a task's lines until it ends, so a long
// download or upload of the step targets looks like a hang. Preloaded into the nx CLI through .npmrc (with
// version-flag.cjs), this makes `nx run <project>:<step>` stream instead, through Nx's documented NX_DEFAULT_OUTPUT_STYLE, unless
// the user chose a style. On a TTY Nx's terminal UI already shows running tasks' output live.
if (
  /[\\/](nx[\\/](dist[\\/])?bin[\\/]nx\.js|\.bin[\\/]nx)$/.test(process.argv[1] || '') &&
  !process.stdout.isTTY &&
  !process.env.NX_DEFAULT_OUTPUT_STYLE &&
  process.argv.some((a) => /^[a-z][a-z0-9-]*:(fetch|image|sign|manifest|seal|publish|pr)(:|$)/.test(a)) &&
  !process.argv.some((a) => /^--(output-style|outputStyle)(=|$)/.test(a))
) {
  process.env.NX_DEFAULT_OUTPUT_STYLE = 'stream';
}
