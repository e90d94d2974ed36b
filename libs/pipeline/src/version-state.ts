// The signed history of the published version set. Publish adds a version, prune and revoke remove one, and each change
// is recorded in the bucket as signed, ordered evidence: the version state (sequence number, versions, removals, sha256
// of SHA256SUMS) and one tombstone per removed version. Both are cleartext-signed objects (text and signature in one
// object, so one conditional write replaces a state whole); hosts never read them, systemd-sysupdate reads SHA256SUMS.
import semver from 'semver';
import { sha256Bytes } from '@alloy-sysext/common';
import type { ObjectStore } from '@alloy-sysext/r2';
import { signCleartext, unverifiedCleartext, verifyCleartext, type SigningKey } from '@alloy-sysext/signing';
import type { Recipe } from './recipe.js';

/** How a version left: `prune` (retention), `revoke` (a bad version), `baseline` (gone before the history began). */
export type RemovedBy = 'prune' | 'revoke' | 'baseline';

/** One removed version: final, a removed version is never listed or published again. */
export interface Removal {
  version: string;
  by: RemovedBy;
  /** The state sequence number the removal was recorded with. */
  sequence: number;
  reason?: string;
}

export interface VersionState {
  format: 1;
  name: string;
  /** 1 for the first state of a bucket, +1 for each change. */
  sequence: number;
  /** Versions of `name` SHA256SUMS listed when this state was signed, semver order. */
  versions: string[];
  removed: Removal[];
  /** sha256 of that SHA256SUMS. */
  manifest: string;
}

/** A removed version's own signed statement, beside its objects. */
export interface Tombstone extends Removal {
  format: 1;
  name: string;
}

type Named = Pick<Recipe, 'name'>;

/** Where the state lives in the bucket (and in the mirror). */
export function stateKey(recipe: Pick<Recipe, 'name'>): string {
  return `${recipe.name}-state.asc`;
}

export function tombstoneKey(recipe: Pick<Recipe, 'name'>, version: string): string {
  return `${recipe.name}-${version}.tombstone.asc`;
}

const bySemver = (a: string, b: string) => semver.compare(a, b);
const HEX64 = /^[0-9a-f]{64}$/;
const BY: readonly RemovedBy[] = ['prune', 'revoke', 'baseline'];

function removalJson(r: Removal): Removal {
  return { version: r.version, by: r.by, sequence: r.sequence, ...(r.reason ? { reason: r.reason } : {}) };
}

/** Canonical text: the same state always serializes to the same bytes. */
export function serializeState(s: VersionState): string {
  const state = {
    format: 1,
    name: s.name,
    sequence: s.sequence,
    versions: [...s.versions].sort(bySemver),
    removed: [...s.removed].sort((a, b) => bySemver(a.version, b.version)).map(removalJson),
    manifest: s.manifest,
  };
  return `${JSON.stringify(state, null, 2)}\n`;
}

export function serializeTombstone(t: Tombstone): string {
  return `${JSON.stringify({ format: 1, name: t.name, ...removalJson(t) }, null, 2)}\n`;
}

/** Strict: anything but a well-formed state of image `name` is an error naming what is wrong. */
export function parseState(text: string, name: string): VersionState {
  const fail = (why: string): never => {
    throw new Error(`version state: ${why}`);
  };
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return fail('not JSON');
  }
  if (v?.format !== 1) fail(`format ${JSON.stringify(v?.format)}, expected 1`);
  if (v.name !== name) fail(`names image ${JSON.stringify(v.name)}, expected ${JSON.stringify(name)}`);
  if (!Number.isSafeInteger(v.sequence) || (v.sequence as number) < 1)
    fail(`sequence ${JSON.stringify(v.sequence)} is not a whole number >= 1`);
  if (!Array.isArray(v.versions) || !v.versions.every((x) => typeof x === 'string' && semver.valid(x) === x))
    fail('versions is not a list of semver versions');
  if (typeof v.manifest !== 'string' || !HEX64.test(v.manifest)) fail('manifest is not a sha256');
  if (!Array.isArray(v.removed)) fail('removed is not a list');
  const removed = (v.removed as unknown[]).map((r) => parseRemoval(r, fail));
  const versions = v.versions as string[];
  const both = versions.filter((x) => removed.some((r) => r.version === x));
  if (both.length) fail(`${both.join(', ')} both listed and removed`);
  return { format: 1, name, sequence: v.sequence as number, versions, removed, manifest: v.manifest as string };
}

