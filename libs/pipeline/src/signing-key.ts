import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { generateKey, KEY_FILES, loadPrivateKey, readPublicKey, type SigningKey } from '@alloy-sysext/signing';

export const DEV_KEY_DIR = '.dev-keys';

/** The variable a process that verifies but never signs (the release workflow's publish job) gets the public key from. */
export const PUBLIC_KEY_VARIABLE = 'ALLOY_SIGNING_PUBLIC_KEY';

export interface KeySource {
  key: SigningKey;
  /** Where the key came from, for logs: an env var name or the dev key directory. Never key material. */
  source: string;
  development: boolean;
}

/**
 * The release signing key: ALLOY_SIGNING_KEY (armored, or base64 of armored as the old GPG_PRIVATE_KEY secret), with
 * ALLOY_SIGNING_KEY_PASSPHRASE. Without one, a development key generated once under .dev-keys/ (git-ignored), so a
 * fresh clone can run the whole chain; everything signed with it is flagged loudly.
 */
export async function signingKeyFromEnv(opts: KeyOptions): Promise<KeySource> {
  const env = opts.env ?? process.env;
  const name = privateKeyVariable(env);
  if (!name && env[PUBLIC_KEY_VARIABLE]) {
    // A job given only the public key must never sign with a development key: whatever needs signing was expected from
    // the job that holds the key, through the shared cache.
    throw new Error(
      `this process holds only the release public key (${PUBLIC_KEY_VARIABLE}), not ALLOY_SIGNING_KEY, and a signed file ` +
        `it needs is missing: the shared cache did not have it (the release workflow's sign job makes it). Rerun the sign ` +
        `job, or run this where ALLOY_SIGNING_KEY is set`,
    );
  }
  if (name) {
    const passphrase = env.ALLOY_SIGNING_KEY_PASSPHRASE || env.GPG_PASSPHRASE || undefined;
    let key: SigningKey;
    try {
      key = await loadPrivateKey(env[name]!, { passphrase });
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}`);
    }
    await assertSameKey(key, env);
    return { key, source: name, development: false };
  }
  const dir = path.join(opts.workspaceRoot, DEV_KEY_DIR);
  const file = path.join(dir, KEY_FILES.privateKey);
  let text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) {
    text = await createDevKey(opts.workspaceRoot, dir, opts.identity);
  }
  const key = await loadPrivateKey(text).catch((error: Error) => {
    throw new Error(
      `${file} is not a usable development key (${error.message}): delete ${path.relative(opts.workspaceRoot, dir) || DEV_KEY_DIR}/ ` +
        `and rerun to generate a new one, or set ALLOY_SIGNING_KEY`,
      { cause: error },
    );
  });
  if (opts.signs !== false)
    opts.log(
      [
        '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
        `!! WARNING: no ALLOY_SIGNING_KEY set: signing with the DEVELOPMENT key ${key.fingerprint}`,
        `!! from ${path.relative(opts.workspaceRoot, dir)}/. No host trusts it; never publish to a real bucket with it.`,
        '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      ].join('\n'),
    );
  return { key, source: DEV_KEY_DIR, development: true };
}

// Parallel tasks (two versions at once) may both find no key: generate into a private directory and rename it into
// place; whoever loses the rename uses the winner's key.
async function createDevKey(workspaceRoot: string, dir: string, identity: string): Promise<string> {
  const tmp = await mkdtemp(path.join(workspaceRoot, `${DEV_KEY_DIR}.tmp-`));
  try {
    const devIdentity = identity.replace(/\s*</, ' (development key) <');
    await generateKey({ identity: devIdentity, outDir: tmp });
    await rename(tmp, dir).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return readFile(path.join(dir, KEY_FILES.privateKey), 'utf8');
}

/** The public key published artifacts must verify against: the recipe's pinned key file, else the signing key's. */
export async function expectedPublicKey(recipePublicKey: string | undefined, key: Pick<SigningKey, 'publicKeyArmored'>): Promise<string> {
  if (!recipePublicKey) return key.publicKeyArmored;
  return readFile(recipePublicKey, 'utf8');
}

interface KeyOptions {
  env?: NodeJS.ProcessEnv;
  workspaceRoot: string;
  identity: string;
  log: (line: string) => void;
  /** False when the caller only verifies with the key (a dry run): the development key's warning is about signing. */
  signs?: boolean;
}

/** ALLOY_SIGNING_PUBLIC_KEY read, or undefined when it is not set; an unreadable one fails naming the variable. */
async function publicKeyFromEnv(env: NodeJS.ProcessEnv) {
  const text = env[PUBLIC_KEY_VARIABLE]?.trim();
  if (!text) return undefined;
  return readPublicKey(text).catch((error: Error) => {
    throw new Error(`${PUBLIC_KEY_VARIABLE}: ${error.message}`, { cause: error });
  });
}

const privateKeyVariable = (env: NodeJS.ProcessEnv) =>
  env.ALLOY_SIGNING_KEY ? 'ALLOY_SIGNING_KEY' : env.GPG_PRIVATE_KEY ? 'GPG_PRIVATE_KEY' : undefined;

/** The release key as a process that verifies needs it: public parts always, the private key when this process holds one. */
export interface ReleaseKey {
  fingerprint: string;
  publicKeyArmored: string;
  /** `gpg --export` form (import-pubring.gpg). */
  publicKeyBinary: Uint8Array;
  /** Present when ALLOY_SIGNING_KEY (or the development key) is available; absent in a job given only the public key. */
  signing?: SigningKey;
  /** Where it came from, for logs: a variable name or the dev key directory. Never key material. */
  source: string;
}

/**
 * The release key for publishing: ALLOY_SIGNING_KEY (or the development key, as signingKeyFromEnv), else the public key
 * alone from ALLOY_SIGNING_PUBLIC_KEY (armored), which is all a job that verifies and uploads but never signs holds.
 */
export async function releaseKeyFromEnv(opts: KeyOptions): Promise<ReleaseKey> {
  const env = opts.env ?? process.env;
  const info = privateKeyVariable(env) ? undefined : await publicKeyFromEnv(env);
  if (info) {
    return { fingerprint: info.fingerprint, publicKeyArmored: info.armored, publicKeyBinary: info.binary, source: PUBLIC_KEY_VARIABLE };
  }
  const { key, source } = await signingKeyFromEnv({ ...opts, env });
  return releaseKeyOf(key, source);
}

/** A private key as a ReleaseKey (publicKeyBinary computed once). */
export function releaseKeyOf(key: SigningKey, source: string): ReleaseKey {
  return {
    fingerprint: key.fingerprint,
    publicKeyArmored: key.publicKeyArmored,
    publicKeyBinary: key.publicKeyBinary(),
    signing: key,
    source,
  };
}

/** Where both are set (the release workflow's sign job), the public key the other jobs verify with must be this key's. */
async function assertSameKey(key: SigningKey, env: NodeJS.ProcessEnv): Promise<void> {
  const expected = await publicKeyFromEnv(env);
  if (expected && expected.fingerprint !== key.fingerprint) {
    throw new Error(
      `ALLOY_SIGNING_KEY is key ${key.fingerprint} but ${PUBLIC_KEY_VARIABLE} is ${expected.fingerprint}: the jobs that ` +
        `verify would refuse everything this one signs. Set ${PUBLIC_KEY_VARIABLE} to this key's public key`,
    );
  }
}
