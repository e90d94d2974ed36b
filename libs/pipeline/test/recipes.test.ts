// findRecipes: the workspace's recipes, as the release bot lists them (apps/*/sysext.json and sysexts/*/sysext.json).
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findRecipes, pickRecipe } from '../src/recipes.js';

const WORKSPACE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('findRecipes', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'recipes-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const put = async (file: string, text: string) => {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  };

  it('lists apps/*/sysext.json and sysexts/*/sysext.json by name, with the file and project root', async () => {
    await put('apps/alloy/sysext.json', JSON.stringify({ name: 'alloy' }));
    await put('sysexts/docker-compose/sysext.json', JSON.stringify({ name: 'docker-compose' }));
    await put('sysexts/a-node-exporter/sysext.json', JSON.stringify({ name: 'node-exporter' }));
    await put('apps/release-bot/package.json', '{}'); // a project that is no recipe
    await put('sysexts/docker-compose/files/sysext.json', JSON.stringify({ name: 'deeper' })); // not one level down
    await put('libs/x/sysext.json', JSON.stringify({ name: 'elsewhere' }));
    expect(await findRecipes(root)).toEqual([
      { name: 'alloy', file: 'apps/alloy/sysext.json', root: 'apps/alloy' },
      { name: 'docker-compose', file: 'sysexts/docker-compose/sysext.json', root: 'sysexts/docker-compose' },
      { name: 'node-exporter', file: 'sysexts/a-node-exporter/sysext.json', root: 'sysexts/a-node-exporter' },
    ]);
  });

  it('a workspace without sysexts/ has its apps recipes; the real one has alloy', async () => {
    await put('apps/alloy/sysext.json', JSON.stringify({ name: 'alloy' }));
    expect((await findRecipes(root)).map((r) => r.name)).toEqual(['alloy']);
    expect(await findRecipes(WORKSPACE)).toContainEqual({ name: 'alloy', file: 'apps/alloy/sysext.json', root: 'apps/alloy' });
  });

  it('refuses two recipes of one name, a recipe without a name and one that is not JSON, naming the files', async () => {
    await put('apps/alloy/sysext.json', JSON.stringify({ name: 'alloy' }));
    await put('sysexts/alloy2/sysext.json', JSON.stringify({ name: 'alloy' }));
    await expect(findRecipes(root)).rejects.toThrow(
      'two recipes name the sysext "alloy": apps/alloy/sysext.json and sysexts/alloy2/sysext.json',
    );
    await put('sysexts/alloy2/sysext.json', JSON.stringify({ upstream: {} }));
    await expect(findRecipes(root)).rejects.toThrow('recipe sysexts/alloy2/sysext.json has no "name"');
    await put('sysexts/alloy2/sysext.json', '{ name: ');
    await expect(findRecipes(root)).rejects.toThrow('cannot read recipe sysexts/alloy2/sysext.json');
  });
});

describe('pickRecipe', () => {
  const recipes = [
    { name: 'alloy', file: 'apps/alloy/sysext.json', root: 'apps/alloy' },
    { name: 'docker-compose', file: 'sysexts/docker-compose/sysext.json', root: 'sysexts/docker-compose' },
  ];
  it('finds a name exactly; an unknown one is refused with the nearest real one and the list', () => {
    expect(pickRecipe(recipes, 'docker-compose')).toBe(recipes[1]);
    expect(() => pickRecipe(recipes, 'docker_compose')).toThrow(
      'no sysext "docker_compose" in this workspace: did you mean "docker-compose"?',
    );
    expect(() => pickRecipe(recipes, 'aloy')).toThrow('did you mean "alloy"? (recipes: alloy, docker-compose;');
    expect(() => pickRecipe(recipes, 'tailscale')).toThrow(/^no sysext "tailscale" in this workspace \(recipes: alloy, docker-compose;/);
  });
});
