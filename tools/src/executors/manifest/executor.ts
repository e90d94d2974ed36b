import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { mergeManifest, signManifest } from '@alloy-sysext/manifest';
import { readChecksumFile, versionImages } from '../../pipeline/artifacts.js';
import { signingKeyFromEnv } from '../../pipeline/signing-key.js';
import { runStep, type StepOptions } from '../run-step.js';

export default async function manifestExecutor(options: StepOptions, context: ExecutorContext) {
  return runStep('manifest', options, context, async ({ recipe, version, layout, root, log }) => {
    const entries = [];
    for (const image of versionImages(recipe, version, layout.images)) {
      entries.push({ file: image.file, sha256: await readChecksumFile(image) });
    }
    const text = mergeManifest(null, entries);
    const { key } = await signingKeyFromEnv({ workspaceRoot: root, identity: recipe.signing.identity, log });
    const signature = await signManifest(text, key);
    await mkdir(layout.manifest, { recursive: true });
    await writeAtomic(path.join(layout.manifest, 'SHA256SUMS'), text);
    await writeAtomic(path.join(layout.manifest, 'SHA256SUMS.gpg'), signature);
    log(text.trimEnd());
  });
}

async function writeAtomic(file: string, data: string): Promise<void> {
  await writeFile(`${file}.tmp`, data);
  await rename(`${file}.tmp`, file);
}
