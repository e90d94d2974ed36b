// Publish signs only SHA256SUMS lines it can vouch for. The tests play someone holding bucket write access but not the
// key: an injected line, a symlinked SHA256SUMS in the directory bucket; and the key holder rotating keys. The bucket's
// signature is checked with real gpg.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeManifest } from '@alloy-sysext/manifest';
import type { ObjectStore } from '@alloy-sysext/r2';
import { generateKey, loadPrivateKey, type GeneratedKey, type SigningKey } from '@alloy-sysext/signing';
import { expectSignedBy, publishingWorld } from '../test/publish-world.js';
import { MANIFEST, MANIFEST_SIGNATURE } from './names.js';
import { loadRecipe, type Recipe } from './recipe.js';
import { fragmentKey, trustedPublicKeys } from './vouch.js';

const RECIPE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/alloy/sysext.json');
let root: string;
let recipe: Recipe;
let oldKey: GeneratedKey;
let newKey: GeneratedKey;
let signer: { old: SigningKey; new: SigningKey };

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'vouch-'));
  [oldKey, newKey] = await Promise.all([
    generateKey({ identity: 'old release <old@alloy-sysext.invalid>', outDir: path.join(root, 'old-key') }),
    generateKey({ identity: 'new release <new@alloy-sysext.invalid>', outDir: path.join(root, 'new-key') }),
  ]);
  signer = {
    old: await loadPrivateKey(await readFile(oldKey.privateKeyPath, 'utf8')),
    new: await loadPrivateKey(await readFile(newKey.privateKeyPath, 'utf8')),
  };
  recipe = await loadRecipe(RECIPE, {});
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function world(name: string) {
  return publishingWorld(path.join(root, name), recipe);
}

const text = async (store: ObjectStore, key: string) => (await store.get(key))!.body.toString('utf8');

describe('publish signs only SHA256SUMS lines it can vouch for', () => {
  it('a line injected with bucket write access alone is refused by the next publish, naming the line and the repair; nothing signed', async () => {
    const { store, publish } = await world('inject');
    await publish('1.0.0', signer.old);
    const injected = `${'e'.repeat(64)}  alloy-9.9.9-amd64.raw`;
    const signedBefore = await text(store, MANIFEST_SIGNATURE);
    await store.putBytes(MANIFEST, Buffer.from(`${await text(store, MANIFEST)}${injected}\n`));
    for (const version of ['1.0.1', '1.0.0']) {
      const error = (await publish(version, signer.old).catch((e: Error) => e)) as Error;
      expect(error.message).toContain(`refusing to sign ${MANIFEST}`);
      expect(error.message).toContain(`\n  ${injected}\n`);
      expect(error.message).toContain('npx nx run alloy:publish --version=9.9.9');
      expect(await text(store, MANIFEST_SIGNATURE)).toBe(signedBefore);
      expect(await text(store, MANIFEST)).not.toContain('alloy-1.0.1');
    }
  });

  it('the same injection with a copied genuine fragment of another version is still refused', async () => {
    const { store, publish } = await world('inject-fragment');
    await publish('1.0.0', signer.old);
    const listed = await text(store, MANIFEST);
    const forged = listed.replaceAll('1.0.0', '9.9.9');
    await store.putBytes(fragmentKey(recipe, '9.9.9'), (await store.get(fragmentKey(recipe, '1.0.0')))!.body);
    await store.putBytes(`${fragmentKey(recipe, '9.9.9')}.gpg`, (await store.get(`${fragmentKey(recipe, '1.0.0')}.gpg`))!.body);
    await store.putBytes(
      MANIFEST,
      Buffer.from(
        mergeManifest(
          listed,
          forged
            .trimEnd()
            .split('\n')
            .map((l) => ({ sha256: l.slice(0, 64), file: l.slice(66) })),
        ),
      ),
    );
    await expect(publish('1.0.1', signer.old)).rejects.toThrow(`alloy-9.9.9-amd64.raw`);
  });

  it('a symlinked SHA256SUMS in the directory bucket is refused, not followed', async () => {
    const { ws, store, publish } = await world('symlink');
    await publish('1.0.0', signer.old);
    const foreign = path.join(ws, 'foreign-SHA256SUMS');
    await writeFile(foreign, `${'e'.repeat(64)}  alloy-9.9.9-amd64.raw\n`);
    const file = path.join(ws, 'bucket/alloy', MANIFEST);
    await rm(file);
    await symlink(foreign, file);
    await expect(publish('1.0.1', signer.old)).rejects.toThrow(
      `${file} in the bucket directory ${path.join(ws, 'bucket')} is a symlink: refusing to follow it`,
    );
    await expect(store.get(MANIFEST)).rejects.toThrow('is a symlink');
  });

  it('publish stopped between its two writes: the rerun converges (own fragment + the old signature over the rest)', async () => {
    const { store, publish } = await world('crash');
    await publish('1.0.0', signer.old);
    const signed = await text(store, MANIFEST_SIGNATURE);
    await publish('1.0.1', signer.old);
    // as if 1.0.1's publish had stopped after writing SHA256SUMS: the old signature is back
    await store.putBytes(MANIFEST_SIGNATURE, Buffer.from(signed));
    // and a legacy bucket: 1.0.0 has no fragment (published before fragments existed)
    await store.delete(fragmentKey(recipe, '1.0.0'));
    const result = await publish('1.0.1', signer.old);
    expect(result.signatureChanged).toBe(true);
    await expectSignedBy(store, oldKey);
  });

  it('key rotation: with the old key listed as trusted the new key re-signs everything; without it, refused', async () => {
    const { store, publish } = await world('rotate');
    await publish('1.0.0', signer.old);
    // the bucket's version state is the old key's too: refused before any line is considered, naming the remedy
    await expect(publish('1.0.1', signer.new)).rejects.toThrow('list the old public key in signing.trustedKeys');
    const rotated = { ...recipe, signing: { ...recipe.signing, trustedKeys: [oldKey.publicKeyPath] } };
    const result = await publish('1.0.1', signer.new, { trusted: await trustedPublicKeys(rotated, signer.new), recipe: rotated });
    expect(result.signatureChanged).toBe(true);
    expect(await text(store, MANIFEST)).toContain('alloy-1.0.0-amd64.raw');
    expect(await text(store, MANIFEST)).toContain('alloy-1.0.1-amd64.raw');
    await expectSignedBy(store, newKey);
  });
});
