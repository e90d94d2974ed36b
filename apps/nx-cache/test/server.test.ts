import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createS3Store } from '@alloy-sysext/r2';
import { startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';
import { startNxCacheServer, type NxCacheServer } from '../src/server.js';
import { parseTokens } from '../src/tokens.js';

const RW = 'rw-token-0123456789abcdef';
const RO = 'ro-token-0123456789abcdef';

describe('nx-cache HTTP API over the S3 peer', () => {
  let peer: S3Peer;
  let server: NxCacheServer;
  const lines: string[] = [];
  beforeAll(async () => {
    peer = await startS3Peer({ bucket: 'cache' });
    const store = createS3Store({ bucket: peer.bucket, endpoint: peer.endpoint, ...peer.credentials, region: peer.region });
    server = await startNxCacheServer({ store, tokens: parseTokens(`read-write:${RW},read-only:${RO}`), log: (l) => lines.push(l) });
  });
  afterAll(async () => {
    await server.close();
    await peer.stop();
  });
  const call = (method: string, hash: string, token?: string, body?: Buffer) =>
    fetch(`${server.url}/v1/cache/${hash}`, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      body,
    });

  it('stores, serves, and refuses to overwrite an entry', async () => {
    const tar = Buffer.from('pretend tar bytes \x00\x01\x02', 'binary');
    expect((await call('GET', '12345', RW)).status).toBe(404);
    expect((await call('PUT', '12345', RW, tar)).status).toBe(200);
    const got = await call('GET', '12345', RO);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await got.arrayBuffer()).equals(tar)).toBe(true);
    expect((await call('PUT', '12345', RW, Buffer.from('other'))).status).toBe(409);
    expect(Buffer.from(await (await call('GET', '12345', RW)).arrayBuffer()).equals(tar)).toBe(true);
    expect(peer.requests.filter((r) => r.method === 'PUT' && r.key === 'nx-cache/12345').map((r) => r.status)).toEqual([200]);
  });

  it('read-only tokens cannot write; unknown or missing tokens get 401', async () => {
    expect((await call('PUT', '777', RO, Buffer.from('poison'))).status).toBe(403);
    expect((await call('PUT', '777', 'not-a-token-at-all-xx', Buffer.from('poison'))).status).toBe(401);
    expect((await call('GET', '12345')).status).toBe(401);
    expect((await call('GET', '..%2Fescape', RW)).status).toBe(404);
    expect(peer.requests.some((r) => r.key === 'nx-cache/777' && r.method === 'PUT')).toBe(false);
    expect(lines.join('\n')).not.toContain(RO);
  });

  it('rejects bad token configuration clearly', () => {
    expect(() => parseTokens('')).toThrow('NX_CACHE_TOKENS is empty');
    expect(() => parseTokens('admin:0123456789abcdef0')).toThrow('entry #1 must look like "read-write:<token>"');
    expect(() => parseTokens('read-only:short')).toThrow('token is shorter than 16 characters');
  });
});
