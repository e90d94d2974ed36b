// Release reads through the one GitHub client, against the upstream release host double: what they return, what a
// missing release and an unreachable host say (the real cause, never "HTTP 500"), retries, and pagination.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { makeSyntheticBinary, startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { startStallPeer, type StallPeer } from '@alloy-sysext/test-peers/stall';
import { getReleaseByTag, listReleases, releaseClient } from '../src/index.js';

const fast = { retry: { retryAfterBaseValue: 1 }, throttle: { enabled: false } };
let host: UpstreamHost;

beforeAll(async () => {
  const tiny = { amd64: makeSyntheticBinary('amd64', 256) };
  host = await startUpstreamHost({
    releases: Array.from({ length: 103 }, (_, i) => ({ version: `1.${i}.0`, arches: ['amd64' as const], binaries: tiny })),
  });
});
afterAll(() => host?.stop());

describe('release reads', () => {
  it('getReleaseByTag: the release with its assets, digests and download URLs', async () => {
    const client = await releaseClient({ apiUrl: host.apiUrl, repo: 'grafana/alloy', ...fast });
    const release = await getReleaseByTag(client, 'grafana/alloy', 'v1.7.0');
    expect(release.tag_name).toBe('v1.7.0');
    expect(release.assets).toEqual([
      expect.objectContaining({
        name: 'alloy-linux-amd64.zip',
        digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
        browser_download_url: `${host.apiUrl}/grafana/alloy/releases/download/v1.7.0/alloy-linux-amd64.zip`,
      }),
    ]);
  });

  it('a missing release is named, with the request; a 502 is retried', async () => {
    const client = await releaseClient({ apiUrl: host.apiUrl, repo: 'grafana/alloy', ...fast });
    await expect(getReleaseByTag(client, 'grafana/alloy', 'v9.9.9')).rejects.toThrow(
      `release v9.9.9 not found in grafana/alloy (GET ${host.apiUrl}/repos/grafana/alloy/releases/tags/v9.9.9 → 404): check the version exists upstream`,
    );
    const before = host.requests.length;
    host.fail({ path: /\/tags\/v1\.2\.0$/, status: 502, times: 2 });
    expect((await getReleaseByTag(client, 'grafana/alloy', 'v1.2.0')).tag_name).toBe('v1.2.0');
    expect(host.requests.slice(before).map((r) => r.status)).toEqual([502, 502, 200]);
  });

  it('listReleases follows the pages (103 releases, 100 per page)', async () => {
    const client = await releaseClient({ apiUrl: host.apiUrl, repo: 'grafana/alloy', ...fast });
    const before = host.requests.length;
    const all = await listReleases(client, 'grafana/alloy');
    expect(all).toHaveLength(103);
    expect(all[0]!.tag_name).toBe('v1.102.0');
    expect(host.requests.slice(before).map((r) => r.path)).toEqual([
      '/repos/grafana/alloy/releases?per_page=100',
      '/repos/grafana/alloy/releases?per_page=100&page=2',
    ]);
  });

  it('a rate limit names the remedy', async () => {
    const client = await releaseClient({
      apiUrl: host.apiUrl,
      repo: 'grafana/alloy',
      retry: { enabled: false },
      throttle: { enabled: false },
    });
    host.fail({ path: /\/releases$/, status: 403, times: 1 });
    await expect(listReleases(client, 'grafana/alloy')).rejects.toThrow(
      'listing releases of grafana/alloy: HTTP 403 (rate limited? set GITHUB_TOKEN to raise the limit)',
    );
  });
});

describe('a host that cannot be reached is named as such, never as "HTTP 500"', () => {
  let stalled: StallPeer;
  beforeAll(async () => {
    stalled = await startStallPeer('silent');
  });
  afterAll(() => stalled?.stop());

  it('no answer within the deadline (a silent peer): fails after the retries, in bounded time', async () => {
    const client = await releaseClient({
      apiUrl: stalled.endpoint,
      repo: 'grafana/alloy',
      ...fast,
      retry: { retries: 1, retryAfterBaseValue: 1 },
      timeoutMs: 300,
    });
    const start = Date.now();
    const error = (await getReleaseByTag(client, 'grafana/alloy', 'v1.0.0').catch((e: Error) => e)) as Error;
    expect(error.message).toBe(
      `GET ${stalled.endpoint}/repos/grafana/alloy/releases/tags/v1.0.0: cannot reach ${stalled.endpoint} ` +
        `(GET ${stalled.endpoint}/repos/grafana/alloy/releases/tags/v1.0.0: no answer within 300 ms): a network failure, ` +
        "not an answer from GitHub; check the network (or the recipe's upstream.apiUrl)",
    );
    expect(error.message).not.toContain('500');
    expect(Date.now() - start).toBeLessThan(5_000);
    expect(stalled.requests.filter((r) => r.startsWith('GET /repos/grafana/alloy/releases/tags/v1.0.0 '))).toHaveLength(2);
  });

  it('a refused connection names ECONNREFUSED', async () => {
    // a port nothing listens on: bind one, note it, close it
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const apiUrl = `http://127.0.0.1:${port}`;
    const client = await releaseClient({ apiUrl, repo: 'grafana/alloy', ...fast, retry: { retries: 0 } });
    const error = (await listReleases(client, 'grafana/alloy').catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(
      new RegExp(
        `^listing releases of grafana/alloy: cannot reach ${apiUrl} \\(ECONNREFUSED: nothing accepts connections there\\): a network failure`,
      ),
    );
    expect(error.message).not.toContain('500');
  });
});
