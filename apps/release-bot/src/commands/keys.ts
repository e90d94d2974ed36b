// `keys generate`: a new release signing key and how to deploy it. Never prints key material.
import path from 'node:path';
import { generateKey, KEY_FILES, type GeneratedKey } from '@alloy-sysext/signing';
import { releaseKeyPaths } from '@alloy-sysext/pipeline';
import { writeSummary } from '../actions.js';
import { out, recipeFor, type Ctx } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';

/** Default output directory, relative to the workspace root: git-ignored (dist/), so the key cannot be committed by accident. */
export const DEFAULT_KEY_DIR = 'dist/release-key';

export interface KeysGenerateOptions {
  /** Output directory (relative paths from ctx.cwd); default <root>/dist/release-key. */
  out?: string;
  /** Identity "Name <email>"; default the recipe's signing.identity. */
  identity?: string;
  /** Name of an environment variable holding a passphrase for the private key. */
  passphraseEnv?: string;
}

export async function keysGenerate(ctx: Ctx, opts: KeysGenerateOptions = {}): Promise<number> {
  const outDir = opts.out ? path.resolve(ctx.cwd, opts.out) : path.join(ctx.root, DEFAULT_KEY_DIR);
  let passphrase: string | undefined;
  if (opts.passphraseEnv) {
    passphrase = ctx.env[opts.passphraseEnv];
    if (!passphrase) throw new UsageError(`--passphrase-env ${opts.passphraseEnv}: that environment variable is not set or empty`);
  }
  const identity = opts.identity ?? (await recipeFor(ctx)).signing.identity;
  let key: GeneratedKey;
  try {
    key = await generateKey({ identity, outDir, passphrase });
  } catch (error) {
    const message = (error as Error).message;
    if (/already exists/.test(message)) throw new Error(`${message}: pass --out with a new directory`);
    if (/^identity /.test(message)) throw new UsageError(`--identity: ${message}`);
    throw error;
  }
  // the snippet's paths use the recipe's name; a key generated without a readable recipe is for alloy
  const recipe = await recipeFor(ctx).catch(() => ({ name: 'alloy' }));
  const rel = (p: string) => {
    const r = path.relative(ctx.cwd, p);
    return r && !r.startsWith('..') ? r : p;
  };
  out(ctx, `Generated a v4 RSA-4096 release signing key for ${identity}`);
  out(ctx, `fingerprint: ${key.fingerprint}`);
  out(ctx);
  out(
    ctx,
    `  ${rel(key.privateKeyPath)}  private key (mode 0600)${passphrase ? `, protected by the passphrase in ${opts.passphraseEnv}` : ''}`,
  );
  out(ctx, `  ${rel(key.publicKeyPath)}  public key (armored)`);
  out(ctx, `  ${rel(key.keyringPath)}  keyring for hosts (binary, gpg --export form)`);
  out(ctx);
  out(ctx, '1. Store the private key as the ALLOY_SIGNING_KEY secret of the repository that runs the release workflow:');
  out(ctx, `     gh secret set ALLOY_SIGNING_KEY < ${rel(key.privateKeyPath)}`);
  if (passphrase) out(ctx, `     gh secret set ALLOY_SIGNING_KEY_PASSPHRASE   # paste the passphrase when asked`);
  out(ctx, '   (or Settings → Secrets and variables → Actions → New repository secret, pasting the whole armored file;');
  out(ctx, '   base64 of it is accepted too, as the old GPG_PRIVATE_KEY secret was).');
  out(ctx, '2. Pin the public key in the recipe so publish refuses anything signed by another key:');
  out(
    ctx,
    `     cp ${rel(key.publicKeyPath)} apps/alloy/${KEY_FILES.publicKey}   # then set "signing": { "publicKey": "${KEY_FILES.publicKey}" } in apps/alloy/sysext.json`,
  );
  out(ctx, "3. Add the key to each host's /etc/systemd/import-pubring.gpg, keeping the keys already there: systemd reads that");
  out(ctx, '   file instead of /usr/lib/systemd/import-pubring.gpg, so a keyring holding only this key breaks every other verified');
  out(ctx, `   download. The published Butane snippet (${recipe.name}-<version>-<arch>.bu) does it: it installs the key as`);
  out(ctx, `   ${releaseKeyPaths(recipe).key} and merges it at boot (${releaseKeyPaths(recipe).unit}). By hand on a host:`);
  out(ctx, `     install -m 0644 ${rel(key.keyringPath)} ${releaseKeyPaths(recipe).key}`);
  out(ctx, `     then run the merge script the snippet installs as ${releaseKeyPaths(recipe).script}`);
  out(ctx, `4. Keep an offline copy of ${rel(key.privateKeyPath)}, then delete it here. Losing it means every host needs a new keyring.`);
  out(ctx, 'Replacing a key consumers already trust? Do not switch ALLOY_SIGNING_KEY yet: first open the pull requests that add');
  out(ctx, `this key next to the old one, merge them and roll out: npm run release-bot -- keys rotate --new-key ${rel(key.publicKeyPath)}`);
  await writeSummary(
    ctx.env,
    `### New release signing key\n\nFingerprint \`${key.fingerprint}\` (${identity}). Store the private key as the \`ALLOY_SIGNING_KEY\` secret; merge \`${KEY_FILES.keyring}\` into each host's \`/etc/systemd/import-pubring.gpg\` (the published Butane snippet does this at boot).\n`,
  );
  return EXIT.OK;
}
