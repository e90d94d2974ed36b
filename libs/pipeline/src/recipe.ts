import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { ErrorObject } from 'ajv';
import { resolvePublicUrl } from './public-url.js';
import * as precompiled from './recipe-validator.generated.js';

import type { Arch } from '@alloy-sysext/common';
import type { UpstreamOptions } from '@alloy-sysext/sysext-image';

export type { Arch };

/** The recipe every command uses unless told otherwise, relative to the workspace root. */
export const DEFAULT_RECIPE = 'apps/alloy/sysext.json';

export interface AuthRef {
  app?: { idEnv: string; privateKeyEnv: string };
  tokenEnv?: string;
}

export interface ConsumerRecipe {
  name: string;
  repo: string;
  path: string;
  base: string;
  arch: Arch;
  auth: AuthRef;
  assignees?: string[];
  reviewers?: string[];
  labels?: string[];
  /** storage.files path of the release key entry (default: the snippet's, releaseKeyPaths(recipe).key) */
  keyPath?: string;
}

export interface Recipe {
  /** Directory of the recipe file; relative paths in it resolve from here. */
  dir: string;
  file: string;
  name: string;
  /** The release assets (sysext-image `UpstreamOptions`) and the pins: upstream.sha256[version][arch]. */
  upstream: UpstreamOptions & { sha256?: Record<string, Partial<Record<Arch, string>>> };
  arches: Arch[];
  /** What goes into the image; `name` is the recipe's (loadRecipe sets it), so the images and extension-release carry it. */
  tree: {
    name: string;
    binaryPath: string;
    unit?: { source: string; path: string };
    extensionRelease: Record<string, string>;
  };
  image: { format: 'squashfs' | 'erofs' | 'ext4'; compressor?: 'zstd' | 'xz' | 'gzip'; compatibilityCopy?: boolean };
  /** publicUrl: resolved by resolvePublicUrl (public-url.ts); undefined only when R2 is configured without one. */
  bucket: { name: string; prefix: string; publicUrl?: string; keep?: number };
  signing: { identity: string; publicKey?: string; trustedKeys?: string[] };
  mirror?: { repo: string; branch: string; path: string; auth?: AuthRef };
  consumers: ConsumerRecipe[];
}

export class RecipeError extends Error {
  override name = 'RecipeError';
}

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/**
 * The validator of a recipe schema: the one compiled ahead of time (recipe-validator.generated.ts) when the text is
 * exactly the schema it was compiled from, else ajv compiles this text now with the same options.
 */
function schemaValidator(schemaText: string): Validator {
  if (createHash('sha256').update(schemaText).digest('hex') === precompiled.SCHEMA_SHA256) return precompiled.validate as Validator;
  // ajv ships CommonJS with a default export object; createRequire keeps that shape stable under tsx, jest and the bundle.
  const require = createRequire(import.meta.url);
  const Ajv = require('ajv').default as typeof import('ajv').default;
  const addFormats = require('ajv-formats').default as typeof import('ajv-formats').default;
  const ajv = new Ajv(precompiled.AJV_OPTIONS);
  addFormats(ajv);
  return ajv.compile(JSON.parse(schemaText));
}

/** Loads and validates a recipe; `unit.source` and `signing.publicKey` come back as absolute paths. */
export async function loadRecipe(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Recipe> {
  const absolute = path.resolve(file);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(absolute, 'utf8'));
  } catch (error) {
    throw new RecipeError(`cannot read recipe ${absolute}: ${(error as Error).message}`);
  }
  const schemaText = await readFile(path.join(path.dirname(absolute), 'sysext.schema.json'), 'utf8').catch(() =>
    readFile(new URL('../../../apps/alloy/sysext.schema.json', import.meta.url), 'utf8'),
  );
  const validate = schemaValidator(schemaText);
  if (!validate(raw)) {
    const problems = (validate.errors ?? []).map((e) =>
      e.keyword === 'pattern' && e.parentSchema?.description
        ? `  ${e.instancePath} ${JSON.stringify(e.data)} is not allowed. ${e.parentSchema.description}`
        : `  ${e.instancePath || '(root)'} ${e.message}${e.params && 'allowedValues' in e.params ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : ''}`,
    );
    throw new RecipeError(`recipe ${absolute} is invalid:\n${problems.join('\n')}`);
  }
  const recipe = raw as Omit<Recipe, 'dir' | 'file'>;
  const dir = path.dirname(absolute);
  return {
    ...recipe,
    dir,
    file: absolute,
    upstream: { ...recipe.upstream, apiUrl: env.ALLOY_UPSTREAM_API_URL || recipe.upstream.apiUrl },
    tree: {
      ...recipe.tree,
      name: recipe.name,
      ...(recipe.tree.unit ? { unit: { ...recipe.tree.unit, source: path.resolve(dir, recipe.tree.unit.source) } } : {}),
    },
    bucket: {
      ...recipe.bucket,
      name: env.R2_BUCKET || recipe.bucket.name,
      publicUrl: resolvePublicUrl(recipe.bucket, env),
    },
    signing: {
      ...recipe.signing,
      publicKey: recipe.signing.publicKey ? path.resolve(dir, recipe.signing.publicKey) : undefined,
      trustedKeys: recipe.signing.trustedKeys?.map((file) => path.resolve(dir, file)),
    },
  };
}
