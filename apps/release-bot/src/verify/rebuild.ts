// The independent half of `verify`: fetch the upstream release again and rebuild the images in a temp directory with
// the libs/pipeline steps (no Nx, no cache), then compare with what the bucket serves.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fetchStep, imageStep, verifyAssets, versionImages, versionLayout, type Recipe, type VerifiedAsset } from '@alloy-sysext/pipeline';
import { sha256File } from '@alloy-sysext/common';
import { type Compressor, type ImageFormat } from '@alloy-sysext/sysext-image';

export interface Rebuilt {
  /** sha256 of each rebuilt image by file name. */
  images: Map<string, string>;
  /** Each upstream asset the rebuild used, with its digest root as this run found it. */
  upstream: VerifiedAsset[];
}

export async function rebuildVersion(opts: {
  recipe: Recipe;
  version: string;
  env: NodeJS.ProcessEnv;
  assetDir?: string;
  image: { format: ImageFormat; compressor?: Compressor };
  log: (line: string) => void;
}): Promise<Rebuilt> {
  const { recipe, version } = opts;
  const root = await mkdtemp(path.join(os.tmpdir(), 'alloy-verify-'));
  try {
    const step = { recipe, version, layout: versionLayout(root, recipe, version), root, env: opts.env, log: opts.log };
    // Local assets need no checksum file here: verify compares each one's sha256 with the signed provenance (and with the
    // checksum file or pin when there is one).
    const source = opts.assetDir ? { assetDir: opts.assetDir, allowUnverified: true } : {};
    await fetchStep(step, { ...source, progress: process.stderr });
    await imageStep(step, { ...opts.image, ...source });
    const images = new Map<string, string>();
    // every name the bucket serves; the compatibility name is the amd64 file's, hashed once
    const hashes = new Map<string, Promise<string>>();
    for (const image of versionImages(recipe, version, step.layout.images)) {
      if (!hashes.has(image.path)) hashes.set(image.path, sha256File(image.path));
      images.set(image.file, await hashes.get(image.path)!);
    }
    return { images, upstream: await verifyAssets(step, source) };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
