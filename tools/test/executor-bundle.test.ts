// The executors run from a bundle (tools/nx/executor-bundle.cjs) that is rebuilt whenever a source changed: an edit in
// a workspace takes effect on the next nx run with no build step, even one that keeps the file's size and mtime.
import { readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyWorkspace, nx, tempDir } from '@alloy-sysext/test-peers/nx-workspace';

let parent: string;
let ws: string;
beforeAll(async () => {
  parent = await tempDir('executor-bundle-');
  ws = await copyWorkspace(parent, 'ws');
}, 120_000);
afterAll(() => rm(parent, { recursive: true, force: true }));

// publish alone in a workspace with nothing built: runStep reports the step's error (no network, no bucket touched)
const publishAlone = () => nx(ws, ['run', 'alloy:publish', '--excludeTaskDependencies', '--', '--version=1.10.2'], {});
const stamp = async () => JSON.parse(await readFile(path.join(ws, '.nx/executors/current.json'), 'utf8')) as { dir: string };

describe('executor bundle', () => {
  it('an edited source runs on the next nx run, also when the edit keeps size and mtime', async () => {
    const first = await publishAlone();
    expect([first.code, first.output]).toEqual([1, expect.stringContaining('publish failed: ')]);
    const built = await stamp();
    expect(built.dir).toMatch(/^build-[0-9a-f]{16}$/);
    await stat(path.join(ws, '.nx/executors', built.dir, 'publish.mjs'));
    // the plugin started the build in the background (a fresh workspace) and the executor waited for it: no lock left
    expect((await readdir(path.join(ws, '.nx/executors'))).filter((e) => !e.startsWith('build-')).sort()).toEqual(['current.json']);

    // unchanged sources: the same bundle is used again
    await publishAlone();
    expect((await stamp()).dir).toBe(built.dir);

    const runStep = path.join(ws, 'tools/src/executors/run-step.ts');
    const source = await readFile(runStep, 'utf8');
    expect(source).toContain('`${name} failed: ');
    await writeFile(runStep, source.replace('`${name} failed: ', '`${name} FAILED-ONE: '));
    const second = await publishAlone();
    expect([second.code, second.output.includes('publish FAILED-ONE: ')]).toEqual([1, true]);

    // same length, mtime put back: content decides
    const { atime, mtime } = await stat(runStep);
    await writeFile(runStep, source.replace('`${name} failed: ', '`${name} FAILED-TWO: '));
    await utimes(runStep, atime, mtime);
    const third = await publishAlone();
    expect([third.code, third.output.includes('publish FAILED-TWO: ')]).toEqual([1, true]);
    expect(third.output).not.toContain('FAILED-ONE');
  }, 240_000);
});
