// A pass-through HTTP proxy in front of the S3 peer that can hold matching requests until N of them are waiting, then
// lets them all go at once. Two publishers are separate nx processes whose timing the test cannot control; holding
// their SHA256SUMS writes until both have read the old manifest makes the compare-and-swap race happen for sure.
// Requests are forwarded byte for byte with their original headers (SigV4 signs the Host header, which stays as sent).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BarrierProxy {
  url: string;
  /** Hold requests matching `method` + `path` until `count` are waiting (or `timeoutMs` passed); resolves how it ended. */
  arm(opts: { method: string; path: string; count: number; timeoutMs: number }): Promise<'released' | 'timed out'>;
  close(): Promise<void>;
}

export async function startBarrierProxy(target: string): Promise<BarrierProxy> {
  let barrier:
    | {
        method: string;
        path: string;
        count: number;
        waiting: Array<() => void>;
        done: (how: 'released' | 'timed out') => void;
        timer: NodeJS.Timeout;
      }
    | undefined;

  const release = (how: 'released' | 'timed out') => {
    const b = barrier!;
    barrier = undefined;
    clearTimeout(b.timer);
    for (const go of b.waiting) go();
    b.done(how);
  };

  const server = http.createServer((req, res) => {
    const forward = () => {
      const upstream = http.request(`${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    const pathname = new URL(req.url ?? '/', 'http://proxy').pathname;
    if (barrier && req.method === barrier.method && decodeURIComponent(pathname) === barrier.path) {
      barrier.waiting.push(forward);
      if (barrier.waiting.length >= barrier.count) release('released');
      return;
    }
    forward();
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arm: (opts) =>
      new Promise((done) => {
        if (barrier) throw new Error('barrier already armed');
        barrier = { ...opts, waiting: [], done, timer: setTimeout(() => release('timed out'), opts.timeoutMs) };
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (barrier) release('timed out');
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
