// Step `manifest`: this version's SHA256SUMS entries, signed, under dist/<name>/<version>/manifest.
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '@alloy-sysext/common';
import path from 'node:path';
import { mergeManifest, signManifest } from '@alloy-sysext/manifest';
import { readChecksumFile, versionImages } from '../artifacts.js';
import { MANIFEST, MANIFEST_SIGNATURE } from '../names.js';
import { signingKeyFromEnv } from '../signing-key.js';
import type { StepContext } from '../step.js';

export async function manifestStep({ recipe, version, layout, root, env, log }: StepContext): Promise<void> {
  const entries = [];
  for (const image of versionImages(recipe, version, layout.images)) {
    entries.push({ file: image.file, sha256: await readChecksumFile(image) });
  }
  const text = mergeManifest(null, entries);
  const { key } = await signingKeyFromEnv({ env, workspaceRoot: root, identity: recipe.signing.identity, log });
  const signature = await signManifest(text, key);
  await mkdir(layout.manifest, { recursive: true });
  await writeFileAtomic(path.join(layout.manifest, MANIFEST), text);
  await writeFileAtomic(path.join(layout.manifest, MANIFEST_SIGNATURE), signature);
  log(text.trimEnd());
}

