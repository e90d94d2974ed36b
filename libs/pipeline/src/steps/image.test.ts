// The image settings a run uses: the recipe's, with the command line's --format and --compressor (issue 22, item 9).
import { describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe } from '../recipe.js';
import { imageSettings } from './image.js';

const RECIPE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../apps/alloy/sysext.json');

describe('imageSettings', () => {
  it("--format erofs over the recipe's squashfs + zstd: no compressor (the recipe's is for squashfs), so nothing is 'ignored'", async () => {
    const recipe = await loadRecipe(RECIPE, {});
    expect(recipe.image).toMatchObject({ format: 'squashfs', compressor: 'zstd' });
    expect(imageSettings(recipe, { format: 'erofs' })).toMatchObject({ format: 'erofs', compressor: undefined });
    expect(imageSettings(recipe, {})).toMatchObject({ format: 'squashfs', compressor: 'zstd' });
    expect(imageSettings(recipe, { compressor: 'xz' })).toMatchObject({ format: 'squashfs', compressor: 'xz' });
  });

  it('--format=erofs --compressor=xz: refused, naming both and what to drop', async () => {
    const recipe = await loadRecipe(RECIPE, {});
    expect(() => imageSettings(recipe, { format: 'erofs', compressor: 'xz' })).toThrow(
      '--compressor xz applies to squashfs images only, and the format is erofs (--format): drop --compressor',
    );
    const erofsRecipe = { ...recipe, image: { ...recipe.image, format: 'erofs' as const } };
    expect(() => imageSettings(erofsRecipe, { compressor: 'gzip' })).toThrow(`the format is erofs (image.format in ${recipe.file})`);
  });
});
