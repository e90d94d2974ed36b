import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Manifest, mergeManifest, signManifest } from '@alloy-sysext/manifest';
import { formatChecksumLine, sha256File } from '@alloy-sysext/common';
import { compareAndSwap, PreconditionFailedError, publishObjects, type ObjectStore, type PublishObject } from '@alloy-sysext/r2';
import type { SigningKey } from '@alloy-sysext/signing';
import { restoreMissingImages, versionImages, type VersionImage } from './artifacts.js';
import { consumerAuth, githubApiUrl } from './consumers.js';
import { mirrorFiles } from './mirror.js';
import { planPublish } from './publish-plan.js';
import { provenanceObjects } from './provenance.js';
import type { PublishTarget } from './publish-target.js';
import { progressReporter } from './progress.js';
import { keepPublishedSignatures, type SignatureObject } from './published-signatures.js';
import { requirePublicUrl } from './public-url.js';
import type { Recipe } from './recipe.js';
import { butaneSnippet, butaneSnippetFile, sysupdateTransfer, sysupdateTransferFile } from './snippets.js';
import { recoveryAdvice, type VerifiedAsset } from './upstream-trust.js';
import { verifyArtifacts } from './verify-artifacts.js';
import { fragmentKey, signedByAny, unvouchedError, Voucher } from './vouch.js';
import { assertNotRemoved, historyForChange, isRemovedLine, settleManifest, type History } from './history.js';
import { recordState } from './record-state.js';
import { stateKey } from './version-state.js';
import { localWitnessFile, rememberState } from './witnesses.js';

import { KEYRING, MANIFEST, MANIFEST_SIGNATURE } from './names.js';

/** What a publish did; for a dry run, what it would do (uploaded: would be sent, …). */
export interface PublishResult {
  entries: { file: string; sha256: string }[];
  uploaded: string[];
  unchanged: string[];
  manifestChanged: boolean;
  signatureChanged: boolean;
  /** The version state after this publish (history.ts): its sequence number, and whether this publish recorded it. */
  state?: { sequence: number; written: boolean };
}

/**
 * Publishes one version: verify every artifact, upload objects (identical ones skipped) and re-check them, then merge
 * this version into the bucket's SHA256SUMS by compare-and-swap, and make SHA256SUMS.gpg match whatever SHA256SUMS
 * holds at the end. Each step converges when rerun after a crash.
 */
