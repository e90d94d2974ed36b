/** Download progress for humans: a redrawn bar on a TTY, a line per 10% (or per 25 MiB when the size is unknown) otherwise. */
export function progressReporter(stream: NodeJS.WriteStream = process.stdout) {
  const last = new Map<string, number>();
  return (p: { asset: string; received: number; total?: number }) => {
    const mib = (n: number) => (n / 1048576).toFixed(1);
    if (stream.isTTY) {
      const width = 30;
      const ratio = p.total ? Math.min(1, p.received / p.total) : 0;
      const bar = p.total ? '#'.repeat(Math.round(ratio * width)).padEnd(width, '.') : '';
      stream.write(`\r${p.asset} [${bar}] ${mib(p.received)}${p.total ? `/${mib(p.total)}` : ''} MiB`);
      if (p.total && p.received >= p.total) stream.write('\n');
      return;
    }
    const step = p.total ? Math.floor((p.received / p.total) * 10) : Math.floor(p.received / (25 * 1048576));
    if (last.get(p.asset) === step) return;
    last.set(p.asset, step);
    stream.write(`${p.asset}: ${mib(p.received)}${p.total ? ` of ${mib(p.total)}` : ''} MiB\n`);
  };
}
