// The seal: every text publish writes that carries the release key's signature over more than one version's files —
// SHA256SUMS with this version merged into the bucket's (and SHA256SUMS.gpg), the next signed version state that records
// that SHA256SUMS (version-state.ts), and the version's provenance. It is made
// where the key is (the seal target: in the release workflow the sign job, which may read the bucket but not write it) and
// applied by publish, which may write the bucket but holds no key. A seal comes from a cache like any output, so publish
// re-checks it: the key's signatures, the subjects, and that it merges exactly this version into the bucket as it is.
import { MANIFEST, MANIFEST_SIGNATURE, type Log } from '@alloy-sysext/common';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Manifest, mergeManifest, signManifest } from '@alloy-sysext/manifest';
import type { ObjectStore } from '@alloy-sysext/r2';
import { verifyDetached, type SigningKey } from '@alloy-sysext/signing';
import { assertNotRemoved, historyForChange, isRemovedLine, settleManifest, type History } from './history.js';
import type { versionLayout } from './layout.js';
import { parseStatement, signedProvenance } from './provenance.js';
import type { Recipe } from './recipe.js';
import { newer, nextState } from './record-state.js';
import { recoveryAdvice, type VerifiedAsset } from './upstream-trust.js';
import { manifestDigest, parseState, readBucketState, readSigned, signState, stateKey, type VersionState } from './version-state.js';
import { unvouchedError, Voucher } from './vouch.js';
import { localWitnessFile } from './witnesses.js';

/** What the seal merged into, beside its texts: the version and the sha256 of the bucket's SHA256SUMS (null: none). */
export const SEAL_RECORD = 'sealed.json';

export interface SealedProvenance {
  /** Object name, `<name>-<version>.intoto.json`. */
  name: string;
  text: string;
  signature: string;
}

export interface Seal {
  dir: string;
  /** The sysext's name (the recipe's), for messages. */
  name: string;
  version: string;
  /** SHA256SUMS as it is to be written: the bucket's as it was (`base`) with this version's entries merged in. */
  manifest: string;
  /** Detached armored signature of `manifest` (SHA256SUMS.gpg). */
  signature: string;
  /** sha256 of the bucket's SHA256SUMS the seal merged into, null when the bucket had none. */
  base: string | null;
  provenance?: SealedProvenance;
  /** The next version state, recording `manifest`; absent when the bucket's state already records it. */
  state?: SealedState;
}

/** `<name>-state.asc` as the seal carries it: the cleartext-signed object and what it states. */
export interface SealedState {
  object: string;
  state: VersionState;
}

/** What sealing one version works on. */
export interface SealTarget {
  recipe: Recipe;
  version: string;
  layout: ReturnType<typeof versionLayout>;
  /** The bucket, read only. */
  store: ObjectStore;
  key: SigningKey;
  /** Public keys whose signatures vouch for lines the bucket already holds (vouch.ts). */
  trustedKeys: string[];
  /** This version's entries, verified in this run (the lines the seal adds). */
  entries: { file: string; sha256: string }[];
  /** Where the seal's files go (the seal target's output, or a working directory of publish). */
  dir: string;
  /** Environment: GitHub credentials to read the mirror's witness of the version state (witnesses.ts). */
  env: NodeJS.ProcessEnv;
  /**
   * What the provenance statement is made of besides the images: the workspace root, the environment (run details) and
   * the upstream assets re-checked against their digest roots in this run. Without it the seal carries none (unit tests).
   */
  provenance?: { root: string; env: NodeJS.ProcessEnv; upstream: VerifiedAsset[] };
  /** A statement sealed before for this run (publish re-sealing after a concurrent write keeps it). */
  keepProvenance?: SealedProvenance;
  log: Log;
}

const sha256Text = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Reads the bucket's SHA256SUMS, refuses lines nothing vouches for (the bucket's text is data, never text to re-sign),
 * merges this version's entries, signs the result and the provenance, and writes them with the record under `dir`.
 */
