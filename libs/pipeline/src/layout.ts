import path from 'node:path';
import type { Recipe } from './recipe.js';

/** Where each step of one version writes, under dist/<name>/<version>/ (the Nx outputs of the alloy targets), and its receipts. */
export function versionLayout(workspaceRoot: string, recipe: Pick<Recipe, 'name'>, version: string) {
  const base = path.join(workspaceRoot, 'dist', recipe.name, version);
  return {
    base,
    upstream: path.join(base, 'upstream'),
    images: path.join(base, 'images'),
    manifest: path.join(base, 'manifest'),
    /** The seal (seal.ts): the signed texts publish writes over the bucket's state. */
    seal: path.join(base, 'seal'),
    publish: path.join(base, 'publish'),
    pr: path.join(base, 'pr'),
    /** Build receipts (receipts.ts): per workspace, deliberately outside every Nx output so no cache restores one. */
    receipts: path.join(workspaceRoot, 'dist', '.receipts', recipe.name, version),
    /** The last version state this workspace signed or saw per bucket (witnesses.ts): outside every output, never cached. */
    witness: witnessDir(workspaceRoot, recipe),
    /**
     * The binaries inflated from the upstream zips (`<arch>/<binary>`): a working copy outside every Nx output, so no cache
     * stores or restores it (the zip it comes from is fetch's output); verifyFetched inflates it again when it is missing.
     */
    binaries: path.join(workspaceRoot, 'dist', '.work', recipe.name, version, 'upstream'),
  };
}

/** dist/.witness/<name>: this workspace's witnesses of each bucket's version state. */
export function witnessDir(workspaceRoot: string, recipe: Pick<Recipe, 'name'>): string {
  return path.join(workspaceRoot, 'dist', '.witness', recipe.name);
}

/** The local directory bucket used when no R2 credentials are configured. */
export function localBucketDir(workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(workspaceRoot, env.ALLOY_LOCAL_BUCKET || path.join('dist', 'bucket'));
}
