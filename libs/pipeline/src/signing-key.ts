import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { generateKey, KEY_FILES, loadPrivateKey, type SigningKey } from '@alloy-sysext/signing';

export const DEV_KEY_DIR = '.dev-keys';

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
export async function signingKeyFromEnv(opts: {
  env?: NodeJS.ProcessEnv;
  workspaceRoot: string;
  identity: string;
  log: (line: string) => void;
  /** False when the caller only verifies with the key (a dry run): the development key's warning is about signing. */
  signs?: boolean;
}): Promise<KeySource> {
  const env = opts.env ?? process.env;
  const name = env.ALLOY_SIGNING_KEY ? 'ALLOY_SIGNING_KEY' : env.GPG_PRIVATE_KEY ? 'GPG_PRIVATE_KEY' : undefined;
  if (name) {
    const passphrase = env.ALLOY_SIGNING_KEY_PASSPHRASE || env.GPG_PASSPHRASE || undefined;
    try {
      return { key: await loadPrivateKey(env[name]!, { passphrase }), source: name, development: false };
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}`);
    }
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
export async function expectedPublicKey(recipePublicKey: string | undefined, key: SigningKey): Promise<string> {
  if (!recipePublicKey) return key.publicKeyArmored;
  return readFile(recipePublicKey, 'utf8');
}
