import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { startStallPeer } from '@alloy-sysext/test-peers/stall';

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), '../src/main.ts');
const RW = 'cli-rw-0123456789abcdef';

describe('nx-cache CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nx-cache-cli-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));
  const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('R2_') && !k.startsWith('NX_CACHE')));

  it('serves from the local directory store when no R2 credentials are set', async () => {
    const store = path.join(dir, 'store');
    const child = execa(process.execPath, ['--import', 'tsx', main, '--port', '0', '--directory', store], {
      env: { ...cleanEnv(), NX_CACHE_TOKENS: `read-write:${RW}` },
      extendEnv: false,
      reject: false,
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once('exit', () => reject(new Error(`exited early: ${out}`)));
      });
      const put = await fetch(`${url}/v1/cache/42`, { method: 'PUT', headers: { authorization: `Bearer ${RW}` }, body: 'entry' });
      expect(put.status).toBe(200);
      expect(await readFile(path.join(store, 'nx-cache', '42'), 'utf8')).toBe('entry');
      expect(await readdir(store)).toEqual(['nx-cache']);
    } finally {
      child.kill('SIGTERM');
      await child;
    }
  });

  it('answers 500 in bounded time when its store hangs, logging the endpoint and the key', async () => {
    const hung = await startStallPeer('silent');
    const child = execa(process.execPath, ['--import', 'tsx', main, '--port', '0', '--bucket', 'cache-bucket'], {
      env: {
        ...cleanEnv(),
        NX_CACHE_TOKENS: `read-write:${RW}`,
        R2_ENDPOINT: hung.endpoint,
        R2_ACCESS_KEY_ID: 'id',
        R2_SECRET_ACCESS_KEY: 'secret',
        R2_REQUEST_TIMEOUT_MS: '200',
      },
      extendEnv: false,
      reject: false,
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const look = () => {
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        };
        child.stdout!.on('data', look);
        child.once('exit', () => reject(new Error(`exited early: ${out}`)));
      });
      const start = Date.now();
      const got = await fetch(`${url}/v1/cache/4242`, { headers: { authorization: `Bearer ${RW}` } });
      expect(got.status).toBe(500);
      expect(Date.now() - start).toBeLessThan(15_000);
      expect(out).toContain(
        `${hung.endpoint} accepted the connection but stopped answering (no response within 200 ms, R2_REQUEST_TIMEOUT_MS) during GET "nx-cache/4242"`,
      );
      expect(hung.requests[0]).toBe('GET /cache-bucket/nx-cache/4242?x-id=GetObject HTTP/1.1');
    } finally {
      child.kill('SIGTERM');
      await child;
      await hung.stop();
    }
  });

  it('refuses to start without tokens, saying what to set', async () => {
    const r = await execa(process.execPath, ['--import', 'tsx', main, '--port', '0'], { env: cleanEnv(), extendEnv: false, reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('NX_CACHE_TOKENS is empty');
  });
});
