// Publishing a version the bucket already holds, against the S3 peer (writes counted there): objects a bucket writer
// replaced while keeping their metadata are put back, never skipped; signatures made again for the same bytes (a run
// that missed the sign cache) are kept as published, so the rerun writes nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';
import { signManifest } from '@alloy-sysext/manifest';
import { createS3Store, type ObjectStore } from '@alloy-sysext/r2';
import { loadPrivateKey, writeSignature, type SigningKey } from '@alloy-sysext/signing';
import { startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';
import { builtVersion } from '../test/built-version.js';
import { imageFiles, versionImages } from './artifacts.js';
import { MANIFEST, MANIFEST_SIGNATURE } from './names.js';
import { publishVersion } from './publish.js';
import { loadRecipe, type Recipe } from './recipe.js';
import { releaseKeyOf } from './signing-key.js';
import { fragmentKey } from './vouch.js';

const RECIPE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/alloy/sysext.json');
let root: string;
let recipe: Recipe;
let key: SigningKey;
let s3: S3Peer;
let raw: S3Client;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'republish-'));
  recipe = await loadRecipe(RECIPE, { ALLOY_PUBLIC_URL: 'https://sysext.example.com/alloy' });
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'republish test', email: 'r@alloy-sysext.invalid' }],
    format: 'armored',
  });
  key = await loadPrivateKey(privateKey);
  s3 = await startS3Peer({ bucket: 'republish' });
  raw = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true });
}, 60_000);
afterAll(async () => {
  raw?.destroy();
  await s3?.stop();
  await rm(root, { recursive: true, force: true });
});

/** A bucket under its own prefix, and publish of `version` into it from `<ws>` (no provenance: no upstream files). */
function world(name: string) {
  const ws = path.join(root, name);
  const lines: string[] = [];
  const store = createS3Store({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    ...s3.credentials,
    region: s3.region,
    prefix: name,
    log: (line) => lines.push(line),
  });
  const layouts = new Map<string, Awaited<ReturnType<typeof builtVersion>>>();
  const layout = async (version: string) => {
    if (!layouts.has(version)) layouts.set(version, await builtVersion(path.join(ws, key.fingerprint), recipe, version, key));
    return layouts.get(version)!;
  };
  const publish = async (version: string) =>
    publishVersion({
      recipe,
      version,
      layout: await layout(version),
      store,
      key: releaseKeyOf(key, 'test'),
      publicKey: key.publicKeyArmored,
      log: (line) => lines.push(line),
    });
  /** dist/<name>/<version> of this world's build */
  const dist = (version: string) => path.join(ws, key.fingerprint, 'dist', recipe.name, version);
  return { dist, store, publish, lines, prefix: name };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What the S3 peer was asked to change (PUT, POST, DELETE) from request `from` on. */
const writes = (from: number) =>
  s3.requests
    .slice(from)
    .filter((r) => !['GET', 'HEAD'].includes(r.method))
    .map((r) => `${r.method} ${r.key}`);

/** What a bucket writer without the key does: re-puts an object with other bytes and the original's user metadata. */
async function forge(store: ObjectStore, prefix: string, object: string, bytes: Buffer) {
  const sha256 = (await store.head(object))!.sha256;
  await raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${object}`, Body: bytes, Metadata: { sha256: sha256! } }));
}

describe('republishing a version the bucket holds', () => {
  it('an image re-put with other bytes of its size and its original sha256 metadata is put back, not skipped', async () => {
    const { dist, store, publish, lines, prefix } = world('forged-image');
    await publish('1.0.0');
    const image = `alloy-1.0.0-amd64.raw`;
    const genuine = (await store.get(image))!.body;
    await forge(store, prefix, image, Buffer.from(genuine.map((b) => b ^ 0xff)));
    await forge(store, prefix, `${image}.sha256`, Buffer.from(`${'0'.repeat(64)}  ${image}\n`.padEnd(genuine.length, ' ')));
    const result = await publish('1.0.0');
    expect(result.uploaded).toEqual(expect.arrayContaining([image]));
    expect((await store.get(image))!.body.equals(genuine)).toBe(true);
    const local = path.join(dist('1.0.0'), 'images', image);
    expect((await store.get(`${image}.sha256`))!.body.equals(await readFile(`${local}.sha256`))).toBe(true);
    const forged = sha256(genuine.map((b) => b ^ 0xff));
    expect(lines).toContain(
      `uploaded ${image} (4096 bytes, sha256 ${sha256(genuine)}), replacing other bytes (sha256 ${forged}, proved by read)`,
    );
    const sums = await readFile(`${local}.sha256`);
    expect(lines).toContain(
      `uploaded ${image}.sha256 (${sums.length} bytes, sha256 ${sha256(sums)}), replacing other bytes (4096 bytes, proved by size)`,
    );
  });

  it('signed again (new .asc and fragment .gpg for the same bytes, as a run that missed the sign cache): nothing is written', async () => {
    const { dist: distOf, store, publish, lines } = world('resigned');
    await publish('1.0.0');
    const before = new Map<string, Buffer>();
    for (const { key: object } of await store.list('')) before.set(object, (await store.get(object))!.body);
    // new signatures of the very bytes: a later timestamp, so other signature bytes
    await new Promise((r) => setTimeout(r, 1100));
    const dist = distOf('1.0.0');
    for (const image of imageFiles(versionImages(recipe, '1.0.0', path.join(dist, 'images')))) await writeSignature(image.path, key);
    const fragment = await readFile(path.join(dist, 'manifest', MANIFEST), 'utf8');
    await writeFile(path.join(dist, 'manifest', MANIFEST_SIGNATURE), await signManifest(fragment, key));
    const local = await readFile(path.join(dist, 'images/alloy-1.0.0-amd64.raw.asc'));
    expect(local.equals(before.get('alloy-1.0.0-amd64.raw.asc')!)).toBe(false);

    const mark = s3.requests.length;
    const result = await publish('1.0.0');
    expect(writes(mark)).toEqual([]);
    expect([result.uploaded, result.manifestChanged, result.signatureChanged]).toEqual([[], false, false]);
    for (const object of [
      'alloy-1.0.0-amd64.raw.asc',
      'alloy-1.0.0-arm64.raw.asc',
      'alloy-1.0.0.raw.asc',
      `${fragmentKey(recipe, '1.0.0')}.gpg`,
    ]) {
      expect(lines).toContain(
        `${object}: the bucket's signature verifies these bytes with ${key.fingerprint}; kept (signatures in the bucket are not rewritten)`,
      );
    }
    for (const [object, bytes] of before) expect([object, (await store.get(object))!.body.equals(bytes)]).toEqual([object, true]);
  });

  it('a signature in the bucket that does not verify the bytes (another image’s) is replaced by this run’s', async () => {
    const { dist, store, publish, prefix } = world('bad-signature');
    await publish('1.0.0');
    await forge(store, prefix, 'alloy-1.0.0-amd64.raw.asc', (await store.get('alloy-1.0.0-arm64.raw.asc'))!.body);
    const result = await publish('1.0.0');
    expect(result.uploaded).toEqual(['alloy-1.0.0-amd64.raw.asc']);
    const local = path.join(dist('1.0.0'), 'images/alloy-1.0.0-amd64.raw.asc');
    expect((await store.get('alloy-1.0.0-amd64.raw.asc'))!.body.equals(await readFile(local))).toBe(true);
  });
});
