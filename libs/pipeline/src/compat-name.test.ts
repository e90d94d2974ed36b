// The amd64 compatibility name `alloy-<version>.raw` is a second name in the bucket, not a file in dist/: manifest and
// publish give it the amd64 file's verified bytes and signature. The tests play someone who plants a file under that name
// in dist/ or swaps the amd64 image; real keys (openpgp), real files, a directory bucket, real gpg and sha256sum.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Bytes, sha256File } from '@alloy-sysext/common';
import { createDirectoryStore, type ObjectStore } from '@alloy-sysext/r2';
import { generateKey, loadPrivateKey, writeSignature, type GeneratedKey, type SigningKey } from '@alloy-sysext/signing';
import { gpgVerify } from '@alloy-sysext/test-peers/nx-workspace';
import { imageChecker, versionImages } from './artifacts.js';
import { versionLayout } from './layout.js';
import { MANIFEST } from './names.js';
import { publishVersion } from './publish.js';
import { releaseKeyOf } from './signing-key.js';
import { loadRecipe, type Recipe } from './recipe.js';
import { manifestStep } from './steps/manifest.js';
import { writeSignedImages } from '../test/signed-images.js';

const RECIPE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/alloy/sysext.json');
const VERSION = '1.0.0';
const AMD64 = `alloy-${VERSION}-amd64.raw`;
const COMPAT = `alloy-${VERSION}.raw`;
let root: string;
let recipe: Recipe;
let generated: GeneratedKey;
let key: SigningKey;
const log = () => {};

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'compat-name-'));
  generated = await generateKey({ identity: 'compat test <c@alloy-sysext.invalid>', outDir: path.join(root, 'key') });
  key = await loadPrivateKey(await readFile(generated.privateKeyPath, 'utf8'));
  recipe = await loadRecipe(RECIPE, {});
});
afterAll(() => rm(root, { recursive: true, force: true }));

/**
 * A workspace as image and sign leave it (images are random bytes: manifest and publish check hashes and signatures,
 * not formats), then the real manifest step. Returns the workspace, its layout, its bucket and a publish of VERSION.
 */
async function workspace(name: string, beforeManifest: (images: string) => Promise<void> = async () => {}) {
  const ws = path.join(root, name);
  const layout = versionLayout(ws, recipe, VERSION);
  await writeSignedImages(recipe, VERSION, layout.images, key, 64 * 1024);
  await beforeManifest(layout.images);
  const env = { ALLOY_SIGNING_KEY: await readFile(generated.privateKeyPath, 'utf8') };
  await manifestStep({ recipe, version: VERSION, layout, root: ws, env, log });
  const store = createDirectoryStore(path.join(ws, 'bucket'), { prefix: 'alloy/' });
  const publish = () =>
    publishVersion({ recipe, version: VERSION, layout, store, key: releaseKeyOf(key, 'test'), publicKey: key.publicKeyArmored, log });
  return { ws, layout, store, publish, amd64: path.join(layout.images, AMD64) };
}

const body = async (store: ObjectStore, name: string) => (await store.get(name))?.body;

/** A validly signed file with its own .sha256 under the old name in dist/images (an old build's copy, or a swap). */
async function plant(images: string): Promise<Buffer> {
  const file = path.join(images, COMPAT);
  const bytes = randomBytes(64 * 1024);
  await writeFile(file, bytes);
  await writeFile(`${file}.sha256`, `${sha256Bytes(bytes)}  ${COMPAT}\n`);
  await writeSignature(file, key);
  return bytes;
}

