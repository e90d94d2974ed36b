// Consumer files over the Contents API's 1 MB: read through the git blobs API, up to MAX_CONSUMER_FILE_BYTES.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { createGitHubClient } from '@alloy-sysext/github';
import { updateConsumer } from '../src/index.js';
import { MAX_CONSUMER_FILE_BYTES, readRepoFile } from '../src/read-file.js';

const GHOST = readFileSync(fileURLToPath(new URL('./fixtures/ghost.bu', import.meta.url)), 'utf8');
const PATH = 'opentofu/modules/vultr/instance/userdata/ghost.bu';
const H1 = '1'.repeat(64);
/** The fixture grown past 1 MB with a YAML comment (a Butane file with a large inline file would be as big). */
const padded = (bytes: number) => `${GHOST}# ${'x'.repeat(bytes - GHOST.length - 3)}\n`;

let gh: GitHubDouble;
let out: string;
let seq = 0;
const fast = { retry: { retryAfterBaseValue: 1 }, throttle: { enabled: false } };

beforeAll(async () => {
  gh = await startGitHubDouble();
  out = await mkdtemp(join(tmpdir(), 'ghost-stack-large-'));
});
afterAll(async () => {
  await gh?.stop();
  if (out) await rm(out, { recursive: true, force: true });
});

function seed(content: string) {
  const owner = 'noahwhite';
  const repo = `large-${++seq}`;
  gh.seedRepo({ owner, repo, defaultBranch: 'develop', branches: { develop: { [PATH]: content } } });
  return { owner, repo };
}

describe('consumer files over 1 MB', () => {
  it('the GitHub double refuses them on the Contents API as GitHub does (403 too_large)', async () => {
    const { owner, repo } = seed(padded(1.5 * 1024 * 1024));
    const res = await fetch(`${gh.url}/repos/${owner}/${repo}/contents/${PATH}?ref=develop`, {
      headers: { authorization: `token ${gh.token()}` },
    });
    expect(res.status).toBe(403);
    expect(JSON.stringify(await res.json())).toContain('too_large');
  });

  it('are read whole through the git blobs API', async () => {
    const text = padded(1.5 * 1024 * 1024);
    const { owner, repo } = seed(text);
    const client = await createGitHubClient({ auth: { token: gh.token() }, repo: `${owner}/${repo}`, baseUrl: gh.url, ...fast });
    expect(await readRepoFile(client, { owner, repo, path: PATH, ref: 'develop' })).toBe(text);
    expect(gh.requests.some((r) => r.path.startsWith(`/repos/${owner}/${repo}/git/blobs/`))).toBe(true);
  });

  it('a pull request bumps a 1.5 MB Butane file, changing only the alloy lines', async () => {
    const text = padded(1.5 * 1024 * 1024);
    const { owner, repo } = seed(text);
    const r = await updateConsumer({
      consumer: { name: 'ghost-stack', repo: `${owner}/${repo}`, path: PATH, base: 'develop', arch: 'amd64', auth: { token: gh.token() } },
      version: '1.10.2',
      sha256: H1,
      release: { url: 'https://github.com/grafana/alloy/releases/tag/v1.10.2' },
      imageUrl: 'https://sysext.example.com/alloy/alloy-1.10.2-amd64.raw',
      githubUrl: gh.url,
      outDir: out,
      octokitOptions: fast,
    });
    expect(r.status).toBe('opened');
    const after = gh.readFile(owner, repo, gh.pulls(owner, repo)[0]!.head, PATH)!;
    expect(after.length).toBe(text.length);
    expect(after).toContain(`sha256-${H1}`);
    expect(after.endsWith(text.slice(-1000))).toBe(true);
  });

  it(`over the ${MAX_CONSUMER_FILE_BYTES / 1024 / 1024} MiB cap: refused, naming the size and the cap`, async () => {
    const text = padded(MAX_CONSUMER_FILE_BYTES + 1);
    const { owner, repo } = seed(text);
    const client = await createGitHubClient({ auth: { token: gh.token() }, repo: `${owner}/${repo}`, baseUrl: gh.url, ...fast });
    await expect(readRepoFile(client, { owner, repo, path: PATH, ref: 'develop' })).rejects.toThrow(
      `${PATH} in ${owner}/${repo} is ${Buffer.byteLength(text)} bytes, over the 10 MiB limit for a consumer file`,
    );
  });
});
