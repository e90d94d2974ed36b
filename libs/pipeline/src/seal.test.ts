// The seal lets publish run without the private key (the release workflow's publish job holds the bucket's write keys
// only). These tests play whoever can write the shared cache or the bucket between the job that seals and the one that
// publishes: a replayed, re-targeted or foreign seal, and a bucket changed in between. Each is refused before any upload;
// a genuine seal is applied and the bucket's signature checks with real gpg.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Manifest, signManifest } from '@alloy-sysext/manifest';
import { createDirectoryStore, type ObjectStore } from '@alloy-sysext/r2';
import { loadPrivateKey, verifyCleartext, type GeneratedKey, type SigningKey } from '@alloy-sysext/signing';
import * as openpgp from 'openpgp';
import { gpgVerify } from '@alloy-sysext/test-peers/nx-workspace';
import { versionLayout } from './layout.js';
import { MANIFEST, MANIFEST_SIGNATURE } from './names.js';
import { publishVersion } from './publish.js';
import { builtVersion } from '../test/built-version.js';
import { loadRecipe, type Recipe } from './recipe.js';
import { sealVersion, SEAL_RECORD } from './seal.js';
import { releaseKeyFromEnv, releaseKeyOf, signingKeyFromEnv, type ReleaseKey } from './signing-key.js';
import { manifestDigest, parseState, signState, stateKey } from './version-state.js';

const RECIPE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/alloy/sysext.json');
let root: string;
let recipe: Recipe;
let generated: GeneratedKey;
let key: SigningKey;
let other: SigningKey;
/** What the publish job holds: the public key alone, as ALLOY_SIGNING_PUBLIC_KEY. */
let publicOnly: ReleaseKey;
const log = () => {};

/** An ed25519Legacy key (fast to make and to sign with; the policy accepts it) laid out as generateKey lays one out. */
async function fastKey(name: string): Promise<GeneratedKey> {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name, email: `${name}@alloy-sysext.invalid` }],
    format: 'object',
  });
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  const files = {
    privateKeyPath: path.join(dir, 'key.asc'),
    publicKeyPath: path.join(dir, 'key.pub.asc'),
    keyringPath: path.join(dir, 'keyring'),
  };
  await writeFile(files.privateKeyPath, privateKey.armor());
  await writeFile(files.publicKeyPath, privateKey.toPublic().armor());
  await writeFile(files.keyringPath, privateKey.toPublic().write());
  return { ...files, fingerprint: privateKey.getFingerprint().toUpperCase() };
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'seal-'));
  generated = await fastKey('release');
  key = await loadPrivateKey(await readFile(generated.privateKeyPath, 'utf8'));
  other = await loadPrivateKey(await readFile((await fastKey('intruder')).privateKeyPath, 'utf8'));
  recipe = await loadRecipe(RECIPE, { ALLOY_PUBLIC_URL: 'https://sysext.example/alloy' });
  publicOnly = await releaseKeyFromEnv({
    env: { ALLOY_SIGNING_PUBLIC_KEY: await readFile(generated.publicKeyPath, 'utf8') },
    workspaceRoot: root,
    identity: recipe.signing.identity,
    log,
  });
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** dist/ for `version` as manifest leaves it, signed by `signer`, and the entries of its SHA256SUMS. */
async function built(ws: string, version: string, signer: SigningKey = key) {
  const layout = await builtVersion(ws, recipe, version, signer);
  const { entries } = Manifest.parse(await readFile(path.join(layout.manifest, MANIFEST), 'utf8'));
  return { layout, entries: entries.map((e) => ({ file: e.file, sha256: e.sha256 })) };
}

async function world(name: string) {
  const ws = path.join(root, name);
  const store = createDirectoryStore(path.join(ws, 'bucket'), { prefix: 'alloy/' });
  /** The sign job: seals `version` against the bucket as it is now, into the seal target's output. */
  const made = new Map<string, Awaited<ReturnType<typeof built>>>();
  const seal = async (version: string, signer: SigningKey = key) => {
    // a version is built once per world (a second seal of it is a later run over the same dist/)
    if (!made.has(version)) made.set(version, await built(ws, version, signer));
    const { layout, entries } = made.get(version)!;
    await sealVersion({
      recipe,
      version,
      layout,
      store,
      key: signer,
      trustedKeys: [signer.publicKeyArmored],
      entries,
      dir: layout.seal,
      env: {},
      log,
    });
    return layout;
  };
  /** The publish job: bucket keys, the public key only. */
  const publish = (version: string, releaseKey: ReleaseKey = publicOnly) =>
    publishVersion({
      recipe,
      version,
      layout: versionLayout(ws, recipe, version),
      store,
      key: releaseKey,
      publicKey: key.publicKeyArmored,
      log,
    });
  return { ws, store, seal, publish };
}

