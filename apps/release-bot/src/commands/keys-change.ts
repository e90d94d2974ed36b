// `keys rotate` and `keys retire`: one pull request per consumer adding the new release key next to the old one, or
// removing the old one once every line of SHA256SUMS is signed by the new key. The same pull-request flow as version
// bumps (marker, supersede, humans respected, dry run); a table of outcomes at the end.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { addKey, removeKey, runConsumerFlow, type ConsumerEdit } from '@alloy-sysext/ghost-stack';
import { Manifest } from '@alloy-sysext/manifest';
import {
  consumerKeyPath,
  credentialSource,
  failedConsumers,
  githubApiUrl,
  healthKeys,
  MANIFEST,
  MANIFEST_SIGNATURE,
  signedBy,
  summaryTable,
  toConsumer,
  type ConsumerOutcome,
  type Recipe,
} from '@alloy-sysext/pipeline';
import { armorPublicKeys, readKeyring, readPublicKey, type KeyringKey } from '@alloy-sysext/signing';
import { markdownTable, writeSummary } from '../actions.js';
import { bucketFor, logger, out, recipeFor, type Ctx } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';

export interface KeysRotateOptions {
  /** The new release key's public key file (armored, or a binary keyring as `keys generate` writes it). */
  newKey: string;
  dryRun?: boolean;
}

export interface KeysRetireOptions {
  /** The old release key's public key file. */
  old: string;
  dryRun?: boolean;
}

/** The one public key in `file` (relative to ctx.cwd); what the user typed is wrong otherwise: a usage error. */
async function readOneKey(ctx: Ctx, file: string, flag: string): Promise<KeyringKey> {
  const what = `${flag} ${file}`;
  const bytes = await readFile(path.resolve(ctx.cwd, file)).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`${what}: cannot be read (${error.code ?? error.message}); expected the release key's public key file`);
  });
  // a binary keyring starts with a packet header (high bit set); anything else is read as armored text
  const binary = bytes.length > 0 && (bytes[0]! & 0x80) !== 0;
  const keys = await readKeyring(binary ? new Uint8Array(bytes) : bytes.toString('utf8'), what).catch((error: Error) => {
    throw new UsageError(error.message);
  });
  if (keys.length !== 1)
    throw new UsageError(`${what} holds ${keys.length} keys (${keys.map((k) => k.fingerprint).join(', ')}); pass exactly one`);
  if (keys[0]!.version !== 4)
    throw new UsageError(`${what}: ${keys[0]!.fingerprint} is a v${keys[0]!.version} key; hosts' gpg (2.2) verifies v4 keys only`);
  return keys[0]!;
}

/** Runs `edit` for every consumer; each is attempted, and each gets a named outcome. */
async function editConsumers(ctx: Ctx, recipe: Recipe, edit: (keyPath: string) => ConsumerEdit, dryRun: boolean | undefined) {
  const log = logger(ctx);
  const outcomes: ConsumerOutcome[] = [];
  const diffs: string[] = [];
  for (const entry of recipe.consumers) {
    try {
      const r = await runConsumerFlow({
        consumer: toConsumer(entry, ctx.env),
        edit: edit(consumerKeyPath(recipe, entry)),
        githubUrl: githubApiUrl(ctx.env),
        dryRun,
        log,
        octokitOptions: ctx.octokit,
      });
      const credentials = r.status === 'dry-run' && !dryRun ? `dry run, credentials: ${credentialSource(entry.auth, ctx.env)}` : '';
      const detail = [r.pr?.url, r.superseded?.length ? `superseded #${r.superseded.join(', #')}` : '', credentials].filter(Boolean);
      outcomes.push({ consumer: entry.name, status: r.status, detail: detail.join('; ') || '—' });
      if (r.diff) diffs.push(`--- ${entry.name}: ${r.body?.split('\n')[0]?.replace(/^# /, '')}\n${r.diff}`);
    } catch (error) {
      const message = `consumer ${entry.name} (${entry.repo}, credentials: ${credentialSource(entry.auth, ctx.env)}): ${(error as Error).message}`;
      log(`${entry.name}: failed: ${message}`);
      outcomes.push({ consumer: entry.name, status: 'failed', detail: message });
    }
  }
  return { outcomes, diffs };
}

