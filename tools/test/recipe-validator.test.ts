// The recipe schema compiled ahead of time (libs/pipeline/src/recipe-validator.generated.ts) is exactly what ajv makes of
// apps/alloy/sysext.schema.json now, and a recipe beside another schema is validated against that schema, not the
// precompiled one.
import { describe, expect, it } from '@jest/globals';
import { createRequire } from 'node:module';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe } from '@alloy-sysext/pipeline';

const require = createRequire(import.meta.url);
const { recipeValidatorSource, OUT } = require('../nx/write-recipe-validator.cjs') as { recipeValidatorSource: () => string; OUT: string };
const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../apps/alloy');

describe('the precompiled recipe validator', () => {
  it('is current: regenerating it from the schema gives the committed file (else run node tools/nx/write-recipe-validator.cjs)', async () => {
    expect(await readFile(OUT, 'utf8')).toBe(recipeValidatorSource());
  });

  it('is used only for that schema: a recipe beside another schema is checked against the schema beside it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'recipe-schema-'));
    try {
      const schema = JSON.parse(await readFile(path.join(APP, 'sysext.schema.json'), 'utf8'));
      schema.properties.name.pattern = '^only-this$';
      schema.properties.name.description = 'This schema allows the name only-this.';
      await writeFile(path.join(dir, 'sysext.schema.json'), JSON.stringify(schema));
      await writeFile(path.join(dir, 'sysext.json'), await readFile(path.join(APP, 'sysext.json')));
      await expect(loadRecipe(path.join(dir, 'sysext.json'), {})).rejects.toThrow(
        `/name "alloy" is not allowed. This schema allows the name only-this.`,
      );
      // and the same recipe beside the app's own schema (the precompiled one) is valid
      await writeFile(path.join(dir, 'sysext.schema.json'), await readFile(path.join(APP, 'sysext.schema.json')));
      expect((await loadRecipe(path.join(dir, 'sysext.json'), {})).name).toBe('alloy');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
