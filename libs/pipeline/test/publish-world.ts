// A workspace and a directory bucket to publish into without running the chain: each version's dist/ as the chain
// leaves it (see built-version.ts), then publishVersion.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from '@jest/globals';
import { createDirectoryStore, type ObjectStore } from '@alloy-sysext/r2';
import { gpgVerify } from '@alloy-sysext/test-peers/nx-workspace';
import * as openpgp from 'openpgp';
import { loadPrivateKey, type SigningKey } from '@alloy-sysext/signing';
import { versionLayout } from '../src/layout.js';
import { MANIFEST, MANIFEST_SIGNATURE } from '../src/names.js';
import { publishVersion } from '../src/publish.js';
import { releaseKeyOf } from '../src/signing-key.js';
import type { Recipe } from '../src/recipe.js';
import { builtVersion } from './built-version.js';

/** dist/ for `version` under `ws/<key fingerprint>`, built once per key (see builtVersion). */
async function builtOnce(ws: string, recipe: Recipe, version: string, key: SigningKey) {
  const root = path.join(ws, key.fingerprint);
  const layout = versionLayout(root, recipe, version);
  const made = await readFile(path.join(layout.manifest, MANIFEST)).then(
    () => true,
    () => false,
  );
  return made ? layout : builtVersion(root, recipe, version, key);
}

/** A directory bucket at `ws/bucket` (prefix alloy/), and `publish`: build a version under `ws` and publish it. */
export function publishingWorld(
  ws: string,
  recipe: Recipe,
  store: ObjectStore = createDirectoryStore(path.join(ws, 'bucket'), { prefix: 'alloy/' }),
) {
  const publish = async (
    version: string,
    key: SigningKey,
    opts: { trusted?: string[]; recipe?: Recipe; log?: (line: string) => void; dryRun?: boolean } = {},
  ) =>
    publishVersion({
      recipe: opts.recipe ?? recipe,
      version,
      layout: await builtOnce(ws, recipe, version, key),
      store,
      key: releaseKeyOf(key, 'test'),
      publicKey: key.publicKeyArmored,
      trustedKeys: opts.trusted ?? [key.publicKeyArmored],
      dryRun: opts.dryRun,
      log: opts.log ?? (() => {}),
    });
  return { ws, store, publish };
}

/** SHA256SUMS.gpg in `store` verifies SHA256SUMS with real gpg, made by `key`. */
export async function expectSignedBy(store: ObjectStore, key: { publicKeyPath: string; fingerprint: string }): Promise<void> {
  const r = await gpgVerify(
    await readFile(key.publicKeyPath),
    (await store.get(MANIFEST_SIGNATURE))!.body,
    (await store.get(MANIFEST))!.body,
  );
  expect(r.ok).toBe(true);
  expect(r.output).toContain(`VALIDSIG ${key.fingerprint}`);
}

/** A release key that is quick to make (ed25519Legacy, which gpg 2.2 verifies), with its public key in `dir`. */
export async function quickKey(dir: string, name: string): Promise<{ signer: SigningKey; publicKeyPath: string; fingerprint: string }> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name, email: `${name}@alloy-sysext.invalid` }],
    format: 'armored',
  });
  const signer = await loadPrivateKey(privateKey);
  await mkdir(dir, { recursive: true });
  const publicKeyPath = path.join(dir, `${name}.pub.asc`);
  await writeFile(publicKeyPath, publicKey);
  return { signer, publicKeyPath, fingerprint: signer.fingerprint };
}