export async function publishVersion(
  opts: PublishTarget & {
    /** Public keys whose signatures vouch for what the bucket already holds (default: publicKey). */
    trustedKeys?: string[];
    dryRun?: boolean;
    /**
     * What provenance is made of besides the verified images: the workspace root (recipe paths are recorded relative to
     * it), the environment (GitHub Actions run details) and the upstream assets verifyAssets re-checked against their
     * digest roots in this run. The publish step always gives it; a caller without upstream files (a unit test of the
     * manifest rules) publishes none.
     */
    provenance?: { root: string; env: NodeJS.ProcessEnv; upstream: VerifiedAsset[] };
  },
): Promise<PublishResult> {
  const { recipe, version, layout, store, key, log } = opts;
  requirePublicUrl(recipe);
  const images = versionImages(recipe, version, layout.images);
  await restoreMissingImages(images, opts);
  const verification = { images, manifestDir: layout.manifest, publicKey: opts.publicKey, receipts: layout.receipts };
  const entries = await verifyArtifacts(verification).catch((error: Error) => {
    error.message += `\n${recoveryAdvice(version)}`;
    throw error;
  });
  log(`verified ${images.length} images: sha256 and signatures by ${key.fingerprint}`);
  // The version set only moves forward: a removed version is never published again (history.ts).
  const keys = opts.trustedKeys ?? [opts.publicKey];
  const witnessFile = localWitnessFile(layout.witness, store);
  const history = await historyForChange({ store, recipe, keys, witnessFile, env: process.env, log });
  assertNotRemoved(history, version);

  await mkdir(layout.publish, { recursive: true });
  const objects: PublishObject[] = [];
  const signatures: SignatureObject[] = [];
  for (const image of images) {
    // verifyArtifacts hashed the image a moment ago: publishObjects uploads and re-checks against that hash
    const sha256 = entries.find((e) => e.file === image.file)!.sha256;
    // the compatibility name's bytes are the amd64 image's: copied on the server from that object, not sent twice
    const copyOf = image.compatibilityName ? images.find((i) => i.path === image.path && !i.compatibilityName)!.file : undefined;
    objects.push({ key: image.file, path: image.path, sha256, ...(copyOf ? { copyOf } : {}) });
    objects.push({ key: `${image.file}.sha256`, path: await checksumFileFor(image, sha256, layout.publish) });
    const asc = { key: `${image.file}.asc`, path: `${image.path}.asc` };
    objects.push(asc);
    signatures.push({ object: asc, signs: image.path });
  }
  const keyringBytes = key.publicKeyBinary();
  const keyring = path.join(layout.publish, KEYRING);
  await writeFile(keyring, keyringBytes);
  objects.push({ key: KEYRING, path: keyring, cacheControl: 'no-cache' });
  // This version's signed fragment: what later publishes vouch for its lines by (vouch.ts).
  objects.push({
    key: fragmentKey(recipe, version),
    path: path.join(layout.manifest, MANIFEST),
    cacheControl: 'no-cache',
    contentType: 'text/plain; charset=utf-8',
  });
  const fragmentSignature = {
    key: `${fragmentKey(recipe, version)}.gpg`,
    path: path.join(layout.manifest, MANIFEST_SIGNATURE),
    cacheControl: 'no-cache',
    contentType: 'application/pgp-signature',
  };
  objects.push(fragmentSignature);
  signatures.push({ object: fragmentSignature, signs: path.join(layout.manifest, MANIFEST) });
  for (const arch of recipe.arches) {
    const conf = path.join(layout.publish, sysupdateTransferFile(recipe, arch));
    await writeFile(conf, sysupdateTransfer(recipe, arch));
    objects.push({ key: path.basename(conf), path: conf, cacheControl: 'no-cache', contentType: 'text/plain; charset=utf-8' });
    const sha256 = entries.find((e) => e.file === images.find((i) => i.arch === arch && !i.compatibilityName)!.file)!.sha256;
    const snippet = path.join(layout.publish, butaneSnippetFile(recipe, version, arch));
    await writeFile(snippet, butaneSnippet({ recipe, version, arch, sha256, keyring: keyringBytes, fingerprint: key.fingerprint }));
    objects.push({ key: path.basename(snippet), path: snippet, contentType: 'text/yaml; charset=utf-8' });
  }
  if (opts.provenance)
    objects.push(
      ...(await provenanceObjects({ recipe, version, layout, store, key, publicKey: opts.publicKey, entries, ...opts.provenance, log })),
    );

  await assertNotReplacingPublished({ store, version, images: objects.filter((o) => /\.raw(\.sha256)?$/.test(o.key)), entries });
  await keepPublishedSignatures({
    store,
    signatures,
    publicKey: opts.publicKey,
    fingerprint: key.fingerprint,
    publishDir: layout.publish,
    log,
  });
  const voucher = new Voucher({ store, recipe, keys, builtNow: entries, removed: new Set(history.removed.keys()) });
  /**
   * The SHA256SUMS this publish signs, from the bucket's (null: none yet). Merges only into a SHA256SUMS whose every
   * line a trusted key vouches for (see vouch.ts), without removed versions and with every version the newest signed
   * state lists (history.ts). No retention here: publish cannot see which versions consumers pin; `release-bot prune`
   * applies bucket.keep.
   */
  const mergeInto = async (current: string | null, say: (line: string) => void): Promise<string> => {
    if (current === null) return mergeManifest(null, entries);
    const signature = (await store.get(MANIFEST_SIGNATURE))?.body.toString('utf8');
    const missing = (await voucher.unvouched(current, signature)).filter((line) => !isRemovedLine(history, line));
    if (missing.length) throw unvouchedError(store, recipe, missing);
    const settled = await settleManifest(history, Manifest.parse(current), { publishing: version, voucher, log: say });
    return settled.upsert(entries).serialize();
  };
  if (opts.dryRun) {
    // what a real run would carry out, found by reading the bucket only; the result says "would"
    const plan = await planPublish({ store, objects, entries, merge: mergeInto, key, recipe, log });
    if (stateWouldChange(history, plan.manifestChanged))
      log(`dry run: would record the version state as ${stateKey(recipe)} #${(history.last?.state.sequence ?? 0) + 1}`);
    return {
      entries,
      uploaded: plan.upload,
      unchanged: plan.unchanged,
      manifestChanged: plan.manifestChanged,
      signatureChanged: plan.signatureChanged,
    };
  }

  const report = progressReporter();
  const published = await publishObjects(store, objects, {
    log,
    onProgress: (p) => report({ name: p.key, done: p.loaded, total: p.total }),
  });
  const { changed: manifestChanged } = await compareAndSwap(store, MANIFEST, (current) => mergeInto(current, log), {
    log,
    contentType: 'text/plain; charset=utf-8',
    cacheControl: 'no-cache',
  });
  if (recipe.bucket.keep)
    log(
      `bucket.keep ${recipe.bucket.keep}: old versions are removed by \`release-bot prune\` (run by \`release-bot release\`), which keeps every version a consumer pins`,
    );
  const signatureChanged = await signCurrentManifest({ store, key, voucher, recipe, log }).catch((error: unknown) => {
    // SHA256SUMS and its signature are two objects: stopping between them leaves a manifest hosts refuse.
    throw new Error(
      `${MANIFEST} in ${store.describe()} ${manifestChanged ? 'was updated' : 'is in place'} but ${MANIFEST_SIGNATURE} ` +
        `could not be made to match it (${(error as Error).message}): hosts cannot verify ${MANIFEST} and systemd-sysupdate ` +
        `refuses every update until this is repaired. Rerun the publish (npx nx run alloy:publish --version=${version}); it converges.`,
      { cause: error },
    );
  });
  const recorded = await recordState({ store, recipe, key, keys, history, log });
  await rememberState(witnessFile, recorded, recipe);
  if (recipe.mirror) await mirrorManifest(recipe, store, `alloy-sysext: manifest after publishing ${version}`, log);
  return {
    entries,
    uploaded: published.filter((p) => !p.skipped).map((p) => p.key),
    unchanged: published.filter((p) => p.skipped).map((p) => p.key),
    manifestChanged,
    signatureChanged,
    state: { sequence: recorded.state.sequence, written: recorded.written },
  };
}

