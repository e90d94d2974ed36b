// Transfer progress for humans, one module for downloads (fetch) and uploads (publish): bytes, rate and ETA, redrawn in
// place on a TTY; in logs (CI, Nx capturing output) a line every few seconds, so a stalled transfer shows as one.

export interface TransferProgress {
  /** What moves: an asset or object key. */
  name: string;
  done: number;
  total?: number;
}

export interface ProgressOptions {
  stream?: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean };
  /** Seconds between lines when not on a TTY (default 5). */
  intervalSeconds?: number;
  /** Transfers smaller than this print nothing (default 1 MiB): a progress line for a .sha256 file is noise. */
  minBytes?: number;
  now?: () => number;
}

const MiB = 1024 * 1024;

/** A reporter to hand to a transfer's progress callback; call it with every progress event. */
export function progressReporter(opts: ProgressOptions = {}): (p: TransferProgress) => void {
  const stream = opts.stream ?? process.stdout;
  const interval = (opts.intervalSeconds ?? 5) * 1000;
  const minBytes = opts.minBytes ?? MiB;
  const now = opts.now ?? Date.now;
  const transfers = new Map<string, { started: number; lastLine: number; finished: boolean }>();
  return (p) => {
    if ((p.total ?? p.done) < minBytes) return;
    const t = now();
    let state = transfers.get(p.name);
    if (!state || (state.finished && p.done < (p.total ?? Infinity))) {
      state = { started: t, lastLine: t, finished: false };
      transfers.set(p.name, state);
    }
    if (state.finished) return;
    const finished = p.total !== undefined && p.done >= p.total;
    if (stream.isTTY) {
      stream.write(`\r\x1b[2K${describeProgress(p, t - state.started)}${finished ? '\n' : ''}`);
    } else if (finished || t - state.lastLine >= interval) {
      state.lastLine = t;
      stream.write(`${describeProgress(p, t - state.started)}\n`);
    }
    state.finished = finished;
  };
}

/** "alloy-linux-amd64.zip 12.0/48.0 MiB (25%) 4.0 MiB/s, ETA 9s" */
export function describeProgress(p: TransferProgress, elapsedMs: number): string {
  const mib = (n: number) => (n / MiB).toFixed(1);
  const rate = elapsedMs > 0 ? p.done / (elapsedMs / 1000) : 0;
  const parts = [`${p.name} ${mib(p.done)}${p.total !== undefined ? `/${mib(p.total)}` : ''} MiB`];
  if (p.total) parts.push(`(${Math.floor((p.done / p.total) * 100)}%)`);
  if (p.total !== undefined && p.done >= p.total) {
    parts.push(`done in ${formatSeconds(elapsedMs / 1000)}${rate > 0 ? `, ${mib(rate)} MiB/s` : ''}`);
  } else if (rate > 0) {
    parts.push(`${mib(rate)} MiB/s${p.total ? `, ETA ${formatSeconds((p.total - p.done) / rate)}` : ''}`);
  } else {
    parts.push('waiting for data');
  }
  return parts.join(' ');
}

function formatSeconds(s: number): string {
  const whole = Math.max(0, Math.round(s));
  return whole >= 60 ? `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s` : `${whole}s`;
}