export async function sealVersion(opts: SealTarget): Promise<Seal> {
  const { store, key, recipe, version, log } = opts;
  const keys = opts.trustedKeys;
  // The version set only moves forward: a removed version is never sealed again (history.ts).
  const witnessFile = localWitnessFile(opts.layout.witness, store);
  const history = await historyForChange({ store, recipe, keys, witnessFile, env: opts.env, log });
  assertNotRemoved(history, version);
  const [current, bucketState] = await Promise.all([store.get(MANIFEST), readBucketState(store, recipe, keys)]);
  const base = current ? current.body.toString('utf8') : null;
  const manifest = await mergeForPublish({ store, recipe, keys, history, entries: opts.entries, version, current: base, log });
  const { next, recorded } = await nextState({ store, recipe, keys, history, bucket: bucketState, text: manifest });
  const seal: Seal = {
    dir: opts.dir,
    name: recipe.name,
    version,
    manifest,
    signature: await signManifest(manifest, key),
    base: base === null ? null : sha256Text(base),
    provenance:
      opts.keepProvenance ??
      (opts.provenance &&
        (await signedProvenance({ ...opts, ...opts.provenance, publicKey: key.publicKeyArmored, entries: opts.entries }))),
    ...(recorded ? {} : { state: { state: next, object: await signState(next, key) } }),
  };
  await writeSeal(seal, recipe);
  log(
    `sealed ${MANIFEST} for ${version} against ${store.describe()} ` +
      `(${base === null ? 'no manifest there yet' : `its ${MANIFEST} sha256 ${seal.base}`}), signed by ${key.fingerprint}` +
      (seal.state ? `; version state #${next.sequence}` : ''),
  );
  return seal;
}

/**
 * The SHA256SUMS a publish of `version` signs, from the bucket's `current` (null: none yet). Merges only into a
 * SHA256SUMS whose every line a trusted key vouches for (vouch.ts), without removed versions and with every version the
 * newest signed state lists (history.ts). The seal makes it; publish makes it again to check the seal. No retention
 * here: publish cannot see which versions consumers pin; `release-bot prune` applies bucket.keep.
 */
export async function mergeForPublish(opts: {
  store: ObjectStore;
  recipe: Recipe;
  keys: string[];
  history: History;
  entries: { file: string; sha256: string }[];
  version: string;
  current: string | null;
  log: Log;
}): Promise<string> {
  const { store, recipe, history, current } = opts;
  if (current === null) return mergeManifest(null, opts.entries);
  const removed = new Set(history.removed.keys());
  const voucher = new Voucher({ store, recipe, keys: opts.keys, builtNow: opts.entries, removed });
  const signature = (await store.get(MANIFEST_SIGNATURE))?.body.toString('utf8');
  const missing = (await voucher.unvouched(current, signature)).filter((line) => !isRemovedLine(history, line));
  if (missing.length) throw unvouchedError(store, recipe, missing);
  const settled = await settleManifest(history, Manifest.parse(current), { publishing: opts.version, voucher, log: opts.log });
  return settled.upsert(opts.entries).serialize();
}

async function writeSeal(seal: Seal, recipe: Pick<Recipe, 'name'>): Promise<void> {
  await rm(seal.dir, { recursive: true, force: true });
  await mkdir(seal.dir, { recursive: true });
  const write = (name: string, text: string) => writeFile(path.join(seal.dir, name), text);
  await write(MANIFEST, seal.manifest);
  await write(MANIFEST_SIGNATURE, seal.signature);
  await write(SEAL_RECORD, `${JSON.stringify({ version: seal.version, base: seal.base }, null, 2)}\n`);
  if (seal.provenance) {
    await write(seal.provenance.name, seal.provenance.text);
    await write(`${seal.provenance.name}.asc`, seal.provenance.signature);
  }
  if (seal.state) await write(stateKey(recipe), seal.state.object);
}

/**
 * The seal under `dir` (undefined when there is none), checked as anything from a cache is: both signatures by
 * `publicKey`, the record names this version, and the provenance's subjects are exactly `entries`.
 */
