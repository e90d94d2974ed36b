// The rule for the published version set: it changes only by publish (adds a version) and prune/revoke (removes one, with
// a tombstone), and each change is recorded as the next signed state. Here are the decisions built on it: which state
// is the newest any witness knows, what a SHA256SUMS lacks or lists against it (rollback, revived version), what publish
// may sign, and recording the next state.
import semver from 'semver';
import { parseImageName } from '@alloy-sysext/common';
import { Manifest } from '@alloy-sysext/manifest';
import { PreconditionFailedError, type ObjectStore } from '@alloy-sysext/r2';
import type { SigningKey } from '@alloy-sysext/signing';
import { MANIFEST } from './names.js';
import type { Recipe } from './recipe.js';
import type { Voucher } from './vouch.js';
import {
  manifestDigest,
  readBucketState,
  readTombstones,
  sameSet,
  signState,
  stateKey,
  tombstoneKey,
  type Removal,
  type SignedRead,
  type VersionState,
} from './version-state.js';
import { gatherWitnesses, type Witnesses } from './witnesses.js';

/** A state and who holds it; `checked` when a trusted key's signature over it was verified in this run. */
export interface KnownState {
  source: string;
  state: VersionState;
  checked: boolean;
}

export interface History {
  name: string;
  /** The bucket's state object as read. */
  bucket: SignedRead<VersionState>;
  /** The newest state the bucket or a witness holds: what the next change extends. */
  last?: KnownState;
  /** Every version a removal recorded anywhere (states, tombstones) took out, for good. */
  removed: Map<string, Removal & { source: string }>;
  /** What is wrong with the history itself (the state object against the witnesses). */
  problems: string[];
  witnesses: Witnesses;
}

const newest = (versions: string[]) => [...versions].sort(semver.compare).at(-1);
export const describeRemoval = (r: Removal): string =>
  `${r.by === 'baseline' ? 'absent when the history began' : `${r.by}d`} at state #${r.sequence}${r.reason ? `: ${r.reason}` : ''}`;

/** Reads the bucket's state and tombstones and weighs them against the witnesses. */
export async function readHistory(opts: {
  store: ObjectStore;
  recipe: Pick<Recipe, 'name'>;
  keys: string[];
  witnesses: Witnesses;
}): Promise<History> {
  const { store, recipe, witnesses } = opts;
  const key = stateKey(recipe);
  const where = store.describe();
  const bucket = await readBucketState(store, recipe, opts.keys);
  const problems: string[] = [];
  const candidates: KnownState[] = [];
  const inBucket = bucket.kind === 'valid' || bucket.kind === 'unchecked' ? bucket.value : undefined;
  if (inBucket) candidates.push({ source: `${key} in ${where}`, state: inBucket, checked: bucket.kind === 'valid' });
  if (bucket.kind === 'invalid') problems.push(`${key} in ${where} is not a state a trusted key signed (${bucket.why})`);
  for (const w of witnesses.states) {
    candidates.push(w);
    const seen = `${w.source} recorded state #${w.state.sequence}`;
    if (bucket.kind === 'absent') problems.push(`${key} is missing from ${where}, but ${seen}: the bucket's history was deleted`);
    else if (!inBucket) continue;
    else if (w.state.sequence > inBucket.sequence)
      problems.push(`${key} in ${where} is state #${inBucket.sequence}, but ${seen}: an older state was put back (rollback)`);
    else if (w.state.sequence === inBucket.sequence && !sameSet(w.state, inBucket))
      problems.push(`${key} in ${where} is state #${inBucket.sequence}, and ${seen} with other contents (two histories)`);
  }
  const last = candidates.reduce<KnownState | undefined>((a, c) => (!a || c.state.sequence > a.state.sequence ? c : a), undefined);

  const removed = new Map<string, Removal & { source: string }>();
  for (const c of candidates)
    for (const r of c.state.removed) if (!removed.has(r.version)) removed.set(r.version, { ...r, source: c.source });
  const { tombstones, invalid } = await readTombstones(store, recipe, opts.keys);
  for (const t of tombstones)
    if (!removed.has(t.version)) removed.set(t.version, { ...t, source: `${tombstoneKey(recipe, t.version)} in ${where}` });
  // (one whose removal a state records is an old key's after a rotation: the state carries it)
  for (const k of invalid.filter((i) => !removed.has(i.version)))
    problems.push(`${k.key} in ${where} is not a tombstone a trusted key signed`);
  // A newer state may never lose a version an older one listed without recording its removal.
  if (inBucket)
    for (const w of witnesses.states.filter((s) => s.state.sequence < inBucket.sequence))
      for (const v of w.state.versions.filter((v) => !inBucket.versions.includes(v) && !removed.has(v)))
        problems.push(
          `state #${inBucket.sequence} in ${where} lacks ${v}, which ${w.source} lists at #${w.state.sequence}, and records no removal`,
        );
  return { name: recipe.name, bucket, last, removed, problems, witnesses };
}

