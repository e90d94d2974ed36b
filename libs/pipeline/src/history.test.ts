// The published version set only moves forward. The tests play someone with write access to the bucket but not the key:
// an older genuine SHA256SUMS/.gpg pair put back (with or without the state), a revoked version's lines put back; and
// the operator's side: the first publish, a bucket from before signed states, concurrent publishers, a crash, key
// rotation. Signatures are checked with real gpg.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Manifest } from '@alloy-sysext/manifest';
import type { ObjectStore } from '@alloy-sysext/r2';
import { verifyCleartext, type SigningKey } from '@alloy-sysext/signing';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { expectSignedBy, publishingWorld, quickKey } from '../test/publish-world.js';
import { compareManifest, readHistory } from './history.js';
import { witnessDir } from './layout.js';
import { MANIFEST, MANIFEST_SIGNATURE } from './names.js';
import { loadRecipe, type Recipe } from './recipe.js';
import { removeVersions } from './remove-versions.js';
import { parseState, stateKey, tombstoneKey } from './version-state.js';
import { fragmentKey, trustedPublicKeys } from './vouch.js';
import { localWitnessFile } from './witnesses.js';

const RECIPE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/alloy/sysext.json');
let root: string;
let recipe: Recipe;
let keyFiles: { old: { publicKeyPath: string; fingerprint: string }; new: { publicKeyPath: string; fingerprint: string } };
let signer: { old: SigningKey; new: SigningKey };
let github: GitHubDouble;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'history-'));
  const [o, n] = await Promise.all([quickKey(path.join(root, 'keys'), 'old'), quickKey(path.join(root, 'keys'), 'new')]);
  keyFiles = { old: o, new: n };
  signer = { old: o.signer, new: n.signer };
  recipe = await loadRecipe(RECIPE, {});
  github = await startGitHubDouble();
}, 60_000);
afterAll(async () => {
  await github?.stop();
  await rm(root, { recursive: true, force: true });
});

const world = (name: string, r: Recipe = recipe, store?: ObjectStore) => publishingWorld(path.join(root, name), r, store);
const text = async (store: ObjectStore, key: string) => (await store.get(key))!.body.toString('utf8');
const listed = async (store: ObjectStore) => Manifest.parse(await text(store, MANIFEST)).versions('alloy');
const snapshot = async (store: ObjectStore, keys: string[]) =>
  Object.fromEntries(await Promise.all(keys.map(async (k) => [k, (await store.get(k))!.body] as const)));
const putBack = async (store: ObjectStore, saved: Record<string, Buffer>) => {
  for (const [k, body] of Object.entries(saved)) await store.putBytes(k, body);
};
async function bucketState(store: ObjectStore, key: SigningKey = signer.old) {
  const verified = await verifyCleartext(await text(store, stateKey(recipe)), [key.publicKeyArmored]);
  expect(verified).toBeDefined();
  return parseState(verified!.text, 'alloy');
}
const revoke = (store: ObjectStore, ws: string, version: string, key: SigningKey = signer.old) =>
  removeVersions({
    store,
    recipe,
    key,
    keys: [key.publicKeyArmored],
    versions: [version],
    by: 'revoke',
    reason: 'test',
    witnessFile: localWitnessFile(witnessDir(path.join(ws, key.fingerprint), recipe), store),
    env: {},
    log: () => {},
  });

