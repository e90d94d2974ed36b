import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { mirrorFiles } from '../src/mirror.js';

let github: GitHubDouble;
const log = () => {};
const files = (sums: string) => [
  { path: 'manifests/alloy/SHA256SUMS', content: Buffer.from(sums) },
  { path: 'manifests/alloy/SHA256SUMS.gpg', content: Buffer.from(`-----BEGIN PGP SIGNATURE-----\n${sums.length}\n`) },
];

beforeAll(async () => {
  github = await startGitHubDouble();
  github.seedRepo({ owner: 'acme', repo: 'sysext-manifests', defaultBranch: 'main' });
});
afterAll(() => github.stop());

describe('mirrorFiles (Contents API)', () => {
  it('commits both files, then makes no write when they already match', async () => {
    // the same request twice: the first commits, the second finds both files in place
    const request = {
      repo: 'acme/sysext-manifests',
      branch: 'main',
      files: files('a  alloy-1.0.0-amd64.raw\n'),
      auth: { token: github.token() },
      message: 'm',
      githubUrl: github.url,
      log,
    };
    const first = await mirrorFiles(request);
    expect(first.written).toEqual(['manifests/alloy/SHA256SUMS', 'manifests/alloy/SHA256SUMS.gpg']);
    expect(github.readFile('acme', 'sysext-manifests', 'main', 'manifests/alloy/SHA256SUMS')).toBe('a  alloy-1.0.0-amd64.raw\n');

    const before = github.writes().length;
    const second = await mirrorFiles(request);
    expect(second.written).toEqual([]);
    expect(github.writes().length).toBe(before);
  });

  it('updates over a human commit (passing the current sha) and converges after a 409', async () => {
    github.commitAs(
      'acme',
      'sysext-manifests',
      'main',
      { 'manifests/alloy/SHA256SUMS': 'edited by hand\n' },
      { message: 'hand edit', login: 'someone' },
    );
    github.fail({ method: 'PUT', path: /\/contents\/manifests(%2F|\/)alloy(%2F|\/)SHA256SUMS$/, status: 409, times: 1 });
    const result = await mirrorFiles({
      repo: 'acme/sysext-manifests',
      branch: 'main',
      files: files('b  alloy-1.1.0-amd64.raw\n'),
      auth: { token: github.token() },
      message: 'm',
      githubUrl: github.url,
      log,
      retry: { retryAfterBaseValue: 1 },
    });
    expect(result.written).toContain('manifests/alloy/SHA256SUMS');
    expect(github.requests.some((r) => r.method === 'PUT' && r.status === 409)).toBe(true);
    expect(github.readFile('acme', 'sysext-manifests', 'main', 'manifests/alloy/SHA256SUMS')).toBe('b  alloy-1.1.0-amd64.raw\n');
  });

  it('names a missing branch instead of creating files on it', async () => {
    await expect(
      mirrorFiles({
        repo: 'acme/sysext-manifests',
        branch: 'nope',
        files: files('x\n'),
        auth: { token: github.token() },
        message: 'm',
        githubUrl: github.url,
        log,
      }),
    ).rejects.toThrow(/nope/);
  });
});