/**
 * The history a change to the bucket (publish, prune, revoke) extends: the bucket's state and tombstones with this
 * workspace's last state and the mirror's. Its problems are logged (the change repairs a put-back SHA256SUMS or state);
 * a state object no trusted key signed is refused rather than overwritten.
 */
export async function historyForChange(opts: {
  store: ObjectStore;
  recipe: Pick<Recipe, 'name' | 'mirror'>;
  keys: string[];
  witnessFile: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}): Promise<History> {
  const witnesses = await gatherWitnesses({
    recipe: opts.recipe,
    keys: opts.keys,
    localFile: opts.witnessFile,
    env: opts.env,
    log: opts.log,
  });
  for (const note of witnesses.unavailable) opts.log(`history: witness ${note}`);
  const history = await readHistory({ ...opts, witnesses });
  for (const p of history.problems) opts.log(`history: ${p}`);
  if (history.bucket.kind === 'invalid')
    throw new Error(
      `refusing to change ${opts.store.describe()}: ${stateKey(opts.recipe)} there is not a state a trusted key signed ` +
        `(${history.bucket.why}). If the release key was rotated, list the old public key in signing.trustedKeys until a ` +
        `publish has re-signed the state; otherwise someone with bucket access wrote it: restore it from the mirror or from ` +
        `${opts.witnessFile} of the workspace that published last.`,
    );
  return history;
}

/** True when `line` ("<sha256>  <file>") is a line of a removed version (settleManifest drops it). */
export function isRemovedLine(history: History, line: string): boolean {
  const parsed = parseImageName(line.slice(66));
  return parsed?.name === history.name && history.removed.has(parsed.version);
}

/** What a SHA256SUMS lists against the newest known state. */
export interface ManifestVerdict {
  /** Versions the state lists that SHA256SUMS lacks, with no removal recorded: an older SHA256SUMS was put back. */
  rolledBack: string[];
  /** Removed versions SHA256SUMS lists again. */
  revived: Array<Removal & { source: string }>;
  /** Versions SHA256SUMS lists that no state records yet (a publish that stopped before recording its state). */
  unrecorded: string[];
}

export function compareManifest(history: History, versions: string[]): ManifestVerdict {
  const known = history.last?.state.versions ?? [];
  return {
    rolledBack: known.filter((v) => !versions.includes(v) && !history.removed.has(v)),
    revived: versions.filter((v) => history.removed.has(v)).map((v) => history.removed.get(v)!),
    unrecorded: history.last ? versions.filter((v) => !known.includes(v) && !history.removed.has(v)) : [],
  };
}

/** One line per rollback, revived version or unrecorded change, naming the version. */
export function verdictProblems(history: History, verdict: ManifestVerdict): string[] {
  const state = history.last ? `signed state #${history.last.state.sequence} (${history.last.source})` : '';
  return [
    ...verdict.rolledBack.map(
      (v) => `${MANIFEST} lacks ${v}, which ${state} lists and no tombstone removed: an older ${MANIFEST} was put back (rollback)`,
    ),
    ...verdict.revived.map(
      (r) => `${MANIFEST} lists ${r.version} again, which was ${describeRemoval(r)} (${r.source}): its lines were put back (revived)`,
    ),
    ...verdict.unrecorded.map(
      (v) => `${MANIFEST} lists ${v}, which ${state} does not record: a publish stopped before recording its state, or lines were added`,
    ),
  ];
}