/** Every object in the bucket and its bytes, to show a refused publish wrote nothing. */
async function snapshot(store: ObjectStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const o of await store.list('')) out[o.key] = (await store.get(o.key))!.body.toString('base64');
  return out;
}

async function expectSigned(store: ObjectStore) {
  const r = await gpgVerify(
    await readFile(generated.publicKeyPath),
    (await store.get(MANIFEST_SIGNATURE))!.body,
    (await store.get(MANIFEST))!.body,
  );
  expect(r.output).toContain(`VALIDSIG ${key.fingerprint}`);
}

describe('publish applies a seal without the private key', () => {
  it('sealed where the key is, published with the public key alone: SHA256SUMS lists both versions, signed', async () => {
    const { store, seal, publish } = await world('apply');
    await seal('1.0.0');
    expect((await publish('1.0.0')).manifestChanged).toBe(true);
    await seal('1.0.1');
    const result = await publish('1.0.1');
    expect([result.manifestChanged, result.signatureChanged]).toEqual([true, true]);
    const listed = (await store.get(MANIFEST))!.body.toString('utf8');
    expect(listed).toContain('alloy-1.0.0-amd64.raw');
    expect(listed).toContain('alloy-1.0.1-arm64.raw');
    await expectSigned(store);
    // the same publish again (a rerun of the job): nothing to write
    const again = await publish('1.0.1');
    expect([again.uploaded, again.manifestChanged, again.signatureChanged]).toEqual([[], false, false]);
  });

  it('the seal carries the next signed version state; publish records it over the state it extends', async () => {
    const { store, seal, publish } = await world('state');
    await seal('1.0.0');
    expect((await publish('1.0.0')).state).toEqual({ sequence: 1, written: true });
    const layout = await seal('1.0.1');
    const sealedState = await readFile(path.join(layout.seal, stateKey(recipe)), 'utf8');
    expect((await publish('1.0.1')).state).toEqual({ sequence: 2, written: true });
    const inBucket = (await store.get(stateKey(recipe)))!.body.toString('utf8');
    expect(inBucket).toBe(sealedState);
    const verified = (await verifyCleartext(inBucket, [key.publicKeyArmored]))!;
    const state = parseState(verified.text, recipe.name);
    expect([state.sequence, state.versions]).toEqual([2, ['1.0.0', '1.0.1']]);
    expect(state.manifest).toBe(manifestDigest((await store.get(MANIFEST))!.body.toString('utf8')));
  });

  it("a sealed state that does not record the sealed SHA256SUMS, skips a sequence or is another key's: refused", async () => {
    const { store, seal, publish } = await world('state-forged');
    await seal('1.0.0');
    await publish('1.0.0');
    const layout = await seal('1.0.1');
    const file = path.join(layout.seal, stateKey(recipe));
    const genuine = await readFile(file, 'utf8');
    const state = parseState((await verifyCleartext(genuine, [key.publicKeyArmored]))!.text, recipe.name);
    const before = await snapshot(store);
    // signed by the release key, but over another SHA256SUMS than the one sealed beside it
    await writeFile(file, await signState({ ...state, manifest: 'e'.repeat(64) }, key));
    await expect(publish('1.0.1')).rejects.toThrow(`does not record the sealed ${MANIFEST}`);
    // signed by the release key, recording the sealed SHA256SUMS, but #3 over the bucket's #1
    await writeFile(file, await signState({ ...state, sequence: state.sequence + 1 }, key));
    await expect(publish('1.0.1')).rejects.toThrow('skips a sequence');
    await writeFile(file, await signState(state, other));
    await expect(publish('1.0.1')).rejects.toThrow(`is not a state the release key signed`);
    expect(await snapshot(store)).toEqual(before);
    await writeFile(file, genuine);
    expect((await publish('1.0.1')).state).toEqual({ sequence: 2, written: true });
  });

  it('a repair in the split: an image gone from the bucket, sealed again and put back with the public key alone', async () => {
    const { store, seal, publish } = await world('repair');
    await seal('1.0.0');
    await publish('1.0.0');
    await seal('1.0.1');
    await publish('1.0.1');
    const listed = (await store.get(MANIFEST))!.body.toString('utf8');
    await store.delete('alloy-1.0.1-arm64.raw');
    // the repair item runs the same jobs: the sign job seals (the bucket's SHA256SUMS already lists 1.0.1: nothing to
    // merge, no new state), the publish job, with the bucket's keys and the public key only, puts the image back
    await seal('1.0.1');
    const repaired = await publish('1.0.1');
    expect(repaired.uploaded).toContain('alloy-1.0.1-arm64.raw');
    expect([repaired.manifestChanged, repaired.signatureChanged]).toEqual([false, false]);
    expect((await store.get(MANIFEST))!.body.toString('utf8')).toBe(listed);
    await expectSigned(store);
  });

  it('the bucket changed between seal and publish: refused before any upload, naming the cause and the way out', async () => {
    const { store, seal, publish } = await world('stale');
    await seal('1.0.0');
    await publish('1.0.0');
    await seal('1.0.2');
    // another publisher adds 1.0.1 after the seal of 1.0.2 was made
    await seal('1.0.1');
    await publish('1.0.1');
    const before = await snapshot(store);
    const error = (await publish('1.0.2').catch((e: Error) => e)) as Error;
    expect(error.message).toContain(`refusing to publish 1.0.2: ${MANIFEST} in ${store.describe()} changed since the seal`);
    expect(error.message).toContain('Start a new run of the release');
    expect(await snapshot(store)).toEqual(before);
    // where the key is, publish seals again and converges
    await publish('1.0.2', releaseKeyOf(key, 'test'));
    expect((await store.get(MANIFEST))!.body.toString('utf8')).toContain('alloy-1.0.1-amd64.raw');
    expect((await store.get(MANIFEST))!.body.toString('utf8')).toContain('alloy-1.0.2-amd64.raw');
    await expectSigned(store);
  });

  it('another publish records its state between our SHA256SUMS and our state: with the key, sealed again and converged', async () => {
    const { ws, store, seal, publish } = await world('race');
    await seal('1.0.0');
    await publish('1.0.0');
    await seal('1.0.1');
    await seal('1.0.2');
    // the bucket as our publish sees it, except that once our SHA256SUMS.gpg is written, the publish of 1.0.1 runs whole
    let raced = false;
    const racing: ObjectStore = Object.create(store);
    racing.putBytes = async (name, body, options) => {
      const put = await store.putBytes(name, body, options);
      if (name === MANIFEST_SIGNATURE && !raced) {
        raced = true;
        await publish('1.0.1', releaseKeyOf(key, 'test'));
      }
      return put;
    };
    const lines: string[] = [];
    await publishVersion({
      recipe,
      version: '1.0.2',
      layout: versionLayout(ws, recipe, '1.0.2'),
      store: racing,
      key: releaseKeyOf(key, 'test'),
      publicKey: key.publicKeyArmored,
      log: (line) => lines.push(line),
    });
    expect(raced).toBe(true);
    expect(lines).toContain(`${stateKey(recipe)} changed under us in ${store.describe()}; sealing again (attempt 2)`);
    const state = (await store.get(stateKey(recipe)))!.body.toString('utf8');
    const text = (await verifyCleartext(state, [key.publicKeyArmored]))!.text;
    const parsed = parseState(text, recipe.name);
    expect(parsed.versions).toEqual(['1.0.0', '1.0.1', '1.0.2']);
    expect(parsed.manifest).toBe(manifestDigest((await store.get(MANIFEST))!.body.toString('utf8')));
    await expectSigned(store);
  });

  it('a genuine older seal replayed into dist/ (a cache entry of an earlier run) would drop a version: refused', async () => {
    const { ws, store, seal, publish } = await world('replay');
    await seal('1.0.0');
    await publish('1.0.0');
    const layout = await seal('1.0.1');
    const old = path.join(ws, 'old-seal');
    await cp(layout.seal, old, { recursive: true });
    await publish('1.0.1');
    await seal('1.0.2');
    await publish('1.0.2');
    // the seal of 1.0.1 made against [1.0.0] comes back: writing it would take 1.0.2 out of SHA256SUMS
    await rm(layout.seal, { recursive: true });
    await cp(old, layout.seal, { recursive: true });
    await store.putBytes(MANIFEST_SIGNATURE, Buffer.from('broken'));
    const before = await snapshot(store);
    await expect(publish('1.0.1')).rejects.toThrow(`refusing to publish 1.0.1: ${MANIFEST} in ${store.describe()} changed since the seal`);
    expect(await snapshot(store)).toEqual(before);
  });

  it('a seal whose record lies about its base (it adds another line than this version): refused', async () => {
    const { ws, store, seal, publish } = await world('lying-base');
    await seal('1.0.0');
    await publish('1.0.0');
    const layout = await seal('1.0.1');
    // someone who can write the cache but has no key re-targets the genuine seal of 1.0.1 at version 1.0.3's slot: the
    // record is the only file without a signature, so that is what they edit
    const target = versionLayout(ws, recipe, '1.0.3');
    await built(ws, '1.0.3');
    await rm(target.seal, { recursive: true, force: true });
    await cp(layout.seal, target.seal, { recursive: true });
    const record = JSON.parse(await readFile(path.join(target.seal, SEAL_RECORD), 'utf8')) as { base: string };
    await writeFile(path.join(target.seal, SEAL_RECORD), JSON.stringify({ version: '1.0.3', base: record.base }));
    const before = await snapshot(store);
    await expect(publish('1.0.3')).rejects.toThrow(`does not merge exactly 1.0.3's verified images`);
    expect(await snapshot(store)).toEqual(before);
  });

  it('a seal signed by another key, or edited after signing: refused before any upload', async () => {
    const { store, seal, publish } = await world('foreign');
    await seal('1.0.0');
    await publish('1.0.0');
    const layout = await seal('1.0.1');
    const before = await snapshot(store);
    const sealed = path.join(layout.seal, MANIFEST);
    const genuine = await readFile(sealed, 'utf8');
    await writeFile(sealed, `${genuine}${'e'.repeat(64)}  alloy-9.9.9-amd64.raw\n`);
    await expect(publish('1.0.1')).rejects.toThrow(`${path.join(layout.seal, MANIFEST_SIGNATURE)} does not verify`);
    await writeFile(path.join(layout.seal, MANIFEST_SIGNATURE), await signManifest(await readFile(sealed, 'utf8'), other));
    await expect(publish('1.0.1')).rejects.toThrow(`${path.join(layout.seal, MANIFEST_SIGNATURE)} does not verify`);
    expect(await snapshot(store)).toEqual(before);
  });

  it('no seal and no private key: refused, naming the seal target; no development key is made', async () => {
    const { ws, store, publish } = await world('unsealed');
    await built(ws, '1.0.0');
    await expect(publish('1.0.0')).rejects.toThrow(`refusing to publish 1.0.0: there is no seal in`);
    expect(await store.list('')).toEqual([]);
    const env = { ALLOY_SIGNING_PUBLIC_KEY: await readFile(generated.publicKeyPath, 'utf8') };
    await expect(signingKeyFromEnv({ env, workspaceRoot: ws, identity: recipe.signing.identity, log })).rejects.toThrow(
      'this process holds only the release public key (ALLOY_SIGNING_PUBLIC_KEY), not ALLOY_SIGNING_KEY',
    );
    await expect(readdir(path.join(ws, '.dev-keys'))).rejects.toThrow('ENOENT');
  });

  it('ALLOY_SIGNING_KEY and an ALLOY_SIGNING_PUBLIC_KEY of another key: refused, naming both fingerprints', async () => {
    const env = {
      ALLOY_SIGNING_KEY: await readFile(generated.privateKeyPath, 'utf8'),
      ALLOY_SIGNING_PUBLIC_KEY: other.publicKeyArmored,
    };
    await expect(signingKeyFromEnv({ env, workspaceRoot: root, identity: recipe.signing.identity, log })).rejects.toThrow(
      `ALLOY_SIGNING_KEY is key ${key.fingerprint} but ALLOY_SIGNING_PUBLIC_KEY is ${other.fingerprint}`,
    );
    env.ALLOY_SIGNING_PUBLIC_KEY = key.publicKeyArmored;
    expect((await signingKeyFromEnv({ env, workspaceRoot: root, identity: recipe.signing.identity, log })).key.fingerprint).toBe(
      key.fingerprint,
    );
  });
});
