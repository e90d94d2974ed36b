// A tiny static file server on 127.0.0.1 for tests: serves one directory read-only (GET/HEAD), like a public bucket
// behind a CDN. Records requests so tests can assert what a client fetched.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface StaticServer {
  /** Base URL with a trailing slash, e.g. "http://127.0.0.1:40123/". */
  url: string;
  port: number;
  /** Requests seen so far: method, path, status. */
  requests: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

export interface StaticServerOptions {
  /** Directory to serve. Files are read on every request, so tests may change them between requests. */
  root: string;
  /** Default 0 (ephemeral). */
  port?: number;
  log?: (line: string) => void;
}

export async function startStaticServer(opts: StaticServerOptions): Promise<StaticServer> {
  const root = resolve(opts.root);
  const requests: StaticServer['requests'] = [];
  const server = createServer((req, res) => {
    handle(root, req, res)
      .catch(() => send(res, 500, 'internal error'))
      .finally(() => {
        const entry = { method: req.method ?? '', path: req.url ?? '', status: res.statusCode };
        requests.push(entry);
        opts.log?.(`${entry.method} ${entry.path} ${entry.status}`);
      });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests,
    close: () =>
      new Promise<void>((ok, fail) => {
        server.closeAllConnections();
        server.close((e) => (e ? fail(e) : ok()));
      }),
  };
}

async function handle(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
  let rel: string;
  try {
    rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    return send(res, 400, 'bad path');
  }
  const path = resolve(join(root, rel));
  // No escaping the served directory (e.g. /../etc/passwd or encoded dots).
  if (path !== root && !path.startsWith(root + sep)) return send(res, 403, 'forbidden');
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return send(res, 404, 'not found');
  res.writeHead(200, {
    'content-length': String(st.size),
    'content-type': 'application/octet-stream',
    'last-modified': st.mtime.toUTCString(),
  });
  if (req.method === 'HEAD') return void res.end();
  await new Promise<void>((ok, fail) => {
    const s = createReadStream(path);
    s.once('error', fail);
    res.once('close', ok);
    s.pipe(res);
  });
}

function send(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
