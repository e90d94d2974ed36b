// A dry run of publish prints the plan a real run would carry out, reading the bucket only: what it lacks, what stays,
// whether SHA256SUMS and its signature would change (issue 22, item 2). The bucket is a directory store wrapped so any
// write fails the test. The literal command is in apps/alloy/test/options.e2e.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDirectoryStore, type ObjectStore } from '@alloy-sysext/r2';
import { generateKey, loadPrivateKey, type SigningKey } from '@alloy-sysext/signing';
import { builtVersion } from '../test/built-version.js';
import { MANIFEST } from './names.js';
import { publishVersion } from './publish.js';
import { loadRecipe, type Recipe } from './recipe.js';
import { releaseKeyOf } from './signing-key.js';

const RECIPE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/alloy/sysext.json');
let root: string;
let recipe: Recipe;
let key: SigningKey;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'publish-plan-'));
  const generated = await generateKey({ identity: 'release <release@alloy-sysext.invalid>', outDir: path.join(root, 'key') });
  key = await loadPrivateKey(await readFile(generated.privateKeyPath, 'utf8'));
  recipe = await loadRecipe(RECIPE, {});
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** The store as it is, but every write fails the test: what a dry run may not do. */
function readOnly(store: ObjectStore): ObjectStore {
  const refuse = (what: string) => async () => {
    throw new Error(`a dry run wrote: ${what}`);
  };
  return { ...store, putFile: refuse('putFile'), putBytes: refuse('putBytes'), copy: refuse('copy'), delete: refuse('delete') };
}

describe('publish --dryRun: the plan a real run would carry out', () => {
  const store = () => createDirectoryStore(path.join(root, 'bucket'), { prefix: 'alloy/' });
  const layouts: Record<string, Awaited<ReturnType<typeof builtVersion>>> = {};
  const run = async (version: string, dryRun: boolean) => {
    const lines: string[] = [];
    layouts[version] ??= await builtVersion(path.join(root, 'ws'), recipe, version, key);
    const result = await publishVersion({
      recipe,
      version,
      layout: layouts[version]!,
      store: dryRun ? readOnly(store()) : store(),
      key: releaseKeyOf(key, 'test'),
      publicKey: key.publicKeyArmored,
      dryRun,
      log: (line) => lines.push(line),
    });
    return { result, lines };
  };

  it('an empty bucket: every object would be uploaded, SHA256SUMS would be made and signed', async () => {
    const { result, lines } = await run('1.0.0', true);
    expect(result.unchanged).toEqual([]);
    expect(result.uploaded).toContain('alloy-1.0.0-amd64.raw');
    expect(result).toMatchObject({ manifestChanged: true, signatureChanged: true });
    expect(lines).toContain(`dry run: would add to ${MANIFEST}: alloy-1.0.0-amd64.raw, alloy-1.0.0-arm64.raw, alloy-1.0.0.raw`);
    expect(lines.some((l) => /^dry run: would copy alloy-1\.0\.0\.raw on the server/.test(l))).toBe(true);
  });

  it('the version fully published: nothing would be uploaded, SHA256SUMS and its signature unchanged', async () => {
    const real = await run('1.0.0', false);
    const { result, lines } = await run('1.0.0', true);
    expect(result.uploaded).toEqual([]);
    expect(result.unchanged.sort()).toEqual([...real.result.uploaded].sort());
    expect(result).toMatchObject({ manifestChanged: false, signatureChanged: false });
    expect(lines.filter((l) => l.startsWith('dry run:'))).toEqual([]);
  });

  it('another version: only its own objects would be uploaded, and its lines added', async () => {
    const { result, lines } = await run('1.0.1', true);
    expect(result.uploaded.every((k) => k.includes('1.0.1'))).toBe(true);
    // the keyring and sysupdate transfers are the same bytes as the published ones
    expect(result.unchanged).toEqual(expect.arrayContaining(['import-pubring.gpg', 'alloy-amd64.conf', 'alloy-arm64.conf']));
    expect(lines).toContain(`dry run: would add to ${MANIFEST}: alloy-1.0.1-amd64.raw, alloy-1.0.1-arm64.raw, alloy-1.0.1.raw`);
  });

  it('a SHA256SUMS line nothing vouches for: the dry run refuses as the real run would, naming it', async () => {
    const injected = `${'e'.repeat(64)}  alloy-9.9.9-amd64.raw`;
    const current = (await store().get(MANIFEST))!.body.toString('utf8');
    await store().putBytes(MANIFEST, Buffer.from(`${current}${injected}\n`));
    await expect(run('1.0.1', true)).rejects.toThrow(injected);
  });
});
