// The ordering helper: every versioned object is uploaded (skipped when the bucket is proved to hold the same bytes) and
// then re-checked (size and the server's checksum, else the sha256 our upload recorded; a skipped object's proof was its
// check) before returning, so the caller writes the manifest last, only over objects that are really there. Requests
// run a few at a time (a no-op publish is mostly HEADs, each a round trip to R2).
import { stat } from 'node:fs/promises';
import { StoreError } from './errors.js';
import { sha256File } from '@alloy-sysext/common';
import { cacheControlFor, contentTypeFor } from './content-types.js';
import type { BytesProof, Log, ObjectStore, Progress } from './store.js';

export interface PublishObject {
  key: string;
  path: string;
  contentType?: string;
  cacheControl?: string;
  /** sha256 of the file when the caller just computed it from these bytes (publish verifies every image first): the
   *  file is then not read a second time. */
  sha256?: string;
  /**
   * Key of another object of this publish with the same bytes (same sha256): this one is then made on the server by
   * copying that one once it is uploaded and re-checked, instead of sending the bytes twice. `path` still gives the size.
   */
  copyOf?: string;
}

/** Objects uploaded at once (each upload also sends its parts in parallel), and HEADs in flight when re-checking. */
const UPLOADS_IN_FLIGHT = 3;
const HEADS_IN_FLIGHT = 8;

export interface PublishedObject {
  key: string;
  size: number;
  sha256: string;
  etag: string;
  skipped: boolean;
}

export async function publishObjects(
  store: ObjectStore,
  objects: PublishObject[],
  opts: { log?: Log; onProgress?: (p: Progress) => void } = {},
): Promise<PublishedObject[]> {
  const log = opts.log ?? (() => {});
  const keys = new Set<string>();
  for (const o of objects) {
    if (keys.has(o.key)) throw new Error(`publishObjects: key ${JSON.stringify(o.key)} is listed twice`);
    keys.add(o.key);
  }
  const sent = objects.filter((o) => o.copyOf === undefined);
  const copies = objects.filter((o) => o.copyOf !== undefined);
  for (const c of copies) {
    const source = sent.find((o) => o.key === c.copyOf);
    if (!source || source.sha256 === undefined || source.sha256 !== c.sha256) {
      throw new Error(
        `publishObjects: ${c.key} is a copy of ${c.copyOf}, which must be sent in the same publish with the same known sha256`,
      );
    }
  }
  const write = async (o: PublishObject, sourceEtag?: string): Promise<PublishedObject> => {
    const size = (await stat(o.path)).size;
    const sha256 = o.sha256 ?? (await sha256File(o.path));
    const r = o.copyOf
      ? await store.copy(o.copyOf, o.key, { sha256, file: o.path, ...(sourceEtag ? { sourceEtag } : {}), ...headers(o) })
      : await store.putFile(o.key, o.path, { sha256, ...headers(o), onProgress: opts.onProgress });
    const over = r.replaced ? `, replacing other bytes (${describeProof(r.replaced)})` : '';
    log(
      `${r.skipped ? 'unchanged' : o.copyOf ? `copied from ${o.copyOf} to` : 'uploaded'} ${o.key} (${size} bytes, sha256 ${sha256})${over}`,
    );
    return { key: o.key, size, sha256, etag: r.etag, skipped: r.skipped };
  };
  // Each object sent; an object others copy is re-checked at once and its copies made on the server from it (while the
  // other uploads go on), then re-checked in turn. The rest are re-checked together at the end.
  const results = new Map<string, PublishedObject>();
  const checked = new Set<string>();
  await mapLimit(sent, UPLOADS_IN_FLIGHT, async (o) => {
    const r = await write(o);
    results.set(r.key, r);
    const ofThis = copies.filter((c) => c.copyOf === o.key);
    if (!ofThis.length) return;
    await recheck(store, [r]);
    // made from the object just written or proved, by its etag
    const made = await Promise.all(ofThis.map((c) => write(c, r.etag || undefined)));
    await recheck(store, made);
    for (const m of [r, ...made]) {
      results.set(m.key, m);
      checked.add(m.key);
    }
  });
  await recheck(
    store,
    [...results.values()].filter((r) => !checked.has(r.key)),
  );
  const all = objects.map((o) => results.get(o.key)!);
  const uploaded = all.filter((r) => !r.skipped);
  log(
    uploaded.length === all.length
      ? `verified ${all.length} object(s) in ${store.describe()}`
      : `verified ${all.length} object(s) in ${store.describe()} (${all.length - uploaded.length} found in place, ${uploaded.length} checked after upload)`,
  );
  return all;
}

/** What publishObjects would do with one object: send it, copy it on the server, or leave it (already in place). */
export interface PlannedObject {
  key: string;
  action: 'upload' | 'copy' | 'unchanged';
  size: number;
  sha256: string;
}

/**
 * What publishObjects would do (a dry run): an object is left as it is exactly when the bucket is proved to hold its
 * bytes, the rule both stores apply before writing (its size and the server's checksum, else the object read).
 */
export async function planObjects(store: ObjectStore, objects: PublishObject[]): Promise<PlannedObject[]> {
  return mapLimit(objects, HEADS_IN_FLIGHT, async (o) => {
    const size = (await stat(o.path)).size;
    const sha256 = o.sha256 ?? (await sha256File(o.path));
    const inPlace = (await store.proveBytes(o.key, { sha256, size, file: o.path }))?.same === true;
    return { key: o.key, action: inPlace ? 'unchanged' : o.copyOf ? 'copy' : 'upload', size, sha256 };
  });
}

/** "sha256 …, proved by read": what a proof found, for a line of output. */
function describeProof(p: BytesProof): string {
  return `${p.sha256 ? `sha256 ${p.sha256}` : `${p.size} bytes`}, proved by ${p.by ?? 'size'}`;
}

function headers(o: PublishObject) {
  return { contentType: o.contentType ?? contentTypeFor(o.key), cacheControl: o.cacheControl ?? cacheControlFor(o.key) };
}

/**
 * Each object written, checked without a download: its size and the server's checksum (proveBytes 'never'), else the
 * sha256 our own upload recorded a moment ago (this guards against a lost write, not against a bucket writer). A skipped
 * object was proved in place a moment ago: that was its check.
 */
async function recheck(store: ObjectStore, results: PublishedObject[]): Promise<void> {
  const checked = await mapLimit(
    results.filter((r) => !r.skipped),
    HEADS_IN_FLIGHT,
    async (r) => {
      const proof = await store.proveBytes(r.key, { sha256: r.sha256, size: r.size }, 'never');
      if (!proof) return `${r.key}: missing after upload`;
      if (proof.same === false) return `${r.key}: ${proof.sha256 ? `sha256 ${proof.sha256}` : `size ${proof.size}`}, expected ${r.sha256}`;
      if (proof.same === undefined) {
        const recorded = (await store.head(r.key))?.sha256;
        if (recorded !== r.sha256) return `${r.key}: sha256 ${recorded ?? '(none recorded)'}, expected ${r.sha256}`;
      }
      return undefined;
    },
  );
  const problems = checked.filter((p): p is string => p !== undefined);
  if (problems.length) {
    throw new StoreError(
      `Verification after upload to ${store.describe()} failed; not safe to write the manifest:\n  ${problems.join('\n  ')}`,
      'failed',
    );
  }
}

/** `fn` over `items` with at most `limit` calls pending; results in the items' order; the first failure rejects. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (error) {
        failed = true; // start nothing new; the calls already pending finish
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
