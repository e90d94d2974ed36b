// Read-modify-write of one small object (the manifest) without losing a concurrent writer's change:
// GET with etag → update → PUT If-Match (If-None-Match: * when absent) → on a lost race, re-read and retry.
import { PreconditionFailedError, StoreError } from './errors.js';
import { cacheControlFor, contentTypeFor } from './content-types.js';
import type { Log } from '@alloy-sysext/common';
import type { ObjectStore } from './store.js';

export interface CompareAndSwapOptions {
  /** Default 10. */
  maxAttempts?: number;
  log?: Log;
  /** Default from the key (SHA256SUMS: text/plain). */
  contentType?: string;
  /** Default from the key (SHA256SUMS and .gpg: no-cache). */
  cacheControl?: string;
}

export async function compareAndSwap(
  store: ObjectStore,
  key: string,
  update: (current: string | null) => string | Promise<string>,
  opts: CompareAndSwapOptions = {},
): Promise<{ attempts: number; changed: boolean }> {
  const maxAttempts = opts.maxAttempts ?? 10;
  const log = opts.log ?? (() => {});
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await store.get(key);
    const text = current ? current.body.toString('utf8') : null;
    const next = await update(text);
    if (text !== null && next === text) {
      log(`${key} already up to date in ${store.describe()}`);
      return { attempts: attempt, changed: false };
    }
    try {
      await store.putBytes(key, Buffer.from(next, 'utf8'), {
        contentType: opts.contentType ?? contentTypeFor(key),
        cacheControl: opts.cacheControl ?? cacheControlFor(key),
        ...(current ? { ifMatch: current.etag } : { ifNoneMatch: '*' as const }),
      });
      log(`wrote ${key} to ${store.describe()} (attempt ${attempt})`);
      return { attempts: attempt, changed: true };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      log(`${key} changed under us in ${store.describe()}; re-reading (attempt ${attempt}/${maxAttempts})`);
      // Jittered backoff so two writers racing in lockstep drift apart.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 25 * 2 ** attempt)));
    }
  }
  throw new StoreError(
    `Gave up writing ${JSON.stringify(key)} to ${store.describe()} after ${maxAttempts} attempts: another writer kept changing it`,
    'precondition-failed',
  );
}
