// The pr step's consumer updates take the sysext from the recipe: a docker-compose recipe bumps the docker-compose entry
// of the real ghost.bu (pinned from Flatcar's sysext-bakery) on a branch of its own, and no other byte of the file.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { versionLayout } from '../src/layout.js';
import type { Recipe } from '../src/recipe.js';
import { updateConsumers } from '../src/update-consumers.js';

const GHOST = fileURLToPath(new URL('../../ghost-stack/test/fixtures/ghost.bu', import.meta.url));
const GHOST_PATH = 'opentofu/modules/vultr/instance/userdata/ghost.bu';
const SHA = 'c0ffee00'.repeat(8);
const OLD = '8a3c0fd2bb61e1c3a4d0ad5b1b5b8d0f9cf8c57e1cc3b59f4e83a0b2f1a45d21';

let dir: string;
let gh: GitHubDouble;
let upstream: UpstreamHost;
const saved = { api: process.env.ALLOY_GITHUB_API_URL, token: process.env.GHOST_TEST_TOKEN };

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'update-consumers-'));
  gh = await startGitHubDouble({ validateResponses: true });
  upstream = await startUpstreamHost({ repo: 'docker/compose', releases: [{ version: '2.29.1', arches: ['amd64'] }] });
  process.env.ALLOY_GITHUB_API_URL = gh.url;
  process.env.GHOST_TEST_TOKEN = gh.token();
});
afterAll(async () => {
  for (const [k, v] of [
    ['ALLOY_GITHUB_API_URL', saved.api],
    ['GHOST_TEST_TOKEN', saved.token],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await Promise.all([gh?.stop(), upstream?.stop(), rm(dir, { recursive: true, force: true })]);
});

/** A docker-compose recipe (the shape of sysexts/docker-compose) whose one consumer is ghost-stack's file. */
function composeRecipe(): Recipe {
  return {
    dir,
    file: path.join(dir, 'sysext.json'),
    name: 'docker-compose',
    upstream: { repo: 'docker/compose', apiUrl: upstream.apiUrl, asset: 'docker-compose-linux-{arch}', maxBinaryBytes: 1 << 28 },
    arches: ['amd64', 'arm64'],
    tree: { binaryPath: 'usr/local/lib/docker/cli-plugins/docker-compose', unit: { source: '', path: '' }, extensionRelease: {} },
    image: { format: 'squashfs', compressor: 'zstd', compatibilityCopy: false },
    bucket: { name: 'sysext', prefix: 'docker-compose/', publicUrl: 'https://sysext.example.com/docker-compose' },
    signing: { identity: 'alloy-sysext release <release@alloy-sysext.invalid>' },
    consumers: [
      {
        name: 'ghost-stack',
        repo: 'noahwhite/ghost-stack',
        path: GHOST_PATH,
        base: 'develop',
        arch: 'amd64',
        auth: { tokenEnv: 'GHOST_TEST_TOKEN' },
      },
    ],
  } as Recipe;
}

describe('updateConsumers with a second recipe', () => {
  it("bumps the recipe's sysext in the consumer's file: docker-compose's four lines, on its own branch", async () => {
    const ghost = await readFile(GHOST, 'utf8');
    gh.seedRepo({ owner: 'noahwhite', repo: 'ghost-stack', defaultBranch: 'develop', branches: { develop: { [GHOST_PATH]: ghost } } });
    const recipe = composeRecipe();
    const layout = versionLayout(dir, recipe, '2.29.1');
    await mkdir(layout.images, { recursive: true });
    await writeFile(path.join(layout.images, 'docker-compose-2.29.1-amd64.raw.sha256'), `${SHA}  docker-compose-2.29.1-amd64.raw\n`);

    const lines: string[] = [];
    const outcomes = await updateConsumers({ recipe, version: '2.29.1', layout, consumers: recipe.consumers, log: (l) => lines.push(l) });
    expect(outcomes).toEqual([{ consumer: 'ghost-stack', status: 'opened', detail: expect.stringContaining('/pull/') }]);

    const [pr] = gh.pulls('noahwhite', 'ghost-stack');
    expect(pr).toMatchObject({ head: 'feature/update-docker-compose-sysext-to-2.29.1', base: 'develop', state: 'open' });
    const expected = ghost
      .replace(
        '    - path: /opt/extensions/docker-compose/docker-compose-2.24.5-x86-64.raw\n',
        '    - path: /opt/extensions/docker-compose/docker-compose-2.29.1-amd64.raw\n',
      )
      .replace(
        '        source: https://github.com/flatcar/sysext-bakery/releases/download/docker-compose-2.24.5/docker-compose-2.24.5-x86-64.raw\n',
        '        source: https://sysext.example.com/docker-compose/docker-compose-2.29.1-amd64.raw\n',
      )
      .replace(`          hash: sha256-${OLD}\n`, `          hash: sha256-${SHA}\n`)
      .replace(
        '    - target: /opt/extensions/docker-compose/docker-compose-2.24.5-x86-64.raw\n',
        '    - target: /opt/extensions/docker-compose/docker-compose-2.29.1-amd64.raw\n',
      );
    expect(expected).not.toBe(ghost);
    expect(gh.readFile('noahwhite', 'ghost-stack', pr!.head, GHOST_PATH)).toBe(expected);

    // a rerun writes nothing: the flow finds its own pull request
    const writes = gh.writes().length;
    const again = await updateConsumers({ recipe, version: '2.29.1', layout, consumers: recipe.consumers, log: () => {} });
    expect(again.map((o) => o.status)).not.toContain('failed');
    expect(gh.writes().length).toBe(writes);
  });
});
