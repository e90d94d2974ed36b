// Which SHA256SUMS lines publish may sign: those built and verified in this run, and those a trusted release key already
// signed (the bucket's SHA256SUMS.gpg over the bucket's SHA256SUMS, or the line's version fragment). The bucket's
// SHA256SUMS is data to verify, never text to re-sign: a line nothing vouches for is refused, naming it.
import { readFile } from 'node:fs/promises';
import { parseImageName } from '@alloy-sysext/common';
import { Manifest } from '@alloy-sysext/manifest';
import type { ObjectStore } from '@alloy-sysext/r2';
import { verifyDetached, type SigningKey } from '@alloy-sysext/signing';
import { MANIFEST } from './names.js';
import type { Recipe } from './recipe.js';

/** Per-version signed fragment in the bucket: the manifest step's SHA256SUMS of that version alone, and its .gpg. */
export function fragmentKey(recipe: Pick<Recipe, 'name'>, version: string): string {
  return `${recipe.name}-${version}.${MANIFEST}`;
}

/** The public keys whose signatures vouch for bucket content: recipe signing.trustedKeys (rotation), publicKey, our own. */
export async function trustedPublicKeys(recipe: Pick<Recipe, 'signing'>, key: Pick<SigningKey, 'publicKeyArmored'>): Promise<string[]> {
  const files = [...(recipe.signing.trustedKeys ?? []), ...(recipe.signing.publicKey ? [recipe.signing.publicKey] : [])];
  const keys = [key.publicKeyArmored];
  for (const file of files) {
    keys.push(
      await readFile(file, 'utf8').catch((error: Error) => {
        throw new Error(`trusted key ${file} (recipe signing.trustedKeys/publicKey) cannot be read: ${error.message}`, { cause: error });
      }),
    );
  }
  return keys;
}

/** True when `signature` is a valid detached signature of `data` by one of `keys`. */
export async function signedByAny(data: Uint8Array, signature: string | undefined, keys: string[]): Promise<boolean> {
  return (await signedBy(data, signature, keys)) !== undefined;
}

/** The one of `keys` (armored) whose valid detached signature `signature` is over `data`, if any. */
export async function signedBy(data: Uint8Array, signature: string | undefined, keys: string[]): Promise<string | undefined> {
  if (!signature) return undefined;
  for (const publicKey of keys) {
    const ok = await verifyDetached({ data, signature, publicKey }).then(
      () => true,
      () => false,
    );
    if (ok) return publicKey;
  }
  return undefined;
}

const lineOf = (e: { file: string; sha256: string }) => `${e.sha256}  ${e.file}`;

/**
 * Remembers what has been vouched for during one publish (a signed bucket state stays vouched for after our own write
 * replaced its signature) and answers which lines of a SHA256SUMS text nothing vouches for.
 */
export class Voucher {
  private readonly vouched = new Set<string>();
  private readonly fragments = new Map<string, Manifest | null>();

  constructor(
    private readonly opts: {
      store: ObjectStore;
      recipe: Pick<Recipe, 'name'>;
      keys: string[];
      builtNow: { file: string; sha256: string }[];
      /** Versions a tombstone removed (version-state.ts): no signature vouches for their lines any more. */
      removed?: ReadonlySet<string>;
    },
  ) {
    for (const e of opts.builtNow) this.vouched.add(lineOf(e));
  }

  /** A line of a version a tombstone removed: what signed it before, the removal overrides. */
  private removed(e: { file: string }): boolean {
    const parsed = parseImageName(e.file);
    return parsed?.name === this.opts.recipe.name && !!this.opts.removed?.has(parsed.version);
  }

  /**
   * Lines of `text` nothing vouches for; all of them are vouched for when `signature` verifies `text`, except the lines
   * of removed versions, which are always returned.
   */
  async unvouched(text: string, signature: string | undefined): Promise<string[]> {
    const manifest = Manifest.parse(text);
    const revoked = manifest.entries.filter((e) => this.removed(e));
    if (await signedByAny(Buffer.from(text, 'utf8'), signature, this.opts.keys)) {
      for (const e of manifest.entries) if (!this.removed(e)) this.vouched.add(lineOf(e));
      return revoked.map(lineOf);
    }
    const missing: { file: string; sha256: string }[] = [];
    for (const e of manifest.entries) {
      if (this.removed(e)) continue;
      if (this.vouched.has(lineOf(e))) continue;
      const version = parseImageName(e.file)?.version;
      const fragment = version ? await this.fragment(version) : null;
      if (fragment?.get(e.file)?.sha256 === e.sha256) this.vouched.add(lineOf(e));
      else missing.push(e);
    }
    // The signature may be over the text as it was before lines vouched for above were merged in (a publish that stopped
    // between its two writes, or a concurrent publisher's): then it vouches for the rest.
    if (
      missing.length &&
      (await signedByAny(Buffer.from(Manifest.empty().upsert(missing).serialize(), 'utf8'), signature, this.opts.keys))
    ) {
      for (const e of missing) this.vouched.add(lineOf(e));
      return revoked.map(lineOf);
    }
    return [...missing, ...revoked].map(lineOf);
  }

  /** The lines of `version` its signed fragment in the bucket holds, or undefined when it has none a trusted key signed. */
  async fragmentEntries(version: string): Promise<{ file: string; sha256: string }[] | undefined> {
    const fragment = await this.fragment(version);
    const own = fragment?.entries.filter((e) => {
      const parsed = parseImageName(e.file);
      return parsed?.name === this.opts.recipe.name && parsed.version === version;
    });
    return own?.length ? own : undefined;
  }

  private async fragment(version: string): Promise<Manifest | null> {
    if (!this.fragments.has(version)) {
      const key = fragmentKey(this.opts.recipe, version);
      const [text, signature] = await Promise.all([this.opts.store.get(key), this.opts.store.get(`${key}.gpg`)]);
      const ok = text && (await signedByAny(text.body, signature?.body.toString('utf8'), this.opts.keys));
      this.fragments.set(version, ok ? Manifest.parse(text.body.toString('utf8')) : null);
    }
    return this.fragments.get(version)!;
  }
}

/** The refusal for lines nothing vouches for: names each and the deliberate repair. */
export function unvouchedError(store: ObjectStore, recipe: Pick<Recipe, 'name'>, lines: string[]): Error {
  const versions = [...new Set(lines.map((l) => parseImageName(l.split(/\s+/)[1] ?? '')?.version).filter(Boolean))];
  return new Error(
    `refusing to sign ${MANIFEST} in ${store.describe()}: no valid signature by a trusted key vouches for ` +
      `${lines.length === 1 ? 'this line' : 'these lines'} (not SHA256SUMS.gpg, not the version's signed fragment ${fragmentKey(recipe, '<version>')}):\n` +
      lines.map((l) => `  ${l}`).join('\n') +
      `\nThe bucket's ${MANIFEST} is never signed as text. To repair it deliberately: for a version you did publish, run ` +
      `${versions.map((v) => `npx nx run ${recipe.name}:publish --version=${v}`).join(' / ') || `npx nx run ${recipe.name}:publish --version=<version>`} ` +
      `(it re-verifies that version and uploads its signed fragment); a line you did not publish must be removed from ${MANIFEST} ` +
      `in the bucket by hand (and its objects deleted), then rerun publish.`,
  );
}
