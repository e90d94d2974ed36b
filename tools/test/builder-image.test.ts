// The builder image (apps/builder-image), checked without a Docker engine (there is none here): the Dockerfile's
// instructions, what the build context leaves out, and that the release workflow runs and pushes the image @nx/docker
// builds. Not proven here: that `docker build` succeeds (setup.sh inside node:20-bookworm-slim) and that a runner pulls
// the pushed digest; the builder job does both on every release that has something to build.
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadWorkflow, ROOT } from './workflow-model.js';

/** Dockerfile instructions: comments dropped, `\` continuations joined, as [KEYWORD, arguments]. */
async function instructions(): Promise<Array<[string, string]>> {
  const text = await readFile(path.join(ROOT, 'apps/builder-image/Dockerfile'), 'utf8');
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [keyword, ...rest] = l.split(/\s+/);
      return [keyword!.toUpperCase(), rest.join(' ')];
    });
}

describe('builder image', () => {
  it('one stage from node:20 on Debian bookworm, installed by tools/setup/setup.sh (the one home of the tool list)', async () => {
    const all = await instructions();
    expect(all[0]).toEqual(['FROM', 'node:20-bookworm-slim']);
    expect(all.filter(([k]) => k === 'FROM')).toHaveLength(1);
    expect(all).toContainEqual(['RUN', 'bash tools/setup/setup.sh && rm -rf /var/lib/apt/lists/*']);
    // nothing a build could leak: no build arguments, no variable that looks like a credential
    expect(all.filter(([k, v]) => k === 'ARG' || /KEY|TOKEN|SECRET|PASSWORD/i.test(k === 'ENV' ? v : ''))).toEqual([]);
  });

  it('its WORKDIR is where the release jobs run; the build context leaves out keys, caches and installed modules', async () => {
    const workdir = (await instructions()).find(([k]) => k === 'WORKDIR')![1];
    const { wf } = await loadWorkflow('release.yml');
    for (const id of ['image', 'sign', 'publish', 'pr']) {
      expect([id, wf.jobs![id]!.defaults?.run?.['working-directory']]).toEqual([id, workdir]);
    }
    const ignored = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8')).split('\n').filter(Boolean);
    // .dev-keys: a development private key; .nx and dist: cache entries and outputs a build must not inherit
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.nx', '.cache', '.dev-keys*', '.git']));
  });

  it('@nx/docker builds it as `docker build` of this Dockerfile, tagged with the name the builder job pushes', async () => {
    const nx = path.join(ROOT, 'node_modules/nx/dist/bin/nx.js');
    const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
    const shown = await execa(process.execPath, [nx, 'show', 'project', 'builder-image', '--json'], { cwd: ROOT, env });
    const target = (JSON.parse(shown.stdout) as { targets: Record<string, { options: { command: string; args: string[] } }> }).targets[
      'docker:build'
    ]!;
    expect(target.options.command).toBe('docker build .');
    expect(target.options.args).toEqual(['--tag apps-builder-image', '--file apps/builder-image/Dockerfile']);
    const { wf } = await loadWorkflow('release.yml');
    const push = wf.jobs!.builder!.steps!.map((s) => s.run ?? '').join('\n');
    expect(push).toContain('npx nx run builder-image:docker:build');
    expect(push).toContain('docker tag apps-builder-image "$name:run-$RUN_ID"');
  }, 120_000);
});
