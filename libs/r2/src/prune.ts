// Removing one version's objects (with a dry run). The manifest is deliberately out of reach: a version leaves the
// manifest first (compareAndSwap), then its objects go, so sysupdate never sees an entry without its file.
import { isManifestKey } from './content-types.js';
import type { Log } from '@alloy-sysext/common';
import type { ObjectStore } from './store.js';

export interface PruneOptions {
  dryRun?: boolean;
  log?: Log;
}

export type PruneSelector = string[] | { prefix: string; filter?: (key: string) => boolean };

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Matches `<name>-<version>-<arch>.raw` (+ `.sha256`, `.asc`) and the compatibility name `<name>-<version>.raw` (+ …),
 * exactly: version 1.2.3 never matches 1.2.30 or 1.2.3-rc.1.
 */
export function versionKeyFilter(name: string, version: string, arches: string[] = ['amd64', 'arm64']): (key: string) => boolean {
  const re = new RegExp(`^${escape(name)}-${escape(version)}(?:-(?:${arches.map(escape).join('|')}))?\\.raw(?:\\.sha256|\\.asc)?$`);
  return (key) => re.test(key.split('/').pop() ?? key);
}

export async function deleteObjects(
  store: ObjectStore,
  keys: string[],
  opts: PruneOptions = {},
): Promise<{ keys: string[]; dryRun: boolean }> {
  const log = opts.log ?? (() => {});
  const manifest = keys.filter(isManifestKey);
  if (manifest.length) {
    throw new Error(`Refusing to delete ${manifest.join(', ')} from ${store.describe()}: update the manifest with compareAndSwap instead`);
  }
  const dryRun = opts.dryRun ?? false;
  for (const key of keys) {
    if (dryRun) log(`would delete ${key} from ${store.describe()}`);
    else {
      await store.delete(key);
      log(`deleted ${key} from ${store.describe()}`);
    }
  }
  return { keys, dryRun };
}

export async function pruneVersion(
  store: ObjectStore,
  selector: PruneSelector,
  opts: PruneOptions = {},
): Promise<{ keys: string[]; dryRun: boolean }> {
  const keys = Array.isArray(selector)
    ? selector
    : (await store.list(selector.prefix)).map((o) => o.key).filter((k) => !selector.filter || selector.filter(k));
  return deleteObjects(store, keys, opts);
}
