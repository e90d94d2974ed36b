// Taking versions out of the published set (prune, revoke), the only way one leaves it: a signed tombstone per version
// first, then SHA256SUMS without them (compare-and-swap) and its signature, then the next signed state. A crash
// anywhere leaves the tombstones in place, and every later publish honours them; a rerun converges. Objects stay (the
// caller deletes them, if it should).
import { Manifest } from '@alloy-sysext/manifest';
import { compareAndSwap, type ObjectStore } from '@alloy-sysext/r2';
import type { SigningKey } from '@alloy-sysext/signing';
import { describeRemoval, historyForChange, isRemovedLine, settleManifest, type History } from './history.js';
import { recordState } from './record-state.js';
import { MANIFEST, MANIFEST_SIGNATURE } from './names.js';
import { mirrorManifest, signCurrentManifest } from './publish.js';
import type { Recipe } from './recipe.js';
import { readTombstones, signTombstone, tombstoneKey, type RemovedBy, type Tombstone } from './version-state.js';
import { unvouchedError, Voucher } from './vouch.js';
import { rememberState } from './witnesses.js';

export interface RemovalResult {
  /** Tombstones written by this run (a rerun finds them in place). */
  tombstones: string[];
  manifestChanged: boolean;
  signatureChanged: boolean;
  state: { sequence: number; written: boolean };
}

export async function removeVersions(opts: {
  store: ObjectStore;
  recipe: Pick<Recipe, 'name' | 'mirror'>;
  key: SigningKey;
  /** Public keys whose signatures vouch for what the bucket holds (recipe signing.trustedKeys and ours). */
  keys: string[];
  versions: string[];
  by: Exclude<RemovedBy, 'baseline'>;
  reason?: string;
  witnessFile: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** The history the caller read already (historyForChange), to not read every witness twice. */
  history?: History;
}): Promise<RemovalResult> {
  const { store, recipe, key, keys, log } = opts;
  const { witnessFile, env } = opts;
  const history = opts.history ?? (await historyForChange({ store, recipe, keys, witnessFile, env, log }));
  if (!(await store.get(MANIFEST))) throw new Error(`${store.describe()} has no ${MANIFEST}: no version to remove`);
  const sequence = (history.last?.state.sequence ?? 0) + 1;
  const written: string[] = [];
  const inBucket = new Set((await readTombstones(store, recipe, keys)).tombstones.map((t) => t.version));
  const removed = new Map(history.removed);
  for (const version of opts.versions) {
    const earlier = history.removed.get(version);
    if (earlier) log(`${version} was already ${describeRemoval(earlier)} (${earlier.source})`);
    const tombstone: Tombstone = earlier
      ? { format: 1, name: recipe.name, ...earlier }
      : { format: 1, name: recipe.name, version, by: opts.by, sequence, ...(opts.reason && { reason: opts.reason }) };
    removed.set(version, { ...tombstone, source: `${tombstoneKey(recipe, version)} in ${store.describe()}` });
    if (inBucket.has(version)) continue;
    // unconditional: an object under this key that no trusted key signed is not a tombstone, and is replaced
    await store.putBytes(tombstoneKey(recipe, version), Buffer.from(await signTombstone(tombstone, key)), {
      contentType: 'text/plain; charset=utf-8',
    });
    written.push(tombstoneKey(recipe, version));
    log(`wrote ${tombstoneKey(recipe, version)} to ${store.describe()}: ${version} ${opts.by}d`);
  }
  const after: History = { ...history, removed };
  const voucher = new Voucher({ store, recipe, keys, builtNow: [], removed: new Set(removed.keys()) });
  const { changed: manifestChanged } = await compareAndSwap(
    store,
    MANIFEST,
    async (current) => {
      const text = current ?? '';
      const signature = (await store.get(MANIFEST_SIGNATURE))?.body.toString('utf8');
      const missing = (await voucher.unvouched(text, signature)).filter((line) => !isRemovedLine(after, line));
      if (missing.length) throw unvouchedError(store, recipe, missing);
      return (await settleManifest(after, Manifest.parse(text), { voucher, log })).serialize();
    },
    { log, contentType: 'text/plain; charset=utf-8', cacheControl: 'no-cache' },
  );
  const signatureChanged = await signCurrentManifest({ store, key, voucher, recipe, log });
  const recorded = await recordState({ store, recipe, key, keys, history: after, log });
  await rememberState(opts.witnessFile, recorded, recipe);
  if (recipe.mirror) await mirrorManifest(recipe, store, `alloy-sysext: ${opts.by} ${opts.versions.join(', ')}`, log);
  return {
    tombstones: written,
    manifestChanged,
    signatureChanged,
    state: { sequence: recorded.state.sequence, written: recorded.written },
  };
}
