// Publishing one version: verify everything dist/ holds (it may come from a cache), upload the objects and re-check them,
// then write the seal (seal.ts): SHA256SUMS with this version merged in, and its signature. Publish itself signs nothing,
// so it runs without the private key (the release workflow's publish job holds the bucket's keys only).
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Manifest, signManifest } from '@alloy-sysext/manifest';
import { formatChecksumLine, sha256File, KEYRING, MANIFEST, MANIFEST_SIGNATURE, type Log } from '@alloy-sysext/common';
import { PreconditionFailedError, publishObjects, type ObjectStore, type PublishObject } from '@alloy-sysext/r2';
import type { SigningKey } from '@alloy-sysext/signing';
import { restoreMissingImages, versionImages, type VersionImage } from './artifacts.js';
import { consumerAuth, githubApiUrl } from './consumers.js';
import { mirrorFiles } from './mirror.js';
import { planPublish } from './publish-plan.js';
import { progressReporter } from './progress.js';
import { provenanceFile, STATEMENT_MEDIA_TYPE } from './provenance.js';
import { keepPublishedSignatures, type SignatureObject } from './published-signatures.js';
import { requirePublicUrl } from './public-url.js';
import type { Recipe } from './recipe.js';
import type { PublishTarget } from './publish-target.js';
import { mergeForPublish, readSeal, sealFit, sealVersion, stateFit, type Seal } from './seal.js';
import { butaneSnippet, butaneSnippetFile, sysupdateTransfer, sysupdateTransferFile } from './snippets.js';
import { recoveryAdvice, type VerifiedAsset } from './upstream-trust.js';
import { verifyArtifacts } from './verify-artifacts.js';
import { fragmentKey, signedByAny, unvouchedError, type Voucher } from './vouch.js';
import { assertNotRemoved, historyForChange, type History } from './history.js';
import { readBucketState, stateKey, type SignedRead, type VersionState } from './version-state.js';
import { localWitnessFile, rememberState } from './witnesses.js';

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

/** How many times publish holding the key re-seals after another publisher changed SHA256SUMS under it. */
const SEAL_ATTEMPTS = 10;

/**
 * Publishes one version: verify every artifact and the seal, upload objects (identical ones skipped) and re-check them,
 * then write the sealed SHA256SUMS if the bucket's is still the one it was sealed against (a conditional write), and make
 * SHA256SUMS.gpg match. Each step converges when rerun after a crash. Without a seal in `layout.seal` (or with one the
 * bucket has moved past), publish seals itself when it holds the private key, and refuses before any upload otherwise.
 */
