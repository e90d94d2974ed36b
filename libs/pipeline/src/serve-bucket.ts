// The local directory bucket over HTTP, read-only, on 127.0.0.1: what systemd-sysupdate and Butane's `source:` fetch
// when nothing else (R2) is configured. Files only (no listings), GET and HEAD, nothing outside the bucket directory.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { contentTypeFor } from '@alloy-sysext/r2';

export interface ServedBucket {
  /** http://127.0.0.1:<port> (the bucket's root; the recipe prefix is a path under it) */
  url: string;
  close(): Promise<void>;
}

export async function serveBucket(opts: { dir: string; port: number; host?: string; log?: (line: string) => void }): Promise<ServedBucket> {
  const root = path.resolve(opts.dir);
  const server: Server = createServer((req, res) => {
    void answer(req.method ?? 'GET', req.url ?? '/').then(
      (r) => {
        opts.log?.(`${req.method} ${req.url} ${r.status}`);
        if (r.file) {
          res.writeHead(200, { 'content-type': contentTypeFor(r.file), 'content-length': r.size });
          if (req.method === 'HEAD') res.end();
          else
            createReadStream(r.file)
              .on('error', () => res.destroy())
              .pipe(res);
        } else {
          res.writeHead(r.status, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`${r.status}\n`);
        }
      },
      () => {
        res.writeHead(500).end();
      },
    );
  });

  async function answer(method: string, url: string): Promise<{ status: number; file?: string; size?: number }> {
    if (method !== 'GET' && method !== 'HEAD') return { status: 405 };
    let rel: string;
    try {
      rel = decodeURIComponent(new URL(url, 'http://bucket').pathname);
    } catch {
      return { status: 400 };
    }
    const segments = rel.split('/').filter(Boolean);
    if (segments.some((s) => s === '..' || s.startsWith('.'))) return { status: 404 };
    const file = path.join(root, ...segments);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) return { status: 404 };
    // a symlink out of the bucket is not served
    const real = await realpath(file);
    if (!real.startsWith((await realpath(root)) + path.sep)) return { status: 404 };
    return { status: 200, file: real, size: st.size };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    // open keep-alive connections (a sysupdate client, a browser) would hold the server open past close()
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
