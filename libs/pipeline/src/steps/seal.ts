// Step `seal`: sign what publish will write over the bucket's state (seal.ts), reading the bucket but writing only dist/.
import { storeFromEnv } from '@alloy-sysext/r2';
import { versionImages } from '../artifacts.js';
import { localBucketDir } from '../layout.js';
import { sealVersion } from '../seal.js';
import { expectedPublicKey, signingKeyFromEnv } from '../signing-key.js';
import type { StepContext } from '../step.js';
import { recoveryAdvice } from '../upstream-trust.js';
import { verifiedFragment } from '../verify-artifacts.js';
import { trustedPublicKeys } from '../vouch.js';

export async function sealStep({ recipe, version, layout, root, env, log }: StepContext): Promise<void> {
  const store = storeFromEnv(
    env,
    { bucket: recipe.bucket.name, prefix: recipe.bucket.prefix, directory: localBucketDir(root, env) },
    { log },
  );
  const { key } = await signingKeyFromEnv({ env, workspaceRoot: root, identity: recipe.signing.identity, log });
  const publicKey = await expectedPublicKey(recipe.signing.publicKey, key);
  // dist/ may be a cache restore: the lines added are those the release key signed in this version's manifest (which
  // checked each image first); publish checks the images against them again before it uploads anything.
  const fragment = await verifiedFragment(layout.manifest, publicKey).catch((error: Error) => {
    error.message = `${error.message.replace(/^refusing to publish/, 'refusing to seal')}\n${recoveryAdvice(version)}`;
    throw error;
  });
  const names = new Set(versionImages(recipe, version, layout.images).map((i) => i.file));
  const entries = fragment.entries.filter((e) => names.has(e.file));
  if (entries.length !== names.size) {
    throw new Error(`refusing to seal: ${layout.manifest} does not list every image of ${version} (${[...names].join(', ')})`);
  }
  await sealVersion({
    recipe,
    version,
    layout,
    store,
    key,
    trustedKeys: [publicKey, ...(await trustedPublicKeys(recipe, key))],
    entries: entries.map((e) => ({ file: e.file, sha256: e.sha256 })),
    dir: layout.seal,
    provenance: { root, env },
    log,
  });
}
