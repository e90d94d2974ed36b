// Recording the next signed version state after a change to the bucket (publish, prune, revoke): what SHA256SUMS lists
// now, every removal known, sequence + 1. Compare-and-swap on the state object, like SHA256SUMS.
import semver from 'semver';
import { Manifest } from '@alloy-sysext/manifest';
import { PreconditionFailedError, type ObjectStore } from '@alloy-sysext/r2';
import type { SigningKey } from '@alloy-sysext/signing';
import type { History } from './history.js';
import { MANIFEST } from './names.js';
import type { Recipe } from './recipe.js';
import {
  manifestDigest,
  readBucketState,
  readTombstones,
  sameSet,
  signState,
  stateKey,
  type Removal,
  type SignedRead,
  type VersionState,
} from './version-state.js';

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
  const { store, recipe, log } = opts;
  const key = stateKey(recipe);
  for (let attempt = 1; attempt <= 10; attempt++) {
    const bucket = await readBucketState(store, recipe, opts.keys);
    const text = (await store.get(MANIFEST))?.body.toString('utf8') ?? '';
    const { next, sequence, recorded } = await nextState({ ...opts, bucket, text });
    if (recorded) {
      log(`${key} in ${store.describe()} already records this set (state #${recorded.state.sequence})`);
      return { ...recorded, written: false };
    }
    const object = await signState(next, opts.key);
    try {
      await store.putBytes(key, Buffer.from(object), {
        contentType: 'text/plain; charset=utf-8',
        cacheControl: 'no-cache',
        ...(bucket.kind === 'absent' ? { ifNoneMatch: '*' as const } : { ifMatch: bucket.etag }),
      });
      log(
        `recorded state #${sequence} as ${key} in ${store.describe()} (${next.versions.length} versions, ${next.removed.length} removed)`,
      );
      return { state: next, object, written: true };
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      log(`${key} changed under us in ${store.describe()}; re-reading (attempt ${attempt})`);
    }
  }
  throw new Error(`${key} in ${opts.store.describe()} kept changing; rerun to converge`);
}

/**
 * The state that records `text` (the SHA256SUMS the bucket holds, or will hold once a seal is applied) as the next after
 * the newest one known (the bucket's, or a witness's when the bucket's was put back); `recorded` instead when the
 * bucket's state already says the same. Refuses a text that lost a version without a removal or lists a removed one.
 */
export async function nextState(opts: {
  store: ObjectStore;
  recipe: Pick<Recipe, 'name'>;
  keys: string[];
  history: History;
  bucket: SignedRead<VersionState>;
  text: string;
}): Promise<{ next: VersionState; sequence: number; recorded?: { state: VersionState; object: string } }> {
  const { store, recipe, history, bucket, text } = opts;
  const inBucket = bucket.kind === 'valid' ? bucket.value : undefined;
  const base = newer(history.last?.state, inBucket);
  const versions = Manifest.parse(text).versions(recipe.name);
  const sequence = (base?.sequence ?? 0) + 1;
  const removed = new Map<string, Removal>();
  const remove = (r: Removal) => removed.has(r.version) || removed.set(r.version, removal(r));
  [...history.removed.values(), ...(base?.removed ?? [])].forEach(remove);
  (await readTombstones(store, recipe, opts.keys)).tombstones.forEach(remove);
  const baseline = base ? [] : await baselineRemovals(store, recipe, versions);
  for (const version of baseline) remove({ version, by: 'baseline', sequence });
  assertForward(store, versions, base, removed);
  const next: VersionState = {
    format: 1,
    name: recipe.name,
    sequence,
    versions,
    removed: [...removed.values()],
    manifest: manifestDigest(text),
  };
  const same = bucket.kind === 'valid' && bucket.value.sequence === base?.sequence && sameSet(bucket.value, next);
  return { next, sequence, ...(same ? { recorded: { state: bucket.value, object: bucket.object } } : {}) };
}

/** The newer of two states (the first on a tie). */
export function newer(a: VersionState | undefined, b: VersionState | undefined): VersionState | undefined {
  return !b || (a && a.sequence >= b.sequence) ? a : b;
}

/** Just the removal's fields (what a state records), whatever else the object carries. */
function removal({ version, by, sequence, reason }: Removal): Removal {
  return { version, by, sequence, ...(reason ? { reason } : {}) };
}

/** SHA256SUMS as the next state would record it may not list a removed version or lack one `base` lists. */
function assertForward(store: ObjectStore, versions: string[], base: VersionState | undefined, removed: Map<string, unknown>) {
  const revived = versions.filter((v) => removed.has(v));
  const lost = (base?.versions ?? []).filter((v) => !versions.includes(v) && !removed.has(v));
  if (revived.length === 0 && lost.length === 0) return;
  const what = [revived.length ? `lists removed ${revived.join(', ')}` : '', lost.length ? `lacks ${lost.join(', ')}` : ''];
  const where = `${MANIFEST} in ${store.describe()}`;
  throw new Error(`${where} changed while recording the version state: it ${what.filter(Boolean).join(' and ')}; rerun to converge`);
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