/** Versions with a release tag that are newer than everything the bucket and the newest state list, and not removed. */
export function taggedButMissing(history: History, versions: string[]): string[] {
  const tags = history.witnesses.tags;
  if (!tags) return [];
  const listed = [...versions, ...(history.last?.state.versions ?? [])];
  const top = newest(listed);
  return tags.versions.filter((v) => !listed.includes(v) && !history.removed.has(v) && (!top || semver.gt(v, top)));
}

/** What check and status report: every history problem, and the repair (never a removed version). */
export function historyVerdict(history: History, versions: string[]): { problems: string[]; repairVersion?: string } {
  const tagged = taggedButMissing(history, versions);
  const problems = [
    ...history.problems,
    ...verdictProblems(history, compareManifest(history, versions)),
    ...tagged.map(
      (v) =>
        `release tag ${history.name}-v${v} (${history.witnesses.tags!.source}) names ${v}, which neither ${MANIFEST} nor the newest signed state lists and no tombstone removed: the bucket was rolled back`,
    ),
  ];
  const candidates = [...versions, ...(history.last?.state.versions ?? []), ...tagged].filter((v) => !history.removed.has(v));
  return { problems, repairVersion: newest(candidates) };
}

/** Refuses to publish a removed version: a removal is final (publish a new version instead). */
export function assertNotRemoved(history: History, version: string): void {
  const r = history.removed.get(version);
  if (r)
    throw new Error(
      `refusing to publish ${history.name} ${version}: it was ${describeRemoval(r)} (${r.source}), and a removed version is never ` +
        `published again (hosts and consumers were told it is gone). Publish a new version instead.`,
    );
}

/**
 * The SHA256SUMS publish may sign, from the bucket's: lines of removed versions dropped (a tombstone is final), and each
 * version the newest state lists but SHA256SUMS lacks restored from its signed fragment (SHA256SUMS was put back).
 * A version that cannot be restored so is refused, naming it: publish never signs a set without it.
 */
export async function settleManifest(
  history: History,
  current: Manifest,
  opts: { publishing?: string; voucher: Voucher; log: (line: string) => void },
): Promise<Manifest> {
  const verdict = compareManifest(history, current.versions(history.name));
  let next = current;
  for (const r of verdict.revived) {
    next = next.removeVersion(history.name, r.version);
    opts.log(`dropping ${r.version}'s lines from ${MANIFEST}: it was ${describeRemoval(r)} (${r.source})`);
  }
  const lost: string[] = [];
  for (const v of verdict.rolledBack.filter((v) => v !== opts.publishing)) {
    const entries = await opts.voucher.fragmentEntries(v);
    if (!entries) {
      lost.push(v);
      continue;
    }
    next = next.upsert(entries);
    opts.log(
      `restoring ${v}'s lines from its signed fragment: ${MANIFEST} lacked them, but signed state #${history.last!.state.sequence} lists ${v} (rollback)`,
    );
  }
  if (lost.length)
    throw new Error(
      `refusing to sign ${MANIFEST} without ${lost.join(', ')}: signed state #${history.last!.state.sequence} (${history.last!.source}) ` +
        `lists ${lost.length === 1 ? 'it' : 'them'} and no tombstone removed ${lost.length === 1 ? 'it' : 'them'}, and no signed fragment ` +
        `in the bucket holds ${lost.length === 1 ? 'its' : 'their'} lines (an older ${MANIFEST} was put back?). Publish ` +
        `${lost.map((v) => `npx nx run ${history.name}:publish --version=${v}`).join(', then ')} (each uploads its signed fragment), ` +
        `or remove a version deliberately with \`npm run release-bot -- revoke --version <version>\`.`,
    );
  return next;
}

/**
 * Records the bucket's SHA256SUMS as the next signed state, extending the newest one known (the bucket's, or a
 * witness's when the bucket's was put back). Refuses a SHA256SUMS that lost a version without a removal or lists a
 * removed one. Writes nothing when the newest state already says the same. Compare-and-swap on the state object, so
 * concurrent publishers each extend the other's state.
 */
