// The ordering helper: every versioned object is uploaded (skipped when the bucket already has the same bytes) and
// then re-checked (HEAD size + sha256; a skipped object's HEAD was its check) before returning, so the caller writes the manifest last, only over objects
// that are really there. Requests run a few at a time (a no-op publish is mostly HEADs, each a round trip to R2).
import { stat } from 'node:fs/promises';
import { StoreError } from './errors.js';
import { sha256File } from '@alloy-sysext/common';
import { cacheControlFor, contentTypeFor } from './content-types.js';
import type { Log, ObjectStore, Progress } from './store.js';

export interface PublishObject {
  key: string;
  path: string;
  contentType?: string;
  cacheControl?: string;
  /** sha256 of the file when the caller just computed it from these bytes (publish verifies every image first): the
   *  file is then not read a second time. */
  sha256?: string;
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
  const results = await mapLimit(objects, UPLOADS_IN_FLIGHT, async (o): Promise<PublishedObject> => {
    const size = (await stat(o.path)).size;
    const sha256 = o.sha256 ?? (await sha256File(o.path));
    const r = await store.putFile(o.key, o.path, {
      sha256,
      contentType: o.contentType ?? contentTypeFor(o.key),
      cacheControl: o.cacheControl ?? cacheControlFor(o.key),
      onProgress: opts.onProgress,
    });
    log(`${r.skipped ? 'unchanged' : 'uploaded'} ${o.key} (${size} bytes, sha256 ${sha256})`);
    return { key: o.key, size, sha256, etag: r.etag, skipped: r.skipped };
  });
  // A skipped object was found in place by a HEAD (size and sha256) a moment ago: that was its check.
  const uploaded = results.filter((r) => !r.skipped);
  const checked = await mapLimit(uploaded, HEADS_IN_FLIGHT, async (r) => {
    const h = await store.head(r.key);
    if (!h) return `${r.key}: missing after upload`;
    if (h.size !== r.size) return `${r.key}: size ${h.size}, expected ${r.size}`;
    if (h.sha256 !== r.sha256) return `${r.key}: sha256 ${h.sha256 ?? '(none recorded)'}, expected ${r.sha256}`;
    return undefined;
  });
  const problems = checked.filter((p): p is string => p !== undefined);
  if (problems.length) {
    throw new StoreError(
      `Verification after upload to ${store.describe()} failed; not safe to write the manifest:\n  ${problems.join('\n  ')}`,
      'failed',
    );
  }
  log(
    uploaded.length === results.length
      ? `verified ${results.length} object(s) in ${store.describe()}`
      : `verified ${results.length} object(s) in ${store.describe()} (${results.length - uploaded.length} found in place, ${uploaded.length} checked after upload)`,
  );
  return results;
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
