// Is the bucket in a state hosts can use? SHA256SUMS.gpg must verify SHA256SUMS with a trusted key, and every listed
// object must exist with the listed sha256 (HEAD and its recorded sha256, no downloads). Used by release-bot check/status.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Manifest } from '@alloy-sysext/manifest';
import type { ObjectStore } from '@alloy-sysext/r2';
import { KEY_FILES, loadPrivateKey, readPublicKey } from '@alloy-sysext/signing';
import { MANIFEST, MANIFEST_SIGNATURE } from './names.js';
import type { Recipe } from './recipe.js';
import { DEV_KEY_DIR } from './signing-key.js';
import { signedBy } from './vouch.js';

export interface BucketHealth {
  ok: boolean;
  /** valid | invalid | missing (no SHA256SUMS.gpg) | unchecked (no trusted key known here) | empty (no SHA256SUMS yet) */
  signature: 'valid' | 'invalid' | 'missing' | 'unchecked' | 'empty';
  listed: number;
  /** Fingerprint of the trusted key SHA256SUMS.gpg verifies with (signature 'valid'). */
  signer?: string;
  /** One line per problem, naming the object. */
  problems: string[];
}

/**
 * The public keys a health check trusts, none of them read from the bucket: the recipe's signing.publicKey and
 * trustedKeys, the configured ALLOY_SIGNING_KEY's public half, and the development key's if this clone has one.
 */
export async function healthKeys(recipe: Pick<Recipe, 'signing'>, env: NodeJS.ProcessEnv, workspaceRoot: string): Promise<string[]> {
  const keys: string[] = [];
  for (const file of [...(recipe.signing.publicKey ? [recipe.signing.publicKey] : []), ...(recipe.signing.trustedKeys ?? [])]) {
    keys.push(await readFile(file, 'utf8'));
  }
  const secret = env.ALLOY_SIGNING_KEY || env.GPG_PRIVATE_KEY;
  if (secret) {
    const key = await loadPrivateKey(secret, { passphrase: env.ALLOY_SIGNING_KEY_PASSPHRASE || env.GPG_PASSPHRASE || undefined }).catch(
      () => undefined,
    );
    if (key) keys.push(key.publicKeyArmored);
  }
  const dev = await readFile(path.join(workspaceRoot, DEV_KEY_DIR, KEY_FILES.publicKey), 'utf8').catch(() => undefined);
  if (dev) keys.push(dev);
  return keys;
}

export async function bucketHealth(store: ObjectStore, keys: string[]): Promise<BucketHealth> {
  const manifest = await store.get(MANIFEST);
  if (!manifest) return { ok: true, signature: 'empty', listed: 0, problems: [] };
  const problems: string[] = [];
  let entries: Manifest['entries'] = [];
  try {
    entries = Manifest.parse(manifest.body.toString('utf8')).entries;
  } catch (error) {
    problems.push(`${MANIFEST} is malformed: ${(error as Error).message}`);
  }
  const signature = await store.get(MANIFEST_SIGNATURE);
  let state: BucketHealth['signature'];
  let signer: string | undefined;
  if (!signature) {
    state = 'missing';
    problems.push(`${MANIFEST_SIGNATURE} is missing: hosts cannot verify ${MANIFEST}`);
  } else if (keys.length === 0) {
    state = 'unchecked';
  } else if ((signer = await signedBy(manifest.body, signature.body.toString('utf8'), keys))) {
    state = 'valid';
    signer = (await readPublicKey(signer)).fingerprint;
  } else {
    state = 'invalid';
    problems.push(`${MANIFEST_SIGNATURE} does not verify ${MANIFEST} with a trusted key: hosts refuse every update`);
  }
  for (const e of entries) {
    const head = await store.head(e.file);
    if (!head) problems.push(`${e.file} is listed in ${MANIFEST} but missing from the bucket`);
    else if (!head.sha256) problems.push(`${e.file} has no recorded sha256 in the bucket (listed ${e.sha256})`);
    else if (head.sha256 !== e.sha256) problems.push(`${e.file} in the bucket has sha256 ${head.sha256}, ${MANIFEST} lists ${e.sha256}`);
  }
  return { ok: problems.length === 0, signature: state, listed: entries.length, ...(signer ? { signer } : {}), problems };
}