describe('rollback: an older genuine SHA256SUMS/.gpg pair put back', () => {
  it('the next publish does not sign a set without the newer version: its lines come back from its signed fragment', async () => {
    const { store, publish } = world('rollback');
    await publish('1.0.0', signer.old);
    const before = await snapshot(store, [MANIFEST, MANIFEST_SIGNATURE]);
    await publish('1.0.1', signer.old);
    await putBack(store, before);
    expect(await listed(store)).toEqual(['1.0.0']);

    // the dry run's plan is the real run's merge: it says so, and writes nothing
    const planned: string[] = [];
    const plan = await publish('1.0.2', signer.old, { dryRun: true, log: (l) => planned.push(l) });
    expect(plan.manifestChanged).toBe(true);
    expect(planned).toContain(
      "dry run: would be restoring 1.0.1's lines from its signed fragment: SHA256SUMS lacked them, but signed state #2 lists it",
    );
    expect(planned).toContain('dry run: would record the version state as alloy-state.asc #3');
    expect(await listed(store)).toEqual(['1.0.0']);

    const lines: string[] = [];
    const result = await publish('1.0.2', signer.old, { log: (l) => lines.push(l) });
    expect(await listed(store)).toEqual(['1.0.0', '1.0.1', '1.0.2']);
    await expectSignedBy(store, keyFiles.old);
    expect(lines.join('\n')).toContain("restoring 1.0.1's lines from its signed fragment: SHA256SUMS lacked them, but signed state #2");
    expect(result.state).toEqual({ sequence: 3, written: true });
    expect((await bucketState(store)).versions).toEqual(['1.0.0', '1.0.1', '1.0.2']);
  });

  it('with the state put back too, this workspace remembers the newer state; a fresh clone without a witness cannot tell', async () => {
    const { store, publish } = world('rollback-state');
    await publish('1.0.0', signer.old);
    const before = await snapshot(store, [MANIFEST, MANIFEST_SIGNATURE, stateKey(recipe)]);
    await publish('1.0.1', signer.old);
    await putBack(store, before);

    // What the bucket alone says is consistent: only a witness outside it shows the rollback (README, Security model).
    const alone = await readHistory({ store, recipe, keys: [signer.old.publicKeyArmored], witnesses: { states: [], unavailable: [] } });
    expect(alone.problems).toEqual([]);
    expect(compareManifest(alone, await listed(store)).rolledBack).toEqual([]);

    const lines: string[] = [];
    await publish('1.0.2', signer.old, { log: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(
      /history: alloy-state\.asc in .* is state #1, but this workspace's last state .* recorded state #2: an older state was put back \(rollback\)/,
    );
    expect(await listed(store)).toEqual(['1.0.0', '1.0.1', '1.0.2']);
    expect((await bucketState(store)).sequence).toBe(3);
  });

  it("with the state put back too, from a fresh clone: the mirror's copy of the state is the witness", async () => {
    github.seedRepo({ owner: 'acme', repo: 'sysext-manifests', defaultBranch: 'main' });
    const mirrored = { ...recipe, mirror: { repo: 'acme/sysext-manifests', branch: 'main', path: 'alloy', auth: {} } };
    const saved = { url: process.env.ALLOY_GITHUB_API_URL, token: process.env.ALLOY_GITHUB_TOKEN };
    process.env.ALLOY_GITHUB_API_URL = github.url;
    process.env.ALLOY_GITHUB_TOKEN = github.token();
    try {
      const first = world('mirror-a', mirrored);
      await first.publish('1.0.0', signer.old);
      const before = await snapshot(first.store, [MANIFEST, MANIFEST_SIGNATURE, stateKey(recipe)]);
      await first.publish('1.0.1', signer.old);
      expect(github.readFile('acme', 'sysext-manifests', 'main', 'alloy/alloy-state.asc')).toContain('"sequence": 2');
      await putBack(first.store, before);

      const fresh = world('mirror-b', mirrored, first.store);
      const lines: string[] = [];
      await fresh.publish('1.0.2', signer.old, { log: (l) => lines.push(l) });
      expect(lines.join('\n')).toContain('but mirror acme/sysext-manifests@main (alloy/alloy-state.asc) recorded state #2');
      expect(await listed(first.store)).toEqual(['1.0.0', '1.0.1', '1.0.2']);
      expect(github.readFile('acme', 'sysext-manifests', 'main', 'alloy/alloy-state.asc')).toContain('"sequence": 3');
    } finally {
      for (const [k, v] of [
        ['ALLOY_GITHUB_API_URL', saved.url],
        ['ALLOY_GITHUB_TOKEN', saved.token],
      ] as const)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });

  it('a version the state lists whose fragment is gone: refused, naming it; publishing that version converges', async () => {
    const { store, publish } = world('rollback-no-fragment');
    await publish('1.0.0', signer.old);
    const before = await snapshot(store, [MANIFEST, MANIFEST_SIGNATURE]);
    await publish('1.0.1', signer.old);
    await store.delete(fragmentKey(recipe, '1.0.1'));
    await putBack(store, before);
    const error = (await publish('1.0.2', signer.old).catch((e: Error) => e)) as Error;
    expect(error.message).toContain('refusing to sign SHA256SUMS without 1.0.1: signed state #2');
    expect(error.message).toContain('npx nx run alloy:publish --version=1.0.1');
    expect(await listed(store)).toEqual(['1.0.0']);
    await publish('1.0.1', signer.old);
    await publish('1.0.2', signer.old);
    expect(await listed(store)).toEqual(['1.0.0', '1.0.1', '1.0.2']);
    await expectSignedBy(store, keyFiles.old);
  });
});

describe('revocation: a revoked version stays revoked', () => {
  it('its lines appended back are dropped by the next publish (its own fragment no longer vouches); publishing it is refused', async () => {
    const { ws, store, publish } = world('revive');
    await publish('1.0.0', signer.old);
    await publish('1.0.1', signer.old);
    const withRevoked = await snapshot(store, [MANIFEST, MANIFEST_SIGNATURE]);
    const lines = (await text(store, MANIFEST)).split('\n').filter((l) => l.includes('alloy-1.0.1'));
    const result = await revoke(store, ws, '1.0.1');
    expect(result.tombstones).toEqual([tombstoneKey(recipe, '1.0.1')]);
    expect(await listed(store)).toEqual(['1.0.0']);
    await expectSignedBy(store, keyFiles.old);
    expect((await bucketState(store)).removed).toEqual([{ version: '1.0.1', by: 'revoke', sequence: 3, reason: 'test' }]);

    // a bucket writer appends the lines again
    await store.putBytes(MANIFEST, Buffer.from(`${await text(store, MANIFEST)}${lines.join('\n')}\n`));
    const planned: string[] = [];
    await publish('1.0.2', signer.old, { dryRun: true, log: (l) => planned.push(l) });
    expect(planned).toContain(
      "dry run: would be dropping 1.0.1's lines from SHA256SUMS: it was revoked at state #3: test (alloy-state.asc in " +
        `${store.describe()})`,
    );
    await publish('1.0.2', signer.old);
    expect(await listed(store)).toEqual(['1.0.0', '1.0.2']);
    await expectSignedBy(store, keyFiles.old);
    // or puts back the genuine pair from before the revocation
    await putBack(store, withRevoked);
    await publish('1.0.2', signer.old);
    expect(await listed(store)).toEqual(['1.0.0', '1.0.2']);
    await expectSignedBy(store, keyFiles.old);

    await expect(publish('1.0.1', signer.old)).rejects.toThrow(
      /refusing to publish alloy 1\.0\.1: it was revoked at state #3: test \(.*\), and a removed version is never published again/,
    );
    // a rerun of the revocation changes nothing
    const again = await revoke(store, ws, '1.0.1');
    expect(again).toMatchObject({ tombstones: [], manifestChanged: false, signatureChanged: false, state: { written: false } });
  });

  it('a revoke stopped after writing its tombstone: the version is already gone for publish, and the rerun completes it', async () => {
    const { ws, store, publish } = world('revoke-crash');
    await publish('1.0.0', signer.old);
    await publish('1.0.1', signer.old);
    const failing: ObjectStore = {
      ...store,
      putBytes: (key, bytes, opts) => (key === MANIFEST ? Promise.reject(new Error('simulated crash')) : store.putBytes(key, bytes, opts)),
    };
    await expect(revoke(failing, ws, '1.0.1')).rejects.toThrow('simulated crash');
    expect(await store.head(tombstoneKey(recipe, '1.0.1'))).not.toBeNull();
    expect(await listed(store)).toEqual(['1.0.0', '1.0.1']);
    await expect(publish('1.0.1', signer.old)).rejects.toThrow('refusing to publish alloy 1.0.1: it was revoked');
    const again = await revoke(store, ws, '1.0.1');
    expect(again).toMatchObject({ tombstones: [], manifestChanged: true, state: { sequence: 3, written: true } });
    expect(await listed(store)).toEqual(['1.0.0']);
    await expectSignedBy(store, keyFiles.old);
  });

  it('the tombstone deleted and the state put back as well: the workspace that revoked still refuses', async () => {
    const { ws, store, publish } = world('revive-state');
    await publish('1.0.0', signer.old);
    await publish('1.0.1', signer.old);
    const before = await snapshot(store, [MANIFEST, MANIFEST_SIGNATURE, stateKey(recipe)]);
    await revoke(store, ws, '1.0.1');
    await store.delete(tombstoneKey(recipe, '1.0.1'));
    await putBack(store, before);
    await expect(publish('1.0.1', signer.old)).rejects.toThrow('refusing to publish alloy 1.0.1: it was revoked');
    await publish('1.0.2', signer.old);
    expect(await listed(store)).toEqual(['1.0.0', '1.0.2']);
  });
});

describe('the history over time', () => {
  it('the first publish to an empty bucket records state #1 over exactly that SHA256SUMS; a rerun writes no state', async () => {
    const { store, publish } = world('first');
    expect((await publish('1.0.0', signer.old)).state).toEqual({ sequence: 1, written: true });
    const state = await bucketState(store);
    expect(state).toMatchObject({ sequence: 1, versions: ['1.0.0'], removed: [] });
    expect(state.manifest).toBe(
      createHash('sha256')
        .update(await text(store, MANIFEST))
        .digest('hex'),
    );
    const etag = (await store.head(stateKey(recipe)))!.etag;
    const rerun = await publish('1.0.0', signer.old);
    expect(rerun).toMatchObject({ manifestChanged: false, signatureChanged: false, state: { sequence: 1, written: false } });
    expect((await store.head(stateKey(recipe)))!.etag).toBe(etag);
  });

  it('a bucket from before signed states: the first publish starts the history, and a version removed by hand stays removed', async () => {
    const { ws, store, publish } = world('legacy');
    await publish('1.0.0', signer.old);
    await publish('1.0.1', signer.old);
    const lines = (await text(store, MANIFEST)).split('\n').filter((l) => l.includes('alloy-1.0.1'));
    // as it was before this change: no state, no witness; 1.0.1 removed by the old runbook (lines dropped by hand,
    // then publish of the newest good version re-signs)
    await store.delete(stateKey(recipe));
    await rm(path.join(ws, signer.old.fingerprint, 'dist/.witness'), { recursive: true, force: true });
    await store.putBytes(
      MANIFEST,
      Buffer.from(
        Manifest.parse(await text(store, MANIFEST))
          .removeVersion('alloy', '1.0.1')
          .serialize(),
      ),
    );
    const result = await publish('1.0.0', signer.old);
    expect(result.state).toEqual({ sequence: 1, written: true });
    expect((await bucketState(store)).removed).toEqual([{ version: '1.0.1', by: 'baseline', sequence: 1 }]);
    await store.putBytes(MANIFEST, Buffer.from(`${await text(store, MANIFEST)}${lines.join('\n')}\n`));
    await publish('1.0.2', signer.old);
    expect(await listed(store)).toEqual(['1.0.0', '1.0.2']);
  });

  it('concurrent publishers of two versions: both end up in SHA256SUMS and in the state', async () => {
    const a = world('concurrent-a');
    await a.publish('1.0.0', signer.old);
    const b = world('concurrent-b', recipe, a.store);
    await Promise.all([a.publish('1.0.1', signer.old), b.publish('1.0.2', signer.old)]);
    expect(await listed(a.store)).toEqual(['1.0.0', '1.0.1', '1.0.2']);
    const state = await bucketState(a.store);
    expect(state.versions).toEqual(['1.0.0', '1.0.1', '1.0.2']);
    expect(state.sequence).toBeGreaterThanOrEqual(2);
    await expectSignedBy(a.store, keyFiles.old);
  });

  it('a publish that stopped before recording its state: the bucket says so, and the rerun records it', async () => {
    const { store } = world('crash');
    let crash = false;
    const failing: ObjectStore = {
      ...store,
      putBytes: (key, bytes, opts) =>
        crash && key === stateKey(recipe) ? Promise.reject(new Error('simulated crash')) : store.putBytes(key, bytes, opts),
    };
    const { publish } = world('crash', recipe, failing);
    await publish('1.0.0', signer.old);
    crash = true;
    await expect(publish('1.0.1', signer.old)).rejects.toThrow('simulated crash');
    crash = false;
    expect(await listed(store)).toEqual(['1.0.0', '1.0.1']);
    const history = await readHistory({ store, recipe, keys: [signer.old.publicKeyArmored], witnesses: { states: [], unavailable: [] } });
    expect(compareManifest(history, await listed(store)).unrecorded).toEqual(['1.0.1']);
    expect((await publish('1.0.1', signer.old)).state).toEqual({ sequence: 2, written: true });
  });

  it('key rotation: the new key signs the next state while the old one is trusted; a revocation survives the rotation', async () => {
    const { ws, store, publish } = world('rotate');
    await publish('1.0.0', signer.old);
    await publish('1.0.1', signer.old);
    await revoke(store, ws, '1.0.1');
    const rotated = { ...recipe, signing: { ...recipe.signing, trustedKeys: [keyFiles.old.publicKeyPath] } };
    await publish('1.0.2', signer.new, { trusted: await trustedPublicKeys(rotated, signer.new), recipe: rotated });
    const state = await bucketState(store, signer.new);
    expect(state.versions).toEqual(['1.0.0', '1.0.2']);
    // the old key leaves trustedKeys: the state the new key signed still carries the revocation
    await expect(publish('1.0.1', signer.new)).rejects.toThrow('refusing to publish alloy 1.0.1: it was revoked');
    await publish('1.0.3', signer.new);
    await expectSignedBy(store, keyFiles.new);
    expect(await listed(store)).toEqual(['1.0.0', '1.0.2', '1.0.3']);
  });
});
