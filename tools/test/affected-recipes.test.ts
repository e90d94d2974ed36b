// `nx affected` chooses among the recipe projects: a change to one recipe's files makes only its project affected, a
// change to a library or to the executors every recipe project. Typed as README shows it, in a copy of the workspace.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import { copyWorkspace, nxEnv, tempDir } from '@alloy-sysext/test-peers/nx-workspace';

let parent: string;
let ws: string;

beforeAll(async () => {
  parent = await tempDir('affected-');
  ws = await copyWorkspace(parent, 'ws');
}, 120_000);
afterAll(() => rm(parent, { recursive: true, force: true }));

/** `npx nx show projects --affected --files=<file> --with-target image`, its output as lines. */
async function affected(file: string): Promise<string[]> {
  const args = ['nx', 'show', 'projects', '--affected', `--files=${file}`, '--with-target', 'image'];
  const r = await execa('npx', args, { cwd: ws, env: nxEnv({}), extendEnv: false });
  return r.stdout.split('\n').filter(Boolean).sort();
}

describe('npx nx show projects --affected --files=<file> --with-target image', () => {
  it('a recipe file: only its project', async () => {
    expect(await affected('sysexts/docker-compose/sysext.json')).toEqual(['docker-compose']);
    expect(await affected('apps/alloy/sysext.json')).toEqual(['alloy']);
    expect(await affected('apps/alloy/files/alloy.service')).toEqual(['alloy']);
  }, 120_000);

  it('a library, or the executors: every recipe project', async () => {
    expect(await affected('libs/common/src/index.ts')).toEqual(['alloy', 'docker-compose']);
    expect(await affected('libs/sysext-image/src/tree.ts')).toEqual(['alloy', 'docker-compose']);
    expect(await affected('tools/src/executors/run-step.ts')).toEqual(['alloy', 'docker-compose']);
  }, 120_000);

  it('a file no step loads (README, another app): none', async () => {
    expect(await affected('README.md')).toEqual([]);
    expect(await affected('apps/release-bot/src/cli.ts')).toEqual([]);
  }, 120_000);
});