describe('the compatibility name', () => {
  it('publish serves the amd64 file under it: same bytes, a .sha256 line naming it, the same .asc, same headers', async () => {
    const { store, publish, amd64, layout } = await workspace('serves');
    const result = await publish();
    const bytes = await readFile(amd64);
    const sha = sha256Bytes(bytes);
    expect(result.entries.filter((e) => e.file.startsWith(`alloy-${VERSION}`) && e.file.endsWith('.raw'))).toEqual(
      expect.arrayContaining([
        { file: COMPAT, sha256: sha },
        { file: AMD64, sha256: sha },
      ]),
    );
    expect((await body(store, COMPAT))!.equals(bytes)).toBe(true);
    expect((await body(store, `${COMPAT}.sha256`))!.toString('utf8')).toBe(`${sha}  ${COMPAT}\n`);
    expect((await body(store, `${COMPAT}.asc`))!.equals(await readFile(`${amd64}.asc`))).toBe(true);
    // the bucket's SHA256SUMS lists both names with one sha256
    const sums = (await body(store, MANIFEST))!.toString('utf8');
    expect(sums).toContain(`${sha}  ${COMPAT}\n${sha}  ${AMD64}\n`);
    // a user downloading the old name checks it as ever: sha256sum -c and gpg --verify against the published keyring
    const dl = path.join(root, 'serves-download');
    await mkdir(dl);
    for (const f of [COMPAT, `${COMPAT}.sha256`]) await writeFile(path.join(dl, f), (await body(store, f))!);
    expect((await execa('sha256sum', ['-c', `${COMPAT}.sha256`], { cwd: dl })).stdout).toBe(`${COMPAT}: OK`);
    const gpg = await gpgVerify(
      (await body(store, 'import-pubring.gpg'))!,
      (await body(store, `${COMPAT}.asc`))!,
      (await body(store, COMPAT))!,
    );
    expect(gpg.output).toContain(`VALIDSIG ${key.fingerprint}`);
    // content type and cache control as the amd64 image's objects (immutable, versioned)
    for (const suffix of ['', '.sha256', '.asc']) {
      const [compat, arch] = await Promise.all([store.head(`${COMPAT}${suffix}`), store.head(`${AMD64}${suffix}`)]);
      expect([suffix, compat!.contentType, compat!.cacheControl]).toEqual([suffix, arch!.contentType, arch!.cacheControl]);
    }
    // dist/ holds one file per arch; the compatibility .sha256 was generated under publish/
    expect(await readFile(path.join(layout.publish, `${COMPAT}.sha256`), 'utf8')).toBe(`${sha}  ${COMPAT}\n`);
    await expect(readFile(path.join(layout.images, COMPAT))).rejects.toThrow('ENOENT');
  });

  it('a validly signed file planted under the old name in dist/images is ignored by manifest and publish: the bucket gets the amd64 bytes', async () => {
    let planted: Buffer | undefined;
    const { store, publish, amd64, layout } = await workspace('planted', async (images) => {
      planted = await plant(images);
    });
    // planted again after manifest, for publish alone
    const again = await plant(layout.images);
    await publish();
    const bytes = await readFile(amd64);
    expect((await body(store, COMPAT))!.equals(bytes)).toBe(true);
    expect((await body(store, `${COMPAT}.sha256`))!.toString('utf8')).toBe(`${sha256Bytes(bytes)}  ${COMPAT}\n`);
    expect((await body(store, `${COMPAT}.asc`))!.equals(await readFile(`${amd64}.asc`))).toBe(true);
    const sums = (await body(store, MANIFEST))!.toString('utf8');
    for (const p of [planted!, again]) expect(sums).not.toContain(sha256Bytes(p));
  });

  it('an amd64 image swapped after manifest (its .sha256 rewritten to match) is refused under both names; nothing uploaded', async () => {
    const { store, publish, amd64 } = await workspace('swapped');
    const other = randomBytes(64 * 1024);
    await writeFile(amd64, other);
    await writeFile(`${amd64}.sha256`, `${sha256Bytes(other)}  ${AMD64}\n`);
    const error = (await publish().catch((e: Error) => e)) as Error;
    expect(error.message).toContain(`refusing to publish: ${amd64}.asc does not verify it`);
    expect(await store.list('')).toEqual([]);
  });

  it('an amd64 image whose .asc is another image file`s is refused by manifest, naming the amd64 file', async () => {
    const error = (await workspace('wrong-asc', async (images) => {
      await copyFile(path.join(images, `alloy-${VERSION}-arm64.raw.asc`), path.join(images, `${AMD64}.asc`));
    }).catch((e: Error) => e)) as Error;
    const amd64 = path.join(root, 'wrong-asc', `dist/alloy/${VERSION}/images/${AMD64}`);
    expect(error.message).toContain(`refusing to list ${amd64} in ${MANIFEST}: ${amd64}.asc does not verify it`);
  });

  it('imageChecker judges each file once, whatever the names it carries', async () => {
    const { layout } = await workspace('checker');
    const [amd64, arm64, compat] = versionImages(recipe, VERSION, layout.images);
    expect(compat!.path).toBe(amd64!.path);
    const check = imageChecker(key.publicKeyArmored);
    const verdicts = await Promise.all([check(amd64!), check(arm64!), check(compat!)]);
    expect(verdicts[0]).toEqual({ kind: 'verified', sha256: await sha256File(amd64!.path), receipt: false });
    expect(verdicts[2]).toBe(verdicts[0]);
    expect(verdicts[1]).not.toBe(verdicts[0]);
  });
});
