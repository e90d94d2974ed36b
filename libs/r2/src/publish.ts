// The ordering helper: every versioned object is uploaded (skipped when the bucket already has the same bytes) and
// then re-checked (HEAD size + sha256) before returning, so the caller writes the manifest last, only over objects
// that are really there.
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
}

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
  const results: PublishedObject[] = [];
  for (const o of objects) {
    const size = (await stat(o.path)).size;
    const sha256 = await sha256File(o.path);
    const r = await store.putFile(o.key, o.path, {
      sha256,
      contentType: o.contentType ?? contentTypeFor(o.key),
      cacheControl: o.cacheControl ?? cacheControlFor(o.key),
      onProgress: opts.onProgress,
    });
    log(`${r.skipped ? 'unchanged' : 'uploaded'} ${o.key} (${size} bytes, sha256 ${sha256})`);
    results.push({ key: o.key, size, sha256, etag: r.etag, skipped: r.skipped });
  }
  const problems: string[] = [];
  for (const r of results) {
    const h = await store.head(r.key);
    if (!h) problems.push(`${r.key}: missing after upload`);
    else if (h.size !== r.size) problems.push(`${r.key}: size ${h.size}, expected ${r.size}`);
    else if (h.sha256 !== r.sha256) problems.push(`${r.key}: sha256 ${h.sha256 ?? '(none recorded)'}, expected ${r.sha256}`);
  }
  if (problems.length) {
    throw new StoreError(
      `Verification after upload to ${store.describe()} failed; not safe to write the manifest:\n  ${problems.join('\n  ')}`,
      'failed',
    );
  }
  log(`verified ${results.length} object(s) in ${store.describe()}`);
  return results;
}