export async function publishVersion(
  opts: PublishTarget & {
    /** Public keys whose signatures vouch for what the bucket already holds (default: publicKey), when sealing here. */
    trustedKeys?: string[];
    dryRun?: boolean;
    /**
     * Called only when publish seals itself (it holds the key and the seal is missing or stale): runs the checks that
     * belong with the key and gives what provenance is made of besides the verified images: the workspace root, the
     * environment (run details) and the upstream assets re-checked against their digest roots in this run. A valid seal
     * from the seal step needs neither (that step ran them). Without it a seal made here has no provenance (unit tests).
     */
    beforeSealing?: () => Promise<{ root: string; env: NodeJS.ProcessEnv; upstream: VerifiedAsset[] }>;
  },
): Promise<PublishResult> {
  const { recipe, version, layout, store, key, log } = opts;
  requirePublicUrl(recipe);
  const images = versionImages(recipe, version, layout.images);
  await restoreMissingImages(images, opts);
  const verification = { images, manifestDir: layout.manifest, publicKey: opts.publicKey, receipts: layout.receipts };
  const entries = await verifyArtifacts(verification).catch((error: Error) => {
    error.message += `\n${recoveryAdvice(recipe.name, version)}`;
    throw error;
  });
  log(`verified ${images.length} images: sha256 and signatures by ${key.fingerprint}`);
  // The version set only moves forward: a removed version is never published again (history.ts).
  const keys = opts.trustedKeys ?? [opts.publicKey];
  const witnessFile = localWitnessFile(layout.witness, store);
  const history = await historyForChange({ store, recipe, keys, witnessFile, env: process.env, log });
  assertNotRemoved(history, version);

  const provenanceName = provenanceFile(recipe, version);
  const resealDir = path.join(layout.publish, 'seal');
  // A seal made here is never read back by a later run (it lives in publish's working directory, not the seal target's).
  const canSeal = key.signing !== undefined;
  let inputs: ReturnType<NonNullable<typeof opts.beforeSealing>> | undefined;
  const provenanceInputs = () => (opts.beforeSealing ? (inputs ??= opts.beforeSealing()) : undefined);
  const seal = async (keep?: Seal): Promise<Seal> => {
    if (!key.signing) throw staleSealError(store, version, keep);
    return sealVersion({
      recipe,
      version,
      layout,
      store,
      key: key.signing,
      trustedKeys: keys,
      entries,
      dir: resealDir,
      env: process.env,
      provenance: await provenanceInputs(),
      keepProvenance: keep?.provenance,
      log,
    });
  };
  let sealed =
    (await readSeal({ recipe, dir: layout.seal, version, provenanceName, publicKey: opts.publicKey, entries })) ??
    (key.signing ? await seal() : missingSeal(layout.seal, version));
  // What publish would sign over the bucket's SHA256SUMS, made again here from the history read here: the seal must say it.
  const merge = (text: string | null, say: Log = log) =>
    mergeForPublish({ store, recipe, keys, history, entries, version, current: text, log: say });
  let current = await store.get(MANIFEST);
  let bucketState = await readBucketState(store, recipe, keys);
  if (
    (await sealFit(sealed, current && current.body.toString('utf8'), merge)) === 'stale' ||
    stateFit(sealed, history, validState(bucketState), objectOf(bucketState)) === 'stale'
  ) {
    sealed = await seal(sealed);
    current = await store.get(MANIFEST);
    bucketState = await readBucketState(store, recipe, keys);
  }

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
  const keyring = path.join(layout.publish, KEYRING);
  await writeFile(keyring, key.publicKeyBinary);
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
    await writeFile(snippet, butaneSnippet({ recipe, version, arch, sha256, keyring: key.publicKeyBinary, fingerprint: key.fingerprint }));
    objects.push({ key: path.basename(snippet), path: snippet, contentType: 'text/yaml; charset=utf-8' });
  }
  if (sealed.provenance) {
    const file = path.join(layout.publish, sealed.provenance.name);
    await writeFile(file, sealed.provenance.text);
    await writeFile(`${file}.asc`, sealed.provenance.signature);
    objects.push({ key: sealed.provenance.name, path: file, contentType: STATEMENT_MEDIA_TYPE, cacheControl: 'no-cache' });
    objects.push({
      key: `${sealed.provenance.name}.asc`,
      path: `${file}.asc`,
      contentType: 'application/pgp-signature',
      cacheControl: 'no-cache',
    });
  }

  await assertNotReplacingPublished({ store, version, images: objects.filter((o) => /\.raw(\.sha256)?$/.test(o.key)), entries });
  await keepPublishedSignatures({
    store,
    signatures,
    publicKey: opts.publicKey,
    fingerprint: key.fingerprint,
    publishDir: layout.publish,
    log,
  });
  if (opts.dryRun) {
    // what a real run would carry out, found by reading the bucket only; the result says "would"
    const plan = await planPublish({ store, objects, entries, merge, key, recipe, log });
    if (sealed.state && objectOf(bucketState) !== sealed.state.object)
      log(`dry run: would record the version state as ${stateKey(recipe)} #${sealed.state.state.sequence}`);
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
  let manifestChanged = false;
  let signatureChanged = false;
  let recorded: Recorded;
  for (let attempt = 1; ; attempt++) {
    const wrote = await writeSealedManifest(store, sealed, current, merge, attempt, log);
    manifestChanged ||= wrote === 'written';
    // SHA256SUMS and its signature are two objects: stopping between them leaves a manifest hosts refuse.
    const signed =
      wrote === 'stale'
        ? 'stale'
        : await writeSealedSignature({ store, sealed, publicKey: opts.publicKey, log }).catch((error: unknown) => {
            throw signatureError(store, recipe, version, manifestChanged, error);
          });
    signatureChanged ||= signed === 'written';
    // The state follows SHA256SUMS: a publish of another version may record its state between our writes.
    const state = signed === 'stale' ? 'stale' : await writeSealedState({ store, recipe, sealed, history, keys, log, canSeal });
    if (state !== 'stale') {
      recorded = state;
      break;
    }
    if (attempt >= SEAL_ATTEMPTS) throw new Error(`${MANIFEST} in ${store.describe()} kept changing; rerun publish to converge`);
    const moved = signed === 'stale' ? MANIFEST : stateKey(recipe);
    log(`${moved} changed under us in ${store.describe()}; sealing again (attempt ${attempt + 1})`);
    sealed = await seal(sealed).catch((error: unknown) => {
      throw manifestChanged ? signatureError(store, recipe, version, manifestChanged, error) : error;
    });
    current = await store.get(MANIFEST);
  }
  if (recipe.bucket.keep)
    log(
      `bucket.keep ${recipe.bucket.keep}: old versions are removed by \`release-bot prune\` (run by \`release-bot release\`), which keeps every version a consumer pins`,
    );
  // this workspace's witness of the state it applied (history.ts reads it back; dist/.witness is in no cache)
  if (recorded.state && recorded.object) await rememberState(witnessFile, { state: recorded.state, object: recorded.object }, recipe);
  if (recipe.mirror) await mirrorManifest(recipe, store, `alloy-sysext: manifest after publishing ${version}`, log);
  return {
    entries,
    uploaded: published.filter((p) => !p.skipped).map((p) => p.key),
    unchanged: published.filter((p) => p.skipped).map((p) => p.key),
    manifestChanged,
    signatureChanged,
    ...(recorded.state ? { state: { sequence: recorded.state.sequence, written: recorded.written } } : {}),
  };
}

