// The workspace's recipes: every `sysext.json` one level under apps/ or sysexts/ (alloy's stays in apps/alloy; new
// ones live in sysexts/<name>/). A recipe's `name` is the sysext's and its Nx project's. The workspace plugin
// (tools/nx) finds recipe files with the same two globs.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { distance } from 'fastest-levenshtein';
import { RecipeError } from './recipe.js';

/** Where recipe files live, relative to the workspace root: `<dir>/*\/sysext.json`. */
export const RECIPE_DIRS = ['apps', 'sysexts'] as const;
export const RECIPE_FILE = 'sysext.json';

export interface RecipeRef {
  /** The sysext's name (the recipe's `name`), also its Nx project's. */
  name: string;
  /** The recipe file, relative to the workspace root (`sysexts/docker-compose/sysext.json`). */
  file: string;
  /** The recipe's directory, relative to the workspace root: the project root. */
  root: string;
}

/** Every recipe in the workspace, sorted by name; two recipes of one name are refused. */
export async function findRecipes(workspaceRoot: string): Promise<RecipeRef[]> {
  const found: RecipeRef[] = [];
  for (const dir of RECIPE_DIRS) {
    const entries = await readdir(path.join(workspaceRoot, dir), { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const root = `${dir}/${entry.name}`;
      const file = `${root}/${RECIPE_FILE}`;
      const text = await readFile(path.join(workspaceRoot, file), 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (text !== undefined) found.push({ name: recipeName(text, file), file, root });
    }
  }
  found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const twice = found.find((r, i) => found[i + 1]?.name === r.name);
  if (twice) {
    const files = found.filter((r) => r.name === twice.name).map((r) => r.file);
    throw new RecipeError(`two recipes name the sysext "${twice.name}": ${files.join(' and ')}; each name is one Nx project`);
  }
  return found;
}

/** The recipe of the sysext `name`; an unknown name is refused naming the nearest one and every one there is. */
export function pickRecipe(recipes: RecipeRef[], name: string): RecipeRef {
  const recipe = recipes.find((r) => r.name === name);
  if (recipe) return recipe;
  const names = recipes.map((r) => r.name);
  const near = nearestName(name, names);
  throw new RecipeError(
    `no sysext "${name}" in this workspace${near ? `: did you mean "${near}"?` : ''} ` +
      `(recipes: ${names.join(', ') || 'none'}; each is a ${RECIPE_DIRS.map((d) => `${d}/<name>/${RECIPE_FILE}`).join(' or ')})`,
  );
}

/** The recipe's `name`, read without validating the rest (loadRecipe does that where the recipe is used). */
function recipeName(text: string, file: string): string {
  let name: unknown;
  try {
    name = (JSON.parse(text) as { name?: unknown }).name;
  } catch (error) {
    throw new RecipeError(`cannot read recipe ${file}: ${(error as Error).message}`);
  }
  if (typeof name !== 'string' || !name) throw new RecipeError(`recipe ${file} has no "name" (the sysext's name)`);
  return name;
}

/** The name nearest to `typed`: the same but for case and dashes, else within a few edits. */
function nearestName(typed: string, names: string[]): string | undefined {
  const plain = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const same = names.find((n) => plain(n) === plain(typed));
  if (same) return same;
  const [best] = names.map((n) => [n, distance(plain(n), plain(typed))] as const).sort((a, b) => a[1] - b[1]);
  return best && best[1] <= Math.max(2, Math.floor(typed.length / 3)) ? best[0] : undefined;
}