export async function recordState(opts: {
  store: ObjectStore;
  recipe: Pick<Recipe, 'name'>;
  key: SigningKey;
  keys: string[];
  history: History;
  log: (line: string) => void;
}): Promise<{ state: VersionState; object: string; written: boolean }> {
  const { store, recipe, history, log } = opts;
  const key = stateKey(recipe);
  for (let attempt = 1; attempt <= 10; attempt++) {
    const bucket = await readBucketState(store, recipe, opts.keys);
    const base = [history.last?.state, bucket.kind === 'valid' ? bucket.value : undefined]
      .filter((s): s is VersionState => s !== undefined)
      .reduce<VersionState | undefined>((a, s) => (!a || s.sequence > a.sequence ? s : a), undefined);
    const text = (await store.get(MANIFEST))?.body.toString('utf8') ?? '';
    const versions = Manifest.parse(text).versions(recipe.name);
    const removed = new Map<string, Removal>(history.removed);
    for (const r of base?.removed ?? []) if (!removed.has(r.version)) removed.set(r.version, r);
    for (const t of (await readTombstones(store, recipe, opts.keys)).tombstones) if (!removed.has(t.version)) removed.set(t.version, t);
    const sequence = (base?.sequence ?? 0) + 1;
    if (!base) for (const v of await baselineRemovals(store, recipe, versions)) removed.set(v, { version: v, by: 'baseline', sequence });
    const revived = versions.filter((v) => removed.has(v));
    const lost = (base?.versions ?? []).filter((v) => !versions.includes(v) && !removed.has(v));
    if (revived.length || lost.length)
      throw new Error(
        `${MANIFEST} in ${store.describe()} changed while recording the version state: it ` +
          [revived.length ? `lists removed ${revived.join(', ')}` : '', lost.length ? `lacks ${lost.join(', ')}` : '']
            .filter(Boolean)
            .join(' and ') +
          `; rerun to converge`,
      );
    const next: VersionState = {
      format: 1,
      name: recipe.name,
      sequence,
      versions,
      removed: [...removed.values()].map(({ version, by, sequence: s, reason }) => ({
        version,
        by,
        sequence: s,
        ...(reason ? { reason } : {}),
      })),
      manifest: manifestDigest(text),
    };
    if (
      bucket.kind === 'valid' &&
      bucket.value.sequence === base?.sequence &&
      sameSet(bucket.value, { ...next, sequence: base.sequence })
    ) {
      log(`${key} in ${store.describe()} already records this set (state #${bucket.value.sequence})`);
      return { state: bucket.value, object: bucket.object, written: false };
    }
    const object = await signState(next, opts.key);
    try {
      await store.putBytes(key, Buffer.from(object), {
        contentType: 'text/plain; charset=utf-8',
        cacheControl: 'no-cache',
        ...(bucket.kind === 'absent' ? { ifNoneMatch: '*' as const } : { ifMatch: bucket.etag }),
      });
      log(`recorded state #${sequence} as ${key} in ${store.describe()}: ${versions.length} versions, ${removed.size} removed`);
      return { state: next, object, written: true };
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      log(`${key} changed under us in ${store.describe()}; re-reading (attempt ${attempt})`);
    }
  }
  throw new Error(`${key} in ${opts.store.describe()} kept changing; rerun to converge`);
}

/**
 * The first state of a bucket from before signed states: every version whose signed fragment is in the bucket but
 * whose lines SHA256SUMS no longer lists was removed by hand (the old runbook) and starts out removed, so its
 * fragment can never vouch for it again.
 */
async function baselineRemovals(store: ObjectStore, recipe: Pick<Recipe, 'name'>, listed: string[]): Promise<string[]> {
  const [head, tail] = [`${recipe.name}-`, `.${MANIFEST}`];
  return (await store.list(''))
    .map((o) => o.key)
    .filter((k) => k.startsWith(head) && k.endsWith(tail))
    .map((k) => k.slice(head.length, -tail.length))
    .filter((v) => semver.valid(v) === v && !listed.includes(v));
}
