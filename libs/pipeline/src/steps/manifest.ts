// Step `manifest`: this version's SHA256SUMS entries, signed, under dist/<name>/<version>/manifest.
import { mkdir, readFile } from 'node:fs/promises';
import { sha256File, writeFileAtomic } from '@alloy-sysext/common';
import path from 'node:path';
import { mergeManifest, signManifest } from '@alloy-sysext/manifest';
import { imageSignatureChecker, readChecksumFile, versionImages } from '../artifacts.js';
import { recoveryAdvice } from '../upstream-trust.js';
import { MANIFEST, MANIFEST_SIGNATURE } from '../names.js';
import { signingKeyFromEnv } from '../signing-key.js';
import type { StepContext } from '../step.js';

export async function manifestStep({ recipe, version, layout, root, env, log }: StepContext): Promise<void> {
  const { key } = await signingKeyFromEnv({ env, workspaceRoot: root, identity: recipe.signing.identity, log });
  // The images and .sha256 files may be cache restores: list only what this key's .asc vouches for, byte for byte.
  const checkSignature = imageSignatureChecker(key.publicKeyArmored);
  const entries = [];
  for (const image of versionImages(recipe, version, layout.images)) {
    const recorded = await readChecksumFile(image);
    const actual = await sha256File(image.path);
    const signature = await readFile(`${image.path}.asc`, 'utf8').catch(() => '');
    const problem =
      actual !== recorded
        ? `it has sha256 ${actual} but ${image.file}.sha256 says ${recorded}`
        : await checkSignature({ path: image.path, sha256: actual }, signature).then(
            () => undefined,
            (e: Error) => `${image.path}.asc does not verify it: ${e.message}`,
          );
    if (problem) throw new Error(`refusing to list ${image.path} in ${MANIFEST}: ${problem}\n${recoveryAdvice(version)}`);
    entries.push({ file: image.file, sha256: actual });
  }
  const text = mergeManifest(null, entries);
  const signature = await signManifest(text, key);
  await mkdir(layout.manifest, { recursive: true });
  await writeFileAtomic(path.join(layout.manifest, MANIFEST), text);
  await writeFileAtomic(path.join(layout.manifest, MANIFEST_SIGNATURE), signature);
  log(text.trimEnd());
}