/** A real run records a new state when SHA256SUMS changes, or the bucket lacks the newest valid state (history.ts). */
function stateWouldChange(history: History, manifestChanged: boolean): boolean {
  const bucket = history.bucket.kind === 'valid' ? history.bucket.value : undefined;
  return manifestChanged || !bucket || (history.last?.state.sequence ?? 0) > bucket.sequence;
}

/**
 * The `.sha256` to publish beside an image: the verified one in dist/ for an arch image; for the compatibility name (the
 * amd64 file's second name) a line naming that name, written under publish/ from the sha256 verified a moment ago.
 */
async function checksumFileFor(image: VersionImage, sha256: string, publishDir: string): Promise<string> {
  if (!image.compatibilityName) return `${image.path}.sha256`;
  const file = path.join(publishDir, `${image.file}.sha256`);
  await writeFile(file, formatChecksumLine(sha256, image.file));
  return file;
}

/**
 * A published version is immutable: consumers pin its hash and a CDN keeps `immutable` objects for a year. Refuse, before
 * any upload, when the bucket already holds different bytes under one of this version's image names: its SHA256SUMS
 * lists another sha256, or the object is proved to hold other bytes (its size, the server's checksum, or the small
 * .sha256 read) while SHA256SUMS does not list this build. Recorded metadata decides nothing. An object that differs
 * from the bytes SHA256SUMS lists for this very build was replaced behind our back: publish puts the listed bytes back.
 * Signatures are not images: published-signatures.ts keeps the bucket's when they verify.
 */
