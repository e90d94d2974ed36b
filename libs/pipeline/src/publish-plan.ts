// A dry run of publish: the plan a real run would carry out, found by reading the bucket (HEAD and GET) and nothing else.
import { Manifest } from '@alloy-sysext/manifest';
import { planObjects, type ObjectStore, type PublishObject } from '@alloy-sysext/r2';
import type { SigningKey } from '@alloy-sysext/signing';
import { MANIFEST, MANIFEST_SIGNATURE } from './names.js';
import type { Recipe } from './recipe.js';
import { stateKey } from './version-state.js';
import { signedByAny } from './vouch.js';

export interface PublishPlan {
  /** Objects a real run would send (or copy on the server), and those it would leave as they are. */
  upload: string[];
  unchanged: string[];
  /** Image names whose SHA256SUMS line the merge would add or change. */
  manifestLines: string[];
  manifestChanged: boolean;
  signatureChanged: boolean;
}

/**
 * What publishing `objects` and merging `entries` would change: each object the bucket lacks (same rule as the upload:
 * size and sha256), the SHA256SUMS lines the merge would add (`merge` is the real run's: it refuses as the real run
 * would, when the bucket's manifest holds lines nothing vouches for), and whether SHA256SUMS.gpg would be signed again.
 * Logs each step of the plan.
 */
export async function planPublish(opts: {
  store: ObjectStore;
  objects: PublishObject[];
  entries: { file: string; sha256: string }[];
  /** The real run's merge: the SHA256SUMS it would write from the bucket's (null: none), saying what it settles. */
  merge: (current: string | null, say: (line: string) => void) => Promise<string>;
  /** The release key's public parts: publish may hold no private key (the seal carries the signature). */
  key: Pick<SigningKey, 'fingerprint' | 'publicKeyArmored'>;
  recipe: Recipe;
  log: (line: string) => void;
}): Promise<PublishPlan> {
  const { store, log } = opts;
  const planned = await planObjects(store, opts.objects);
  for (const p of planned) {
    if (p.action === 'copy') log(`dry run: would copy ${p.key} on the server (${p.size} bytes, the same as another object)`);
    if (p.action === 'upload') log(`dry run: would upload ${p.key} (${p.size} bytes)`);
  }
  const current = await store.get(MANIFEST);
  const text = current ? current.body.toString('utf8') : null;
  const signature = (await store.get(MANIFEST_SIGNATURE))?.body.toString('utf8');
  const listed = text === null ? Manifest.empty() : Manifest.parse(text);
  const manifestLines = opts.entries.filter((e) => listed.get(e.file)?.sha256 !== e.sha256).map((e) => e.file);
  const merged = await opts.merge(text, (line) => log(`dry run: would be ${line}`));
  const manifestChanged = merged !== text;
  const signatureChanged = manifestChanged || !(await signedByAny(Buffer.from(merged, 'utf8'), signature, [opts.key.publicKeyArmored]));
  if (manifestChanged) log(`dry run: would add to ${MANIFEST}: ${manifestLines.join(', ')}`);
  if (signatureChanged) log(`dry run: would write ${MANIFEST_SIGNATURE}, the seal's signature by ${opts.key.fingerprint}`);
  const mirrored = `${MANIFEST}, ${MANIFEST_SIGNATURE} and ${stateKey(opts.recipe)}`;
  if (opts.recipe.mirror) log(`dry run: would mirror ${mirrored} to ${opts.recipe.mirror.repo} if they change`);
  return {
    upload: planned.filter((p) => p.action !== 'unchanged').map((p) => p.key),
    unchanged: planned.filter((p) => p.action === 'unchanged').map((p) => p.key),
    manifestLines,
    manifestChanged,
    signatureChanged,
  };
}
