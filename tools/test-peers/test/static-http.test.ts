import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { request } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStaticServer, type StaticServer } from '../src/static-http.js';

let dir: string;
let server: StaticServer;
const lines: string[] = [];

/** Raw request, so the path reaches the server exactly as written (fetch would normalize ".."). */
function get(path: string, method = 'GET'): Promise<{ status: number; body: string; length?: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), length: res.headers['content-length'] }));
    });
    req.on('error', fail);
    req.end();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'static-http-'));
  await mkdir(join(dir, 'www/sub'), { recursive: true });
  await writeFile(join(dir, 'www/SHA256SUMS'), 'sums\n');
  await writeFile(join(dir, 'www/sub/a b.raw'), 'payload');
  await writeFile(join(dir, 'secret'), 'outside');
  server = await startStaticServer({ root: join(dir, 'www'), log: (l) => lines.push(l) });
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('static-http peer', () => {
  it('serves files on 127.0.0.1 with GET and HEAD, and reports requests', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect(await get('/SHA256SUMS')).toEqual({ status: 200, body: 'sums\n', length: '5' });
    expect(await get('/sub/a%20b.raw')).toMatchObject({ status: 200, body: 'payload' });
    expect(await get('/sub/a%20b.raw', 'HEAD')).toEqual({ status: 200, body: '', length: '7' });
    expect(await get('/missing')).toMatchObject({ status: 404 });
    expect(await get('/sub')).toMatchObject({ status: 404 }); // no directory listings
    expect(await get('/SHA256SUMS', 'PUT')).toMatchObject({ status: 405 });
    expect(server.requests.slice(0, 2)).toEqual([
      { method: 'GET', path: '/SHA256SUMS', status: 200 },
      { method: 'GET', path: '/sub/a%20b.raw', status: 200 },
    ]);
    expect(lines[0]).toBe('GET /SHA256SUMS 200');
  });

  it('never serves files outside its root', async () => {
    for (const p of ['/../secret', '/%2e%2e/secret', '/..%2fsecret', '/sub/..%2f..%2fsecret']) {
      const r = await get(p);
      expect({ p, status: r.status === 403 || r.status === 404 }).toEqual({ p, status: true });
      expect(r.body).not.toContain('outside');
    }
  });
});