async function assertNotReplacingPublished(opts: {
  store: ObjectStore;
  version: string;
  images: PublishObject[];
  entries: { file: string; sha256: string }[];
}): Promise<void> {
  const { store } = opts;
  const manifest = await store.get(MANIFEST);
  const listed = manifest ? Manifest.parse(manifest.body) : undefined;
  // one proof per object, all in flight at once (a handful of objects). An image is not read here, only its size and the
  // server's checksum: putFile reads it when nothing else decides.
  const found = await Promise.all(
    opts.images.map(async (object) => {
      const problems: string[] = [];
      // the image this object is or describes (its .sha256), what this build made of it, and what SHA256SUMS lists
      const image = object.key.replace(/\.sha256$/, '');
      const built = opts.entries.find((e) => e.file === image)?.sha256;
      const entry = listed?.get(image);
      if (entry) {
        if (entry.sha256 !== built && image === object.key) {
          problems.push(`${MANIFEST} in the bucket lists ${image} with sha256 ${entry.sha256}, this build has ${built}`);
        }
        // Listed with this build's sha256: other bytes there were put behind our back, and the upload puts the listed
        // bytes back (the store logs "replacing …").
        return problems;
      }
      // Not listed: other bytes under the name are someone else's version. Images were hashed by verifyArtifacts; only
      // their small .sha256 companions are hashed here.
      const local = image === object.key && built ? built : await sha256File(object.path);
      const size = (await stat(object.path)).size;
      const read = image === object.key ? 'never' : 'if-needed';
      const remote = await store.proveBytes(object.key, { sha256: local, size, file: object.path }, read);
      if (remote?.same === false) {
        problems.push(
          `${object.key} in the bucket has ${remote.sha256 ? `sha256 ${remote.sha256}` : `${remote.size} bytes`}, this build has sha256 ${local}`,
        );
      }
      return problems;
    }),
  );
  const problems = found.flat();
  if (problems.length) {
    throw new Error(
      `refusing to publish ${opts.version} to ${store.describe()}: it is already published with different bytes ` +
        `(consumers pin the hash; published versions are immutable):\n  ${problems.join('\n  ')}\n` +
        `Publish a new version instead, or remove ${opts.version} from the bucket deliberately first.`,
    );
  }
}

/**
 * SHA256SUMS and its signature are two objects, so a concurrent publisher may replace SHA256SUMS between our two
 * writes. Loop until the signature in the bucket verifies the SHA256SUMS in the bucket, signing only a text whose every
 * line the voucher accepts (never the bucket's text as such).
 */
export async function signCurrentManifest(opts: {
  store: ObjectStore;
  key: SigningKey;
  voucher: Voucher;
  recipe: Pick<Recipe, 'name'>;
  log: (line: string) => void;
}): Promise<boolean> {
  const { store, key, log } = opts;
  let changed = false;
  for (let attempt = 1; attempt <= 10; attempt++) {
    const manifest = await store.get(MANIFEST);
    if (!manifest) throw new Error(`${MANIFEST} vanished from ${store.describe()} while publishing`);
    const signature = await store.get(MANIFEST_SIGNATURE);
    const text = manifest.body.toString('utf8');
    // Our own key's signature over exactly this text: done. (An old trusted key's signature is re-made with ours.)
    if (signature && (await signedByAny(manifest.body, signature.body.toString('utf8'), [key.publicKeyArmored]))) {
      log(`${MANIFEST_SIGNATURE} verifies ${MANIFEST} in ${store.describe()}`);
      return changed;
    }
    const missing = await opts.voucher.unvouched(text, signature?.body.toString('utf8'));
    if (missing.length) throw unvouchedError(store, opts.recipe, missing);
    const armored = await signManifest(text, key);
    try {
      await store.putBytes(MANIFEST_SIGNATURE, Buffer.from(armored), {
        contentType: 'application/pgp-signature',
        cacheControl: 'no-cache',
        ...(signature ? { ifMatch: signature.etag } : { ifNoneMatch: '*' as const }),
      });
      changed = true;
      log(`signed ${MANIFEST} as ${MANIFEST_SIGNATURE} (attempt ${attempt}; every line built now or vouched for by a trusted key)`);
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  }
  throw new Error(`${MANIFEST_SIGNATURE} in ${store.describe()} kept changing; rerun publish to converge`);
}

/** Commits SHA256SUMS, its signature and the version state (a witness, witnesses.ts) to the recipe's mirror. */
export async function mirrorManifest(
  recipe: Pick<Recipe, 'name' | 'mirror'>,
  store: ObjectStore,
  message: string,
  log: (line: string) => void,
) {
  const mirror = recipe.mirror!;
  const auth = consumerAuth(mirror.auth);
  if (!auth.app && !auth.token) {
    log(`mirror to ${mirror.repo} skipped: no GitHub credentials (set the variables named in recipe.mirror.auth, or ALLOY_GITHUB_TOKEN)`);
    return;
  }
  const files = [];
  for (const name of [MANIFEST, MANIFEST_SIGNATURE, stateKey(recipe)]) {
    const object = await store.get(name);
    if (!object) throw new Error(`${name} vanished from ${store.describe()} before it could be mirrored`);
    files.push({ path: path.posix.join(mirror.path, name), content: object.body });
  }
  await mirrorFiles({ repo: mirror.repo, branch: mirror.branch, files, auth, message, githubUrl: githubApiUrl(), log });
}
