// The rule for the published version set: it changes only by publish (adds a version) and prune/revoke (removes one,
// with a tombstone), and each change is recorded as the next signed state (record-state.ts). The decisions built on it:
// which state is the newest any witness knows, what a SHA256SUMS lacks or lists against it (a rollback, a revived
// version), what the repair is, and what publish may sign.
import semver from 'semver';
import { parseImageName } from '@alloy-sysext/common';
import { Manifest } from '@alloy-sysext/manifest';
import type { ObjectStore } from '@alloy-sysext/r2';
import { MANIFEST } from './names.js';
import type { Recipe } from './recipe.js';
import type { Voucher } from './vouch.js';
import {
  readBucketState,
  readTombstones,
  sameSet,
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
/** The one with the newer state (the first on a tie). */
function newestState<T extends { state: VersionState }>(a: T | undefined, c: T): T {
  return !a || c.state.sequence > a.state.sequence ? c : a;
}

/** "revoked at state #3: crashes on start" */
export function describeRemoval(r: Removal): string {
  const how = r.by === 'baseline' ? 'absent when the history began' : `${r.by}d`;
  return `${how} at state #${r.sequence}${r.reason ? `: ${r.reason}` : ''}`;
}

/** Reads the bucket's state and tombstones and weighs them against the witnesses. */
export async function readHistory(opts: {
  store: ObjectStore;
  recipe: Pick<Recipe, 'name'>;
  keys: string[];
  witnesses: Witnesses;
}): Promise<History> {
  const { store, recipe, witnesses } = opts;
  const where = `${stateKey(recipe)} in ${store.describe()}`;
  const bucket = await readBucketState(store, recipe, opts.keys);
  const inBucket = bucket.kind === 'valid' || bucket.kind === 'unchecked' ? bucket.value : undefined;
  const candidates: KnownState[] = [...witnesses.states];
  if (inBucket) candidates.unshift({ source: where, state: inBucket, checked: bucket.kind === 'valid' });
  const problems = stateProblems(where, bucket, witnesses);

  const removed = new Map<string, Removal & { source: string }>();
  const remove = (r: Removal, source: string) => removed.has(r.version) || removed.set(r.version, { ...r, source });
  for (const c of candidates) for (const r of c.state.removed) remove(r, c.source);
  const { tombstones, invalid } = await readTombstones(store, recipe, opts.keys);
  for (const t of tombstones) remove(t, `${tombstoneKey(recipe, t.version)} in ${store.describe()}`);
  // (a removal a state records is fine with an unverifiable tombstone: an old key's, after a rotation)
  for (const t of invalid.filter((i) => !removed.has(i.version)))
    problems.push(`${t.key} in ${store.describe()} is not a tombstone a trusted key signed`);
  // A newer state may never lose a version an older one listed without recording its removal.
  for (const w of witnesses.states.filter((s) => inBucket && s.state.sequence < inBucket.sequence)) {
    const lost = w.state.versions.filter((v) => !inBucket!.versions.includes(v) && !removed.has(v));
    const at = `${w.source} lists at #${w.state.sequence}`;
    for (const v of lost) problems.push(`${where} (#${inBucket!.sequence}) lacks ${v}, which ${at}, with no removal`);
  }
  const last = candidates.reduce<KnownState | undefined>(newestState, undefined);
  return { name: recipe.name, bucket, last, removed, problems, witnesses };
}

/** The bucket's state object against each witness's: invalid, deleted, put back, or forked. */
function stateProblems(where: string, bucket: SignedRead<VersionState>, witnesses: Witnesses): string[] {
  const inBucket = bucket.kind === 'valid' || bucket.kind === 'unchecked' ? bucket.value : undefined;
  const problems: string[] = [];
  if (bucket.kind === 'invalid') problems.push(`${where} is not a state a trusted key signed (${bucket.why})`);
  for (const w of witnesses.states) {
    const seen = `${w.source} recorded state #${w.state.sequence}`;
    if (bucket.kind === 'absent') problems.push(`${where} is missing, but ${seen}: the bucket's history was deleted`);
    else if (!inBucket) continue;
    else if (w.state.sequence > inBucket.sequence)
      problems.push(`${where} is state #${inBucket.sequence}, but ${seen}: an older state was put back (rollback)`);
    else if (w.state.sequence === inBucket.sequence && !sameSet(w.state, inBucket))
      problems.push(`${where} is state #${inBucket.sequence}, and ${seen} with other contents (two histories)`);
  }
  return problems;
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
  if (history.bucket.kind !== 'invalid') return history;
  const where = `${opts.store.describe()}: ${stateKey(opts.recipe)} there`;
  throw new Error(
    `refusing to change ${where} is not a state a trusted key signed (${history.bucket.why}). If the release key was ` +
      'rotated, list the old public key in signing.trustedKeys until a publish has re-signed the state; otherwise ' +
      `someone with bucket access wrote it: restore it from the mirror or from ${opts.witnessFile} of the workspace ` +
      'that published last.',
  );
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
  const putBack = `an older ${MANIFEST} was put back (rollback)`;
  const stopped = 'a publish stopped before recording its state, or lines were added';
  return [
    ...verdict.rolledBack.map((v) => `${MANIFEST} lacks ${v}, which ${state} lists and no tombstone removed: ${putBack}`),
    ...verdict.revived.map((r) => {
      const stopped = r.by === 'baseline' ? '' : `, or the ${r.by} stopped before removing them (rerun it)`;
      return `${MANIFEST} lists ${r.version} again, which was ${describeRemoval(r)} (${r.source}): its lines were put back (revived)${stopped}`;
    }),
    ...verdict.unrecorded.map((v) => `${MANIFEST} lists ${v}, which ${state} does not record: ${stopped}`),
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
  const untracked = (v: string) =>
    `release tag ${history.name}-v${v} (${history.witnesses.tags!.source}) names ${v}, which neither ${MANIFEST} nor ` +
    'the newest signed state lists and no tombstone removed: the bucket was rolled back';
  const listed = verdictProblems(history, compareManifest(history, versions));
  const problems = [...history.problems, ...listed, ...tagged.map(untracked)];
  const candidates = [...versions, ...(history.last?.state.versions ?? []), ...tagged];
  return { problems, repairVersion: newest(candidates.filter((v) => !history.removed.has(v))) };
}

/** Refuses to publish a removed version: a removal is final (publish a new version instead). */
export function assertNotRemoved(history: History, version: string): void {
  const r = history.removed.get(version);
  if (!r) return;
  throw new Error(
    `refusing to publish ${history.name} ${version}: it was ${describeRemoval(r)} (${r.source}), and a removed version ` +
      'is never published again (hosts and consumers were told it is gone). Publish a new version instead.',
  );
}

/**
 * The SHA256SUMS publish may sign, from the bucket's: lines of removed versions dropped (a tombstone is final), and
 * each version the newest state lists but SHA256SUMS lacks restored from its signed fragment (SHA256SUMS was put back).
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
  const state = `signed state #${history.last?.state.sequence}`;
  const lost: string[] = [];
  for (const v of verdict.rolledBack.filter((v) => v !== opts.publishing)) {
    const entries = await opts.voucher.fragmentEntries(v);
    if (entries) next = next.upsert(entries);
    else lost.push(v);
    if (entries) opts.log(`restoring ${v}'s lines from its signed fragment: ${MANIFEST} lacked them, but ${state} lists it`);
  }
  if (lost.length === 0) return next;
  const [it, its] = lost.length === 1 ? ['it', 'its'] : ['them', 'their'];
  const publish = lost.map((v) => `npx nx run ${history.name}:publish --version=${v}`).join(', then ');
  throw new Error(
    `refusing to sign ${MANIFEST} without ${lost.join(', ')}: ${state} (${history.last!.source}) lists ${it} and no ` +
      `tombstone removed ${it}, and no signed fragment in the bucket holds ${its} lines (an older ${MANIFEST} was put ` +
      `back?). Publish ${publish} (each uploads its signed fragment), or remove a version deliberately with ` +
      '`npm run release-bot -- revoke --version <version>`.',
  );
}
