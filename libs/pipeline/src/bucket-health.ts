// Is the bucket in a state hosts can use? SHA256SUMS.gpg must verify SHA256SUMS with a trusted key, and every listed
// object must be there with the listed bytes: proved by reading and hashing it (deep: the newest version by default,
// every version with --deep) or by a checksum the server computed; never by metadata a bucket writer sets. Something
// the store refuses to read (a symlink in the local bucket) is a problem naming it. Used by release-bot check/status.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseImageName } from '@alloy-sysext/common';
import { Manifest } from '@alloy-sysext/manifest';
import { StoreError, type ObjectStore } from '@alloy-sysext/r2';
import { KEY_FILES, loadPrivateKey, readPublicKey } from '@alloy-sysext/signing';
import { MANIFEST, MANIFEST_SIGNATURE } from './names.js';
import type { Recipe } from './recipe.js';
import { DEV_KEY_DIR, PUBLIC_KEY_VARIABLE } from './signing-key.js';
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
  /** Versions of the recipe's image that SHA256SUMS lists, oldest first; [] when it cannot be read. */
  versions: string[];
  /** How the bytes of the listed objects found were proved: read and hashed, by the server's checksum, or not at all
   *  (present with a size; --deep reads them). */
  checked: { read: number; serverChecksum: number; notRead: number };
}

/** Which listed objects health reads and hashes: every one, the newest version's (the default), or none. */
export type DeepScope = 'all' | 'newest' | 'none';

/**
 * The public keys a health check trusts, none of them read from the bucket: the recipe's signing.publicKey and
 * trustedKeys, the configured ALLOY_SIGNING_KEY's public half or ALLOY_SIGNING_PUBLIC_KEY, and the development key's if
 * this clone has one.
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
  // the public key alone, as the release workflow's jobs that hold no private key get it
  if (env[PUBLIC_KEY_VARIABLE]?.trim()) keys.push(env[PUBLIC_KEY_VARIABLE].trim());
  const dev = await readFile(path.join(workspaceRoot, DEV_KEY_DIR, KEY_FILES.publicKey), 'utf8').catch(() => undefined);
  if (dev) keys.push(dev);
  return keys;
}

export async function bucketHealth(store: ObjectStore, keys: string[], opts: { name: string; deep?: DeepScope }): Promise<BucketHealth> {
  const problems: string[] = [];
  const checked = { read: 0, serverChecksum: 0, notRead: 0 };
  const broken = (signature: BucketHealth['signature']): BucketHealth => ({
    ok: false,
    signature,
    listed: 0,
    problems,
    versions: [],
    checked,
  });
  const manifest = await readable(store.get(MANIFEST), MANIFEST, problems);
  if (manifest === REFUSED) return broken('invalid');
  if (!manifest) return { ok: true, signature: 'empty', listed: 0, problems, versions: [], checked };
  let parsed = Manifest.empty();
  try {
    parsed = Manifest.parse(manifest.body.toString('utf8'));
  } catch (error) {
    problems.push(`${MANIFEST} is malformed: ${(error as Error).message}`);
  }
  const signature = await readable(store.get(MANIFEST_SIGNATURE), MANIFEST_SIGNATURE, problems);
  let state: BucketHealth['signature'];
  let signer: string | undefined;
  if (signature === REFUSED) {
    state = 'invalid';
  } else if (!signature) {
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
  const versions = parsed.versions(opts.name);
  const deep = opts.deep ?? 'newest';
  const readsAll = (file: string) => deep === 'all' || (deep === 'newest' && isVersion(file, opts.name, versions.at(-1)));
  for (const e of parsed.entries) {
    const proof = await readable(store.proveBytes(e.file, { sha256: e.sha256 }, readsAll(e.file) ? 'always' : 'never'), e.file, problems);
    if (proof === REFUSED) continue;
    if (!proof) problems.push(`${e.file} is listed in ${MANIFEST} but missing from the bucket`);
    else if (proof.same === false) {
      const found = proof.sha256 ? `sha256 ${proof.sha256}` : `other bytes (${proof.by})`;
      problems.push(`${e.file} in the bucket has ${found}, ${MANIFEST} lists ${e.sha256}`);
    } else if (proof.same === undefined) checked.notRead++;
    else if (proof.by === 'server checksum') checked.serverChecksum++;
    else checked.read++;
  }
  return {
    ok: problems.length === 0,
    signature: state,
    listed: parsed.entries.length,
    ...(signer ? { signer } : {}),
    problems,
    versions,
    checked,
  };
}

/** "6 listed objects present: 3 read and hashed, 3 not read (--deep reads them)", for check's and status's lines. */
export function checkedText(h: Pick<BucketHealth, 'listed' | 'checked'>): string {
  const { read, serverChecksum, notRead } = h.checked;
  const how = [
    read && `${read} read and hashed`,
    serverChecksum && `${serverChecksum} matched by the server's checksum`,
    notRead && `${notRead} not read (--deep reads them)`,
  ].filter(Boolean);
  return `${h.listed} listed objects present${how.length ? `: ${how.join(', ')}` : ''}`;
}

const REFUSED = Symbol('refused');

/** The store's answer, or REFUSED (with the problem noted, naming the key) when it refuses the object (a symlink). */
async function readable<T>(read: Promise<T>, key: string, problems: string[]): Promise<T | typeof REFUSED> {
  try {
    return await read;
  } catch (error) {
    if (!(error instanceof StoreError && error.kind === 'refused-object')) throw error;
    problems.push(`${key} cannot be read from the bucket: ${error.message}`);
    return REFUSED;
  }
}

function isVersion(file: string, name: string, version: string | undefined): boolean {
  const parsed = parseImageName(file);
  return version !== undefined && parsed?.name === name && parsed.version === version;
}
