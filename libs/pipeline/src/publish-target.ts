// What publishing one version works on, shared by publish.ts and the provenance it signs (provenance.ts).
import type { ObjectStore } from '@alloy-sysext/r2';
import type { BlobStore } from './blobs.js';
import type { versionLayout } from './layout.js';
import type { Recipe } from './recipe.js';
import type { ReleaseKey } from './signing-key.js';
import type { Log } from '@alloy-sysext/common';

/** The version's files, the bucket, the release key, and where lines go. */
export interface PublishTarget {
  recipe: Recipe;
  version: string;
  layout: ReturnType<typeof versionLayout>;
  store: ObjectStore;
  /** The release key: its public parts, and its private key when this process holds it (then publish may seal itself). */
  key: ReleaseKey;
  /** The public key published artifacts must verify against. */
  publicKey: string;
  log: Log;
  /** Where the images a cache restore left out come from (blobs.ts). */
  blobs?: BlobStore;
}