export async function readSeal(opts: {
  recipe: Pick<Recipe, 'name'>;
  dir: string;
  version: string;
  provenanceName: string;
  publicKey: string;
  entries: { file: string; sha256: string }[];
}): Promise<Seal | undefined> {
  const { dir } = opts;
  const read = (name: string) => readFile(path.join(dir, name), 'utf8').catch(() => undefined);
  const [manifest, signature, record] = await Promise.all([read(MANIFEST), read(MANIFEST_SIGNATURE), read(SEAL_RECORD)]);
  if (manifest === undefined && signature === undefined && record === undefined) return undefined;
  const refuse = (problem: string) => new Error(`refusing to publish: ${problem}\n${recoveryAdvice(opts.recipe.name, opts.version)}`);
  if (manifest === undefined || signature === undefined || record === undefined) {
    throw refuse(`the seal in ${dir} is incomplete (it needs ${MANIFEST}, ${MANIFEST_SIGNATURE} and ${SEAL_RECORD})`);
  }
  await verifyDetached({ data: Buffer.from(manifest, 'utf8'), signature, publicKey: opts.publicKey }).catch((error: Error) => {
    throw refuse(`${path.join(dir, MANIFEST_SIGNATURE)} does not verify ${MANIFEST} beside it: ${error.message}`);
  });
  let parsed: { version?: unknown; base?: unknown };
  try {
    parsed = JSON.parse(record) as typeof parsed;
  } catch {
    throw refuse(`${path.join(dir, SEAL_RECORD)} is not JSON`);
  }
  if (
    parsed.version !== opts.version ||
    !(parsed.base === null || (typeof parsed.base === 'string' && /^[0-9a-f]{64}$/.test(parsed.base)))
  ) {
    throw refuse(`${path.join(dir, SEAL_RECORD)} does not describe a seal of ${opts.version} (expected version and a 64-hex or null base)`);
  }
  const seal: Seal = { dir, name: opts.recipe.name, version: opts.version, manifest, signature, base: parsed.base };
  const [text, asc] = await Promise.all([read(opts.provenanceName), read(`${opts.provenanceName}.asc`)]);
  if (text !== undefined || asc !== undefined) {
    if (text === undefined || asc === undefined) throw refuse(`the seal's provenance in ${dir} lacks its statement or signature`);
    await verifyDetached({ data: Buffer.from(text, 'utf8'), signature: asc, publicKey: opts.publicKey }).catch((error: Error) => {
      throw refuse(`${path.join(dir, `${opts.provenanceName}.asc`)} does not verify: ${error.message}`);
    });
    const subjects = parseStatement(text)
      .subject.map((s) => `${s.digest.sha256}  ${s.name}`)
      .sort();
    const expected = opts.entries.map((e) => `${e.sha256}  ${e.file}`).sort();
    if (subjects.join('\n') !== expected.join('\n')) {
      throw refuse(`the seal's provenance ${opts.provenanceName} states other images than the ones verified now`);
    }
    seal.provenance = { name: opts.provenanceName, text, signature: asc };
  }
  const stateName = stateKey(opts.recipe);
  const stateObject = await read(stateName);
  if (stateObject !== undefined) {
    const read = await readSigned(stateObject, '', [opts.publicKey], (t) => parseState(t, opts.recipe.name));
    if (read.kind !== 'valid') throw refuse(`the seal's ${stateName} in ${dir} is not a state the release key signed`);
    const listed = Manifest.parse(manifest).versions(opts.recipe.name);
    if (read.value.manifest !== manifestDigest(manifest) || read.value.versions.join() !== listed.join()) {
      throw refuse(`the seal's ${stateName} (state #${read.value.sequence}) does not record the sealed ${MANIFEST}`);
    }
    seal.state = { object: stateObject, state: read.value };
  }
  return seal;
}

/** How a seal stands against the bucket's SHA256SUMS now. */
export type SealFit =
  /** the bucket already holds exactly the sealed text */
  | 'written'
  /** the bucket holds what the seal merged into: writing it adds this version and nothing else */
  | 'fits'
  /** the bucket changed since the seal was made: it must be made again (where the key is) */
  | 'stale';

/**
 * Decides whether `seal` may be written over the bucket's `current` SHA256SUMS. `merge` makes what publish would sign
 * over `current` (mergeForPublish, re-run here): a seal whose record matches but whose text differs was not made from
 * these inputs, and is refused.
 */
export async function sealFit(seal: Seal, current: string | null, merge: (current: string | null) => Promise<string>): Promise<SealFit> {
  if (current !== null && current === seal.manifest) return 'written';
  if ((current === null ? null : sha256Text(current)) !== seal.base) return 'stale';
  if ((await merge(current)) !== seal.manifest) {
    throw new Error(
      `refusing to publish: the seal in ${seal.dir} does not merge exactly ${seal.version}'s verified images into the ` +
        `bucket's ${MANIFEST} it names as its base\n${recoveryAdvice(seal.name, seal.version)}`,
    );
  }
  return 'fits';
}

/**
 * How the seal's version state stands against the newest state known now (the bucket's, or a witness's): it must be the
 * very next one. An older or equal sequence means the bucket moved since the seal ('stale'); one that skips a sequence
 * was not made against this history, and is refused. No state in the seal: the bucket's already records its SHA256SUMS.
 */
export function stateFit(seal: Seal, history: History, bucket: VersionState | undefined, bucketObject?: string): SealFit {
  if (!seal.state) return 'written';
  if (bucketObject === seal.state.object) return 'written';
  const expected = (newer(history.last?.state, bucket)?.sequence ?? 0) + 1;
  const sequence = seal.state.state.sequence;
  if (sequence < expected) return 'stale';
  if (sequence > expected) {
    throw new Error(
      `refusing to publish: the seal's version state is #${sequence}, but the newest state known is #${expected - 1} ` +
        `(it skips a sequence: it was not made against this bucket's history)\n${recoveryAdvice(seal.name, seal.version)}`,
    );
  }
  return 'fits';
}
