// What every release step gets: the validated recipe, the checked version, where its files go, and a log line sink.
import path from 'node:path';
import type { BlobStore } from './blobs.js';
import { versionLayout } from './layout.js';
import { DEFAULT_RECIPE, loadRecipe, type Recipe } from './recipe.js';
import { imageSettings, type ImageStepOptions } from './steps/image.js';
import { resolveVersion } from './version.js';
import type { Log } from '@alloy-sysext/common';

export interface StepOptions {
  /** The version as `--version=X` reaches the target under npx (.npmrc renames the flag Nx reserves), or typed as is. */
  sysextVersion?: unknown;
  /** The version behind `--` (`nx run <project>:publish -- --version=X`), where Nx passes the reserved name through. */
  version?: unknown;
  recipe?: string;
  allowPrerelease?: boolean;
}

export interface StepContext {
  recipe: Recipe;
  version: string;
  layout: ReturnType<typeof versionLayout>;
  /** Workspace root: dist/, the dev key and the local bucket resolve from here. */
  root: string;
  env: NodeJS.ProcessEnv;
  log: Log;
  /** Where the large files (assets, images) are kept and found again when a cache restored only their names (blobs.ts). */
  blobs?: BlobStore;
}

/** Resolves recipe and version before any other I/O, so a bad version never builds a path or a URL. */
export async function prepareStep(
  options: StepOptions,
  opts: { root: string; env?: NodeJS.ProcessEnv; log: Log; blobs?: BlobStore },
): Promise<StepContext> {
  const env = opts.env ?? process.env;
  const typed = versionOption(options);
  // the recipe names the project in the advice for a missing version; nothing is built from the version before it is checked
  const recipe = await loadRecipe(path.resolve(opts.root, options.recipe ?? DEFAULT_RECIPE), env);
  const version = resolveVersion(typed, { allowPrerelease: options.allowPrerelease, project: recipe.name });
  // Nx forwards the typed options to every step: impossible image settings stop the first one, before any download
  imageSettings(recipe, options as ImageStepOptions);
  const layout = versionLayout(opts.root, recipe, version);
  return { recipe, version, layout, root: opts.root, env, log: opts.log, ...(opts.blobs ? { blobs: opts.blobs } : {}) };
}

/** The one version option a target got: `sysextVersion` (the natural form) or `version` (behind `--`), not two. */
export function versionOption(options: StepOptions): unknown {
  const { sysextVersion, version } = options;
  if (sysextVersion !== undefined && version !== undefined && String(sysextVersion) !== String(version)) {
    throw new Error(`two different versions given (sysextVersion ${sysextVersion}, version ${version}): give --version once`);
  }
  return sysextVersion ?? version;
}
