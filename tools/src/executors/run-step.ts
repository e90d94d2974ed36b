import path from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { loadRecipe, type Recipe } from '../pipeline/recipe.js';
import { resolveVersion } from '../pipeline/version.js';
import { versionLayout } from '../pipeline/layout.js';

export interface StepOptions {
  /** The version as `--version=X` reaches the target under npx (.npmrc renames the flag Nx reserves), or typed as is. */
  alloyVersion?: string;
  /** The version behind `--` (`nx run alloy:publish -- --version=X`), where Nx passes the reserved name through. */
  version?: string;
  recipe?: string;
  allowPrerelease?: boolean;
}

export interface Step {
  recipe: Recipe;
  version: string;
  layout: ReturnType<typeof versionLayout>;
  root: string;
  log: (line: string) => void;
}

/**
 * The one place executors meet Nx: resolve recipe and version (before any I/O, so a bad version never builds a
 * path), run the step, and turn an error into a failed task with its message, not a stack trace.
 */
export async function runStep(
  name: string,
  options: StepOptions,
  context: ExecutorContext,
  body: (step: Step) => Promise<void>,
): Promise<{ success: boolean }> {
  const log = (line: string) => console.log(line);
  try {
    const version = resolveVersion(versionOption(options), { allowPrerelease: options.allowPrerelease });
    const recipe = await loadRecipe(path.resolve(context.root, options.recipe ?? 'apps/alloy/sysext.json'));
    await body({ recipe, version, layout: versionLayout(context.root, recipe, version), root: context.root, log });
    return { success: true };
  } catch (error) {
    console.error(`${name} failed: ${(error as Error).message}`);
    if (process.env.ALLOY_DEBUG) console.error(error);
    return { success: false };
  }
}

/** The one version option a target got: `alloyVersion` (the natural form) or `version` (behind `--`), not two different ones. */
export function versionOption(options: StepOptions): unknown {
  const { alloyVersion, version } = options;
  if (alloyVersion !== undefined && version !== undefined && String(alloyVersion) !== String(version)) {
    throw new Error(`two different versions given (alloyVersion ${alloyVersion}, version ${version}): give --version once`);
  }
  return alloyVersion ?? version;
}
