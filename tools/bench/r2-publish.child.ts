// Measured child of r2.bench.ts: publishVersion (verify the image's sha256 and signature, upload, re-check, merge and
// sign SHA256SUMS) of the version laid out under <workspace>, to the bucket the R2_* variables name.
//   node --import tsx tools/bench/r2-publish.child.ts <workspace> <private key file>
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe, publishVersion, releaseKeyOf, versionLayout, type Recipe } from '@alloy-sysext/pipeline';
import { createS3Store } from '@alloy-sysext/r2';
import { loadPrivateKey } from '@alloy-sysext/signing';

export const VERSION = '1.10.2';
const RECIPE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../apps/alloy/sysext.json');

/** The shipped recipe with one arch and no compatibility name: one image, the size of the bench's payload. */
export async function benchRecipe(env: NodeJS.ProcessEnv): Promise<Recipe> {
  const recipe = await loadRecipe(RECIPE, env);
  return { ...recipe, arches: ['amd64'], image: { ...recipe.image, compatibilityCopy: false }, mirror: undefined };
}

async function publish(workspace: string, keyFile: string): Promise<void> {
  const recipe = await benchRecipe(process.env);
  const key = await loadPrivateKey(await readFile(keyFile, 'utf8'));
  const store = createS3Store({
    bucket: process.env.R2_BUCKET!,
    endpoint: process.env.R2_ENDPOINT,
    prefix: recipe.bucket.prefix,
    accessKeyId: process.env.R2_ACCESS_KEY_ID!,
    secretAccessKey: process.env.R2_SECRET_ACCESS_KEY!,
    region: process.env.R2_REGION,
  });
  const t = performance.now();
  const r = await publishVersion({
    recipe,
    version: VERSION,
    layout: versionLayout(workspace, recipe, VERSION),
    store,
    key: releaseKeyOf(key, 'bench'),
    publicKey: key.publicKeyArmored,
    log: () => {},
  });
  process.stdout.write(JSON.stringify({ uploadSeconds: (performance.now() - t) / 1000, uploaded: r.uploaded.length }) + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await publish(process.argv[2], process.argv[3]);