async function report(ctx: Ctx, title: string, result: { outcomes: ConsumerOutcome[]; diffs: string[] }, next: string[]): Promise<number> {
  out(ctx, summaryTable(result.outcomes));
  for (const diff of result.diffs) out(ctx, `\n${diff.trimEnd()}`);
  const failed = failedConsumers(result.outcomes);
  if (!failed.length && next.length) out(ctx, `\n${next.join('\n')}`);
  if (failed.length)
    ctx.stderr.write(`${failed.length} of ${result.outcomes.length} consumers failed: ${failed.map((o) => o.consumer).join(', ')}\n`);
  await writeSummary(
    ctx.env,
    `### ${title}\n\n${markdownTable(
      ['consumer', 'status', 'pull request or error'],
      result.outcomes.map((o) => [o.consumer, o.status, o.detail]),
    )}`,
  );
  return failed.length ? EXIT.ERROR : EXIT.OK;
}

export async function keysRotate(ctx: Ctx, o: KeysRotateOptions): Promise<number> {
  const key = await readOneKey(ctx, o.newKey, '--new-key');
  const recipe = await recipeFor(ctx);
  out(ctx, `Trusting the new release key ${key.fingerprint}${key.userIds.length ? ` (${key.userIds.join(', ')})` : ''} in every consumer:`);
  const result = await editConsumers(ctx, recipe, (keyPath) => addKey(key, { keyPath }), o.dryRun);
  return report(ctx, `Trust release key ${key.fingerprint}`, result, [
    'Next: merge these pull requests and roll the hosts out. Then list the old public key in the recipe',
    `("signing": { "trustedKeys": ["old-key.pub.asc"] }), switch ALLOY_SIGNING_KEY to the new key and publish the newest`,
    `version (npx nx run ${recipe.name}:publish --version=<newest>); publish refuses the switch while a consumer's base`,
    `branch does not trust ${key.fingerprint}. Afterwards: npm run release-bot -- keys retire --old <old public key file>`,
  ]);
}

/**
 * The key every line of the bucket's SHA256SUMS is signed by now: SHA256SUMS.gpg must verify with a trusted key (the
 * recipe's, ALLOY_SIGNING_KEY's, the development key's; never the bucket's keyring) that is not `old`.
 */
async function currentSigner(ctx: Ctx, recipe: Recipe, old: KeyringKey): Promise<string> {
  const store = bucketFor(ctx, recipe);
  const manifest = await store.get(MANIFEST);
  if (!manifest) throw new Error(`refusing to retire ${old.fingerprint}: ${store.describe()} has no ${MANIFEST} yet`);
  const signature = (await store.get(MANIFEST_SIGNATURE))?.body.toString('utf8');
  const where = `${MANIFEST_SIGNATURE} in ${store.describe()}`;
  const newest = newestListed(manifest.body, recipe.name) ?? '<newest>';
  if (await signedBy(manifest.body, signature, [armorPublicKeys(old.binary)]))
    throw new Error(
      `refusing to retire ${old.fingerprint}: ${where} is still signed by it, so hosts need it. Publish with the new key ` +
        `first (npx nx run ${recipe.name}:publish --version=${newest}), then retire.`,
    );
  const trusted = [];
  for (const k of await healthKeys(recipe, ctx.env, ctx.root))
    if ((await readPublicKey(k)).fingerprint !== old.fingerprint) trusted.push(k);
  const signer = await signedBy(manifest.body, signature, trusted);
  if (!signer)
    throw new Error(
      `refusing to retire ${old.fingerprint}: ${where} does not verify with any other trusted key (the recipe's signing.publicKey ` +
        'and trustedKeys, ALLOY_SIGNING_KEY), so nothing shows that every line is signed by the new key',
    );
  const fingerprint = (await readPublicKey(signer)).fingerprint;
  out(ctx, `Every line of ${MANIFEST} in ${store.describe()} is signed by ${fingerprint}; retiring ${old.fingerprint}:`);
  return fingerprint;
}

export async function keysRetire(ctx: Ctx, o: KeysRetireOptions): Promise<number> {
  const old = await readOneKey(ctx, o.old, '--old');
  const recipe = await recipeFor(ctx);
  const keep = await currentSigner(ctx, recipe, old);
  const result = await editConsumers(ctx, recipe, (keyPath) => removeKey(old, { keyPath, keep }), o.dryRun);
  return report(ctx, `Retire release key ${old.fingerprint}`, result, [
    `Next: merge these pull requests, then remove ${o.old} from the recipe's signing.trustedKeys.`,
  ]);
}

/** The newest version of `name` SHA256SUMS lists, for the command a message prints (a text that does not parse has none;
 *  its signature is still checked). */
function newestListed(body: Buffer, name: string): string | undefined {
  try {
    return Manifest.parse(body).versions(name).at(-1);
  } catch {
    return undefined;
  }
}