/** No seal in dist/ and no key to make one: the seal target (where the key is) did not run, or its output was not restored. */
function missingSeal(dir: string, version: string): never {
  throw new Error(
    `refusing to publish ${version}: there is no seal in ${dir} and this process holds only the release public key, so it ` +
      `cannot make one. Run the seal target where ALLOY_SIGNING_KEY is set (the release workflow's sign job does) so the ` +
      `shared cache holds it, then rerun publish. Nothing was uploaded.`,
  );
}

function staleSealError(store: ObjectStore, version: string, sealed?: Seal): Error {
  return new Error(
    `refusing to publish ${version}: ${MANIFEST} in ${store.describe()} changed since the seal in ${sealed?.dir ?? '(none)'} ` +
      `was made against it (another publish ran in between), and this process holds only the release public key, so it ` +
      `cannot seal again. Start a new run of the release (its sign job seals against the bucket as it is then), or publish ` +
      `where ALLOY_SIGNING_KEY is set. Nothing more was written.`,
  );
}

/**
 * Writes the sealed SHA256SUMS over `current` with a conditional write. 'stale' when the bucket moved past the seal's base
 * (before or during the write), so the caller must seal again.
 */
async function writeSealedManifest(
  store: ObjectStore,
  sealed: Seal,
  current: { body: Buffer; etag: string } | null,
  merge: (current: string | null) => Promise<string>,
  attempt: number,
  log: Log,
): Promise<'written' | 'unchanged' | 'stale'> {
  const fit = await sealFit(sealed, current && current.body.toString('utf8'), merge);
  if (fit === 'written') {
    log(`${MANIFEST} already up to date in ${store.describe()}`);
    return 'unchanged';
  }
  if (fit === 'stale') return 'stale';
  try {
    await store.putBytes(MANIFEST, Buffer.from(sealed.manifest, 'utf8'), {
      contentType: 'text/plain; charset=utf-8',
      cacheControl: 'no-cache',
      ...(current ? { ifMatch: current.etag } : { ifNoneMatch: '*' as const }),
    });
  } catch (error) {
    if (error instanceof PreconditionFailedError) return 'stale';
    throw error;
  }
  log(`wrote ${MANIFEST} to ${store.describe()} (attempt ${attempt})`);
  return 'written';
}

function signatureError(store: ObjectStore, recipe: Recipe, version: string, manifestChanged: boolean, error: unknown): Error {
  return new Error(
    `${MANIFEST} in ${store.describe()} ${manifestChanged ? 'was updated' : 'is in place'} but ${MANIFEST_SIGNATURE} ` +
      `could not be made to match it (${(error as Error).message}): hosts cannot verify ${MANIFEST} and systemd-sysupdate ` +
      `refuses every update until this is repaired. Rerun the publish (npx nx run ${recipe.name}:publish --version=${version}); it converges.`,
    { cause: error },
  );
}

/**
 * Makes SHA256SUMS.gpg match SHA256SUMS, which should now hold the sealed text: a signature by the release key over
 * exactly the bucket's text is left alone, else the seal's is written (a conditional write; a concurrent writer's is
 * re-read). 'stale' when SHA256SUMS is no longer the sealed text and nothing signs it (another publisher wrote it).
 */
