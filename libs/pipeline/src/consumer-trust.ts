// Which release keys each consumer's base branch trusts (the fingerprints in its key entry), and the rule publish keeps
// with it: the key that signs SHA256SUMS switches only once every consumer trusts the new key. A host provisioned from
// a file that does not trust it refuses SHA256SUMS.gpg, and systemd-sysupdate stops updating it.
import { ConsumerRepo, readConsumer, readKeyEntry } from '@alloy-sysext/ghost-stack';
import type { RetryOptions, ThrottleOptions } from '@alloy-sysext/github';
import type { ObjectStore } from '@alloy-sysext/r2';
import { readPublicKey, signatureIssuedBy, type SigningKey } from '@alloy-sysext/signing';
import { readFile } from 'node:fs/promises';
import { githubApiUrl, toConsumer } from './consumers.js';
import { MANIFEST_SIGNATURE } from './names.js';
import type { ConsumerRecipe, Recipe } from './recipe.js';
import { releaseKeyPaths } from './snippets.js';

export interface ConsumerTrust {
  consumer: string;
  /** `owner/name:path@base` */
  file: string;
  /** storage.files path of the key entry */
  keyPath: string;
  /** fingerprints the base branch trusts, in file order */
  fingerprints?: string[];
  /** why they could not be read (credentials, network, no key entry …) */
  error?: string;
}

export interface ConsumerReadOptions {
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  octokit?: { retry?: RetryOptions; throttle?: ThrottleOptions };
}

/** Where a consumer keeps the release keys: its recipe `keyPath`, else where the published snippet installs them. */
export function consumerKeyPath(recipe: Pick<Recipe, 'name'>, entry: Pick<ConsumerRecipe, 'keyPath'>): string {
  return entry.keyPath ?? releaseKeyPaths(recipe).key;
}

/** A read-only session on the consumer's repository with its credentials (anonymous without any: public reads). */
export function consumerSession(entry: ConsumerRecipe, o: ConsumerReadOptions & { dryRun?: boolean }): Promise<ConsumerRepo> {
  return ConsumerRepo.connect({
    consumer: toConsumer(entry, o.env),
    githubUrl: githubApiUrl(o.env),
    dryRun: o.dryRun ?? true,
    log: o.log,
    octokitOptions: o.octokit,
  });
}

/** The keys the consumer's base branch trusts; a failure is reported in the result, naming its cause. */
export async function readConsumerTrust(
  recipe: Pick<Recipe, 'name'>,
  entry: ConsumerRecipe,
  o: ConsumerReadOptions,
): Promise<ConsumerTrust> {
  const keyPath = consumerKeyPath(recipe, entry);
  const row: ConsumerTrust = { consumer: entry.name, file: `${entry.repo}:${entry.path}@${entry.base}`, keyPath };
  try {
    const base = await readConsumer(await consumerSession(entry, o));
    row.fingerprints = (await readKeyEntry(base.text, { keyPath, label: base.label })).keys.map((k) => k.fingerprint);
  } catch (error) {
    row.error = (error as Error).message;
  }
  return row;
}

/**
 * Why this publish may switch the key hosts verify SHA256SUMS with, or undefined: the recipe lists a trusted key other
 * than this one (a rotation is under way: decided by the recipe, which no bucket writer can change), or the bucket's
 * SHA256SUMS.gpg was issued by another key. Issued, not valid: a publish cut off between SHA256SUMS and its signature
 * leaves our own signature over the previous text, and the rerun that repairs it is no switch.
 */
export async function keySwitchReason(recipe: Pick<Recipe, 'signing'>, store: ObjectStore, key: SigningKey): Promise<string | undefined> {
  for (const file of recipe.signing.trustedKeys ?? []) {
    const { fingerprint } = await readPublicKey(await readFile(file, 'utf8')).catch((error: Error) => {
      throw new Error(`trusted key ${file} (recipe signing.trustedKeys): ${error.message}`, { cause: error });
    });
    if (fingerprint !== key.fingerprint)
      return `the recipe's signing.trustedKeys lists ${fingerprint}, another key than ${key.fingerprint} (a rotation is under way)`;
  }
  const signature = (await store.get(MANIFEST_SIGNATURE))?.body.toString('utf8');
  // none, or unreadable: nothing says who signed (a broken bucket that publish repairs; the recipe still decides)
  const ours = signature === undefined ? undefined : await signatureIssuedBy(signature, key.publicKeyArmored);
  if (ours !== false) return undefined;
  return `${MANIFEST_SIGNATURE} in ${store.describe()} is signed by another key than ${key.fingerprint}`;
}

export type TrustCheck = 'same-key' | 'development-key-local-bucket' | 'every-consumer-trusts' | 'overridden';

/**
 * Refuses a publish that would switch the signing key while a consumer's base branch does not trust the new key (or
 * cannot be read: trust is not assumed). Skipped for the development key on the local bucket, which no consumer host
 * reads; `allowUntrustedKey` publishes anyway, loudly.
 */
export async function checkConsumersTrustKey(o: {
  recipe: Recipe;
  version: string;
  key: SigningKey;
  development: boolean;
  /** the store is the local directory bucket (no R2 configured) */
  localBucket: boolean;
  store: ObjectStore;
  allowUntrustedKey?: boolean;
  read: ConsumerReadOptions;
}): Promise<TrustCheck> {
  const { recipe, key, store, read } = o;
  const reason = await keySwitchReason(recipe, store, key);
  if (!reason) return 'same-key';
  if (o.development && o.localBucket) {
    read.log(`${reason}; the development key on the local bucket, which no consumer host reads: consumers not checked`);
    return 'development-key-local-bucket';
  }
  read.log(`${reason}: checking that every consumer's base branch trusts ${key.fingerprint}`);
  const rows = await Promise.all(recipe.consumers.map((c) => readConsumerTrust(recipe, c, read)));
  const untrusting = rows.filter((r) => !r.fingerprints?.includes(key.fingerprint));
  if (untrusting.length === 0) return 'every-consumer-trusts';
  const lines = untrusting.map(
    (r) =>
      `  ${r.consumer} (${r.file}, ${r.keyPath}): ` +
      (r.error ? `cannot tell: ${r.error}` : `trusts ${r.fingerprints!.join(', ')}, not ${key.fingerprint}`),
  );
  if (o.allowUntrustedKey) {
    read.log(
      [
        '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
        `!! --allowUntrustedKey: publishing with ${key.fingerprint}, which these consumers do not trust;`,
        '!! hosts provisioned from them refuse SHA256SUMS.gpg and stop updating until they do:',
        ...lines.map((l) => `!!${l}`),
        '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      ].join('\n'),
    );
    return 'overridden';
  }
  throw new Error(
    `refusing to publish with release key ${key.fingerprint}: ${reason}, and hosts provisioned from ` +
      `${untrusting.length === 1 ? 'this consumer' : 'these consumers'} would refuse ${MANIFEST_SIGNATURE} by it:\n${lines.join('\n')}\n` +
      `Open the pull requests that add the key (npm run release-bot -- keys rotate --new-key <its public key file>), merge ` +
      `them and roll the hosts out, then publish again (npm run release-bot -- status shows which keys each consumer trusts). ` +
      `To publish anyway: npx nx run ${recipe.name}:publish --version=${o.version} --allowUntrustedKey`,
  );
}
