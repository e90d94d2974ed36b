import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe } from '../src/recipe.js';

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/alloy');

// The recipe's bucket.prefix must not reach outside the bucket (or the local bucket directory): no ".", ".." or empty
// segments, no leading "/". The schema says so, and the error shows the value and the rule.
describe('recipe bucket.prefix', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'recipe-prefix-'));
    await copyFile(path.join(appDir, 'sysext.schema.json'), path.join(dir, 'sysext.schema.json'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const withPrefix = async (prefix: string) => {
    const recipe = JSON.parse(await readFile(path.join(appDir, 'sysext.json'), 'utf8'));
    recipe.bucket.prefix = prefix;
    const file = path.join(dir, 'sysext.json');
    await writeFile(file, JSON.stringify(recipe));
    return loadRecipe(file, {});
  };

  it.each(['../', '../../etc/', 'alloy/../../', './', 'alloy//', '/alloy/', 'alloy'])(
    'refuses %j, naming the value and the rule',
    async (bad) => {
      await expect(withPrefix(bad)).rejects.toThrow(
        `/bucket/prefix ${JSON.stringify(bad)} is not allowed. Key prefix inside the bucket: "" or segments of letters, digits, _ - . each ending in / (none empty, . or .., no leading /)`,
      );
    },
  );

  it.each(['', 'alloy/', 'sysext/alloy/', '..hidden/'])('accepts %j', async (good) => {
    expect((await withPrefix(good)).bucket.prefix).toBe(good);
  });
});