async function writeSealedSignature(opts: {
  store: ObjectStore;
  sealed: Seal;
  publicKey: string;
  log: Log;
}): Promise<'written' | 'unchanged' | 'stale'> {
  const { store, sealed, log } = opts;
  let wrote = false;
  for (let attempt = 1; attempt <= SEAL_ATTEMPTS; attempt++) {
    const [manifest, signature] = await Promise.all([store.get(MANIFEST), store.get(MANIFEST_SIGNATURE)]);
    if (!manifest) throw new Error(`${MANIFEST} vanished from ${store.describe()} while publishing`);
    if (signature && (await signedByAny(manifest.body, signature.body.toString('utf8'), [opts.publicKey]))) {
      log(`${MANIFEST_SIGNATURE} verifies ${MANIFEST} in ${store.describe()}`);
      return wrote ? 'written' : 'unchanged';
    }
    if (manifest.body.toString('utf8') !== sealed.manifest) return 'stale';
    try {
      await store.putBytes(MANIFEST_SIGNATURE, Buffer.from(sealed.signature), {
        contentType: 'application/pgp-signature',
        cacheControl: 'no-cache',
        ...(signature ? { ifMatch: signature.etag } : { ifNoneMatch: '*' as const }),
      });
      wrote = true;
      log(`wrote the seal's ${MANIFEST_SIGNATURE} to ${store.describe()} (attempt ${attempt})`);
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  }
  throw new Error(`${MANIFEST_SIGNATURE} in ${store.describe()} kept changing; rerun publish to converge`);
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

type Recorded = { state?: VersionState; object?: string; written: boolean };

/**
 * Writes the seal's version state over the bucket's with a conditional write, when it is the very next state (stateFit).
 * A stale one is 'stale' when this process can seal again (it holds the key), else refused: SHA256SUMS was written, so
 * the next publish, prune or revoke records the state again.
 */
async function writeSealedState(opts: {
  store: ObjectStore;
  recipe: Pick<Recipe, 'name'>;
  sealed: Seal;
  history: History;
  keys: string[];
  log: Log;
  canSeal: boolean;
}): Promise<Recorded | 'stale'> {
  const { store, recipe, sealed, log } = opts;
  const key = stateKey(recipe);
  const bucket = await readBucketState(store, recipe, opts.keys);
  if (!sealed.state) return { state: validState(bucket), object: objectOf(bucket), written: false };
  const fit = stateFit(sealed, opts.history, validState(bucket), objectOf(bucket));
  if (fit === 'written') {
    log(`${key} in ${store.describe()} already is the seal's state #${sealed.state.state.sequence}`);
    return { ...sealed.state, written: false };
  }
  const stale = () =>
    new Error(
      `${MANIFEST} in ${store.describe()} is written and signed, but ${key} changed since the seal's state ` +
        `#${sealed.state!.state.sequence} was made (another publish, prune or revoke ran): rerun the release (its sign job ` +
        `seals against the bucket as it is then); it converges.`,
    );
  if (fit === 'stale') {
    if (opts.canSeal) return 'stale';
    throw stale();
  }
  try {
    await store.putBytes(key, Buffer.from(sealed.state.object), {
      contentType: 'text/plain; charset=utf-8',
      cacheControl: 'no-cache',
      ...(bucket.kind === 'absent' ? { ifNoneMatch: '*' as const } : { ifMatch: bucket.etag }),
    });
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    if (opts.canSeal) return 'stale';
    throw stale();
  }
  const { state } = sealed.state;
  log(`recorded the seal's state #${state.sequence} as ${key} in ${store.describe()} (${state.versions.length} versions)`);
  return { ...sealed.state, written: true };
}

const validState = (read: SignedRead<VersionState>) => (read.kind === 'valid' ? read.value : undefined);
const objectOf = (read: SignedRead<VersionState>) => (read.kind === 'valid' || read.kind === 'unchecked' ? read.object : undefined);

/**
 * SHA256SUMS and its signature are two objects, so a concurrent publisher may replace SHA256SUMS between our two
 * writes. Loop until the signature in the bucket verifies the SHA256SUMS in the bucket, signing only a text whose every
 * line the voucher accepts (never the bucket's text as such). Prune and revoke sign so (they hold the key).
 */
export async function signCurrentManifest(opts: {
  store: ObjectStore;
  key: SigningKey;
  voucher: Voucher;
  recipe: Pick<Recipe, 'name'>;
  log: Log;
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
export async function mirrorManifest(recipe: Pick<Recipe, 'name' | 'mirror'>, store: ObjectStore, message: string, log: Log) {
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
