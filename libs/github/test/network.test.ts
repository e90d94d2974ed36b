// A GitHub that cannot be reached is named as a network failure, with no credential advice (issue 22, item 5): Octokit
// reports such a request as "HTTP 500" without a response. A real 500 from GitHub is still GitHub's answer.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStallPeer, type StallPeer } from '@alloy-sysext/test-peers/stall';
import { createGitHubClient, explainGitHubError, GitHubError } from '../src/index.js';

const ctx = { kind: 'none' as const, repo: 'owner/repo' };
async function failure(baseUrl: string, timeoutMs?: number): Promise<GitHubError> {
  const client = await createGitHubClient({
    auth: {},
    repo: 'owner/repo',
    baseUrl,
    timeoutMs,
    retry: { enabled: false },
    throttle: { enabled: false },
  });
  const error = await client.request('GET /repos/{owner}/{repo}', { owner: 'owner', repo: 'repo' }).catch((e: unknown) => e);
  return explainGitHubError(error, 'reading owner/repo', ctx) as GitHubError;
}

/** A port nothing listens on (fetch refuses well-known "bad" ports such as 9 before connecting). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('GitHub out of reach', () => {
  let stall: StallPeer;
  let server500: Server;
  let url500: string;
  beforeAll(async () => {
    stall = await startStallPeer('silent');
    server500 = createServer((_req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"boom"}'));
    await new Promise<void>((resolve) => server500.listen(0, '127.0.0.1', resolve));
    url500 = `http://127.0.0.1:${(server500.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await stall.stop();
    await new Promise((resolve) => server500.close(resolve));
  });

  it.each([
    [
      'a host name that does not resolve',
      'http://api.github.invalid',
      'cannot reach http://api.github.invalid (ENOTFOUND: the host name does not resolve)',
    ],
    [
      'a refused connection',
      'http://127.0.0.1:<closed>',
      'cannot reach http://127.0.0.1:<closed> (ECONNREFUSED: nothing accepts connections there)',
    ],
  ])('%s: a network failure, not "GitHub answered 500", and no credential advice', async (_, url, message) => {
    const closed = String(await closedPort());
    const [baseUrl, expected] = [url.replace('<closed>', closed), message.replace('<closed>', closed)];
    const error = await failure(baseUrl);
    expect(error.kind).toBe('network');
    expect(error.message).toContain(`reading owner/repo: ${expected}: a network failure, not an answer from GitHub`);
    expect(error.message).not.toMatch(/answered|HTTP 500|credential|App|token/);
  });

  it('no answer within the deadline: named with the limit', async () => {
    const error = await failure(stall.endpoint, 300);
    expect(error.kind).toBe('network');
    expect(error.message).toContain(`cannot reach ${stall.endpoint} (GET ${stall.endpoint}/repos/owner/repo: no answer within 300 ms)`);
  });

  it('a 500 GitHub really answered stays its answer', async () => {
    const error = await failure(url500);
    expect(error.kind).toBeUndefined();
    expect(error.message).toBe('reading owner/repo: GitHub answered 500 (HTTP 500: boom)');
  });
});
