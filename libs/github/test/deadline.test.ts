import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startStallPeer, type StallPeer } from '@alloy-sysext/test-peers/stall';
import { createGitHubClient } from '../src/index.js';

// Octokit has no deadline of its own: without one, a GitHub that accepts and never answers hangs the pr step.
describe.each(['silent', 'stall-body'] as const)('GitHub requests against a %s peer', (mode) => {
  let peer: StallPeer;
  beforeAll(async () => {
    peer = await startStallPeer(mode);
  });
  afterAll(async () => peer.stop());

  it('fail after the retries in bounded time, naming the request', async () => {
    const client = await createGitHubClient({
      auth: { token: 'not-a-real-token' },
      repo: 'owner/repo',
      baseUrl: peer.endpoint,
      timeoutMs: 300,
      retry: { retries: 1, retryAfterBaseValue: 1 },
      throttle: { enabled: false },
    });
    const start = Date.now();
    const err = (await client.request('GET /repos/{owner}/{repo}', { owner: 'owner', repo: 'repo' }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe(`GET ${peer.endpoint}/repos/owner/repo: no answer within 300 ms`);
    expect(Date.now() - start).toBeLessThan(5_000);
    expect(peer.requests.filter((r) => r.startsWith('GET /repos/owner/repo '))).toHaveLength(2);
  });
});