export function parseTombstone(text: string, name: string, version: string): Tombstone {
  const fail = (why: string): never => {
    throw new Error(`tombstone of ${name} ${version}: ${why}`);
  };
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return fail('not JSON');
  }
  if (v?.format !== 1 || v.name !== name) fail('not a format 1 tombstone of this image');
  const removal = parseRemoval(v, fail);
  if (removal.version !== version) fail(`names version ${removal.version}`);
  return { format: 1, name, ...removal };
}

function parseRemoval(r: unknown, fail: (why: string) => never): Removal {
  const o = r as Partial<Record<keyof Removal, unknown>>;
  const what = `removal of ${JSON.stringify(o?.version)}`;
  if (typeof o?.version !== 'string' || semver.valid(o.version) !== o.version) fail(`${what}: not a semver version`);
  if (!BY.includes(o.by as RemovedBy)) fail(`${what}: by ${JSON.stringify(o.by)}, expected ${BY.join(' | ')}`);
  if (!Number.isSafeInteger(o.sequence) || (o.sequence as number) < 1) fail(`${what}: no sequence number`);
  if (o.reason !== undefined && typeof o.reason !== 'string') fail(`${what}: reason is not text`);
  return removalJson(o as Removal);
}

/** What reading a signed object gave: nothing there, a statement a trusted key signed, or an object that is not one. */
export type SignedRead<T> =
  | { kind: 'absent' }
  | { kind: 'valid'; value: T; object: string; etag: string; fingerprint: string }
  /** No trusted key is known here: parsed, but nothing vouches for it. */
  | { kind: 'unchecked'; value: T; object: string; etag: string }
  | { kind: 'invalid'; why: string; etag: string };

/** Verifies and parses one cleartext-signed object's text; `keys` empty means nothing can be verified here. */
export async function readSigned<T>(
  object: string,
  etag: string,
  keys: string[],
  parse: (text: string) => T,
): Promise<Exclude<SignedRead<T>, { kind: 'absent' }>> {
  if (keys.length === 0) {
    const text = await unverifiedCleartext(object);
    if (text === undefined) return { kind: 'invalid', why: 'not a cleartext-signed object', etag };
    try {
      return { kind: 'unchecked', value: parse(text), object, etag };
    } catch (error) {
      return { kind: 'invalid', why: (error as Error).message, etag };
    }
  }
  const verified = await verifyCleartext(object, keys);
  if (!verified) return { kind: 'invalid', why: 'no valid signature by a trusted key', etag };
  try {
    return { kind: 'valid', value: parse(verified.text), object, etag, fingerprint: verified.fingerprint };
  } catch (error) {
    return { kind: 'invalid', why: (error as Error).message, etag };
  }
}

export async function readBucketState(store: ObjectStore, recipe: Named, keys: string[]): Promise<SignedRead<VersionState>> {
  const got = await store.get(stateKey(recipe));
  if (!got) return { kind: 'absent' };
  return readSigned(got.body.toString('utf8'), got.etag, keys, (text) => parseState(text, recipe.name));
}

/**
 * Every tombstone in the bucket that a trusted key signed (with no trusted key known here: every one that parses,
 * unchecked), and the keys of those that are not, for messages.
 */
export async function readTombstones(
  store: ObjectStore,
  recipe: Pick<Recipe, 'name'>,
  keys: string[],
): Promise<{ tombstones: Tombstone[]; invalid: Array<{ key: string; version: string }> }> {
  const [head, tail] = [`${recipe.name}-`, '.tombstone.asc'];
  const found = (await store.list(''))
    .map((o) => o.key)
    .filter((k) => k.startsWith(head) && k.endsWith(tail) && k.length > head.length + tail.length)
    .map((k) => [k, k.slice(head.length, -tail.length)]);
  const tombstones: Tombstone[] = [];
  const invalid: Array<{ key: string; version: string }> = [];
  for (const [key, version] of found) {
    const got = await store.get(key!);
    const read = got
      ? await readSigned(got.body.toString('utf8'), got.etag, keys, (t) => parseTombstone(t, recipe.name, version!))
      : undefined;
    if (read && read.kind !== 'invalid') tombstones.push(read.value);
    else invalid.push({ key: key!, version: version! });
  }
  return { tombstones, invalid };
}

export function signState(state: VersionState, key: SigningKey): Promise<string> {
  return signCleartext(serializeState(state), key);
}

export function signTombstone(tombstone: Tombstone, key: SigningKey): Promise<string> {
  return signCleartext(serializeTombstone(tombstone), key);
}

/** The same statement, whatever its sequence number: nothing changed since. */
export function sameSet(a: VersionState, b: VersionState): boolean {
  const { sequence: _a, ...x } = a;
  const { sequence: _b, ...y } = b;
  return serializeState({ ...x, sequence: 1 }) === serializeState({ ...y, sequence: 1 });
}

export const manifestDigest = (text: string): string => sha256Bytes(text);
