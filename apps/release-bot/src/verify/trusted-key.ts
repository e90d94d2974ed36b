// The trust root `verify` checks signatures against: a key the user names, or the recipe's pinned public key.
// Never the bucket's import-pubring.gpg: whoever can write the bucket could replace it along with the signatures.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readPublicKey } from '@alloy-sysext/signing';
import type { Recipe } from '@alloy-sysext/pipeline';
import { UsageError } from '../exit-codes.js';

export interface TrustedKey {
  armored: string;
  fingerprint: string;
  /** Where it came from, for the table. */
  source: string;
}

/** `--key FILE` (armored public key, relative to the working directory), else the recipe's `signing.publicKey`. */
export async function trustedKey(opts: { keyOption?: string; cwd: string; recipe: Recipe }): Promise<TrustedKey> {
  const file = opts.keyOption ? path.resolve(opts.cwd, opts.keyOption) : opts.recipe.signing.publicKey;
  if (!file) {
    throw new UsageError(
      `no trusted release key: pass --key FILE (the release's armored public key) or pin signing.publicKey in ${opts.recipe.file}. ` +
        `The bucket's import-pubring.gpg is not used: it is in the bucket being verified.`,
    );
  }
  const text = await readFile(file, 'utf8').catch((error: Error) => {
    throw new UsageError(`${opts.keyOption ? '--key' : 'signing.publicKey'} ${file} cannot be read: ${error.message}`);
  });
  const key = await readPublicKey(text).catch((error: Error) => {
    throw new UsageError(`${file}: ${error.message}`);
  });
  return {
    armored: key.armored,
    fingerprint: key.fingerprint,
    source: opts.keyOption ? `--key ${opts.keyOption}` : 'recipe signing.publicKey',
  };
}
