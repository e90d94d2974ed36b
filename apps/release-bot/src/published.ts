// What the bucket serves: the versions listed in its SHA256SUMS.
import { Manifest } from '@alloy-sysext/manifest';
import type { ObjectStore } from '@alloy-sysext/r2';
import { MANIFEST } from '@alloy-sysext/pipeline';

/** Versions of image `name` in the bucket's SHA256SUMS, oldest first; none when there is no manifest yet. */
export async function publishedVersions(store: ObjectStore, name: string): Promise<string[]> {
  const object = await store.get(MANIFEST);
  if (!object) return [];
  try {
    return Manifest.parse(object.body).versions(name);
  } catch (error) {
    throw new Error(`${MANIFEST} in ${store.describe()} is malformed: ${(error as Error).message}`);
  }
}
