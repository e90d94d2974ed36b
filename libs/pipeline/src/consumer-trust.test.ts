// The key switch rule of publish: it signs SHA256SUMS with a new key only once every consumer's base branch trusts it.
// Consumers on the GitHub double: ghost-stack's layout (the key inline at /etc/systemd/alloy-sysext.gpg.pub) and one
// installed from the published Butane snippet (the keyring as a data: URL at /etc/alloy-sysext/alloy-release-key.gpg).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { KeyEntryUpdater } from '@alloy-sysext/ghost-stack';
import { signManifest } from '@alloy-sysext/manifest';
import { createDirectoryStore, type ObjectStore } from '@alloy-sysext/r2';
import { loadPrivateKey, readKeyring, type SigningKey } from '@alloy-sysext/signing';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { checkConsumersTrustKey, readConsumerTrust } from './consumer-trust.js';
import type { Recipe } from './recipe.js';
import { butaneSnippet, releaseKeyPaths } from './snippets.js';

const fixtures = fileURLToPath(new URL('../../ghost-stack/test/fixtures/', import.meta.url));
const E2E_KEY = fileURLToPath(new URL('../../../apps/alloy/test/fixtures/e2e-signing-key.asc', import.meta.url));
const GHOST_PATH = 'opentofu/modules/vultr/instance/userdata/ghost.bu';
const GHOST_KEY_PATH = '/etc/systemd/alloy-sysext.gpg.pub';
const SNIPPET_PATH = 'userdata/alloy.bu';
const MANIFEST = `${'a'.repeat(64)}  alloy-1.10.2-amd64.raw\n`;

let dir: string;
let gh: GitHubDouble;
let oldKey: SigningKey; // the e2e test key: what the ghost fixture trusts and what signed the bucket
let newKey: SigningKey;
let recipe: Recipe;
let seq = 0;

/** A directory bucket whose SHA256SUMS (and its .gpg) is signed by `by`. */
async function bucket(by: SigningKey, text = MANIFEST): Promise<ObjectStore> {
  const store = createDirectoryStore(join(dir, `bucket-${++seq}`), { prefix: 'alloy/' });
  await store.putBytes('SHA256SUMS', Buffer.from(text));
  await store.putBytes('SHA256SUMS.gpg', Buffer.from(await signManifest(text, by)));
  return store;
}

/** Two consumer repositories (fresh names per call) and the recipe naming them. */
async function consumers(): Promise<{ recipe: Recipe; ghost: { owner: string; repo: string }; snippet: { owner: string; repo: string } }> {
  const n = ++seq;
  const ghost = { owner: 'noahwhite', repo: `ghost-stack-${n}` };
  const snippet = { owner: 'officina-pub', repo: `snippet-stack-${n}` };
  gh.seedRepo({
    ...ghost,
    defaultBranch: 'develop',
    branches: { develop: { [GHOST_PATH]: await readFile(join(fixtures, 'ghost-with-key.bu'), 'utf8') } },
  });
  const installed = butaneSnippet({
    recipe: { name: 'alloy', bucket: { name: 'b', prefix: 'alloy/', publicUrl: 'https://sysext.example.com/alloy' } },
    version: '1.10.2',
    arch: 'amd64',
    sha256: 'a'.repeat(64),
    keyring: oldKey.publicKeyBinary(),
    fingerprint: oldKey.fingerprint,
  });
  gh.seedRepo({ ...snippet, defaultBranch: 'main', branches: { main: { [SNIPPET_PATH]: installed } } });
  const token = { tokenEnv: 'CONSUMER_TOKEN' };
  return {
    ghost,
    snippet,
    recipe: {
      ...recipe,
      consumers: [
        {
          name: 'ghost-stack',
          repo: `${ghost.owner}/${ghost.repo}`,
          path: GHOST_PATH,
          base: 'develop',
          arch: 'amd64',
          auth: token,
          keyPath: GHOST_KEY_PATH,
        },
        { name: 'snippet-stack', repo: `${snippet.owner}/${snippet.repo}`, path: SNIPPET_PATH, base: 'main', arch: 'amd64', auth: token },
      ],
    },
  };
}

const read = (log: string[] = []) => ({
  env: { ALLOY_GITHUB_API_URL: gh.url, CONSUMER_TOKEN: gh.token({ readOnly: true }) },
  log: (l: string) => log.push(l),
  octokit: { retry: { retryAfterBaseValue: 1 }, throttle: { enabled: false } },
});

const check = (
  r: Recipe,
  store: ObjectStore,
  key: SigningKey,
  extra: { allowUntrustedKey?: boolean; development?: boolean; localBucket?: boolean; log?: string[] } = {},
) =>
  checkConsumersTrustKey({
    recipe: r,
    version: '1.10.2',
    key,
    development: extra.development ?? false,
    localBucket: extra.localBucket ?? false,
    store,
    allowUntrustedKey: extra.allowUntrustedKey,
    read: read(extra.log),
  });

/** The consumer's base branch gets `key` added to its key entry, as merging the rotation pull request would. */
async function merge(c: { owner: string; repo: string }, path: string, base: string, keyPath: string, key: SigningKey) {
  const text = gh.readFile(c.owner, c.repo, base, path)!;
  const [entry] = await readKeyring(key.publicKeyBinary());
  gh.commitAs(
    c.owner,
    c.repo,
    base,
    { [path]: await new KeyEntryUpdater(keyPath).addKey(text, entry!) },
    { message: 'Merge rotation', login: 'noahwhite' },
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'consumer-trust-'));
  gh = await startGitHubDouble();
  oldKey = await loadPrivateKey(await readFile(E2E_KEY, 'utf8'));
  const generated = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'New release key' }] });
  newKey = await loadPrivateKey(generated.privateKey);
  const oldPublic = join(dir, 'old-key.pub.asc');
  await writeFile(oldPublic, oldKey.publicKeyArmored);
  recipe = { name: 'alloy', signing: { identity: 'x <x@example.org>', trustedKeys: [oldPublic] }, consumers: [] } as unknown as Recipe;
});
afterAll(async () => {
  await gh?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('consumer trust', () => {
  it('reads which keys each base branch trusts, in both layouts', async () => {
    const c = await consumers();
    const rows = await Promise.all(c.recipe.consumers.map((e) => readConsumerTrust(c.recipe, e, read())));
    expect(rows).toEqual([
      {
        consumer: 'ghost-stack',
        file: `noahwhite/${c.ghost.repo}:${GHOST_PATH}@develop`,
        keyPath: GHOST_KEY_PATH,
        fingerprints: [oldKey.fingerprint],
      },
      {
        consumer: 'snippet-stack',
        file: `officina-pub/${c.snippet.repo}:${SNIPPET_PATH}@main`,
        keyPath: releaseKeyPaths({ name: 'alloy' }).key,
        fingerprints: [oldKey.fingerprint],
      },
    ]);
  });

  it('publishing with the key that signed SHA256SUMS, no rotation under way: no consumer is read', async () => {
    const c = await consumers();
    const before = gh.requests.length;
    expect(await check({ ...c.recipe, signing: { identity: 'x <x@example.org>' } }, await bucket(oldKey), oldKey)).toBe('same-key');
    expect(gh.requests.length).toBe(before);
  });

  it('a publish cut off between SHA256SUMS and its signature is no switch: the rerun that repairs it reads no consumer', async () => {
    const c = await consumers();
    const store = await bucket(oldKey);
    // SHA256SUMS got this version's lines; SHA256SUMS.gpg is still our own signature over the previous text
    await store.putBytes('SHA256SUMS', Buffer.from(`${MANIFEST}${'b'.repeat(64)}  alloy-1.10.3-amd64.raw\n`));
    const before = gh.requests.length;
    expect(await check({ ...c.recipe, signing: { identity: 'x <x@example.org>' } }, store, oldKey)).toBe('same-key');
    expect(gh.requests.length).toBe(before);
    // while a signature issued by another key, even over the same text, is a switch: the consumers are read (they trust
    // this key, so it goes ahead)
    await store.putBytes('SHA256SUMS.gpg', Buffer.from(await signManifest(MANIFEST, newKey)));
    expect(await check({ ...c.recipe, signing: { identity: 'x <x@example.org>' } }, store, oldKey)).toBe('every-consumer-trusts');
    expect(gh.requests.length).toBeGreaterThan(before);
  });

  it('switching to a key no consumer trusts yet is refused, naming each consumer, what it trusts and the override', async () => {
    const c = await consumers();
    const error = (await check(c.recipe, await bucket(oldKey), newKey).catch((e: Error) => e)) as Error;
    expect(error.message).toContain(
      `refusing to publish with release key ${newKey.fingerprint}: the recipe's signing.trustedKeys lists ${oldKey.fingerprint}`,
    );
    expect(error.message).toContain(
      `  ghost-stack (noahwhite/${c.ghost.repo}:${GHOST_PATH}@develop, ${GHOST_KEY_PATH}): trusts ${oldKey.fingerprint}, not ${newKey.fingerprint}`,
    );
    expect(error.message).toContain(
      `  snippet-stack (officina-pub/${c.snippet.repo}:${SNIPPET_PATH}@main, /etc/alloy-sysext/alloy-release-key.gpg): trusts ${oldKey.fingerprint}, not`,
    );
    expect(error.message).toContain('npm run release-bot -- keys rotate --new-key');
    expect(error.message).toContain('npx nx run alloy:publish --version=1.10.2 --allowUntrustedKey');
    expect(gh.writes()).toEqual([]);
  });

  it('once one consumer trusts it the other still blocks; once both do, the switch goes ahead', async () => {
    const c = await consumers();
    const store = await bucket(oldKey);
    await merge(c.ghost, GHOST_PATH, 'develop', GHOST_KEY_PATH, newKey);
    const error = (await check(c.recipe, store, newKey).catch((e: Error) => e)) as Error;
    expect(error.message).not.toContain('ghost-stack (');
    expect(error.message).toContain('snippet-stack (');
    await merge(c.snippet, SNIPPET_PATH, 'main', '/etc/alloy-sysext/alloy-release-key.gpg', newKey);
    expect(await check(c.recipe, store, newKey)).toBe('every-consumer-trusts');
  });

  it('a consumer that cannot be read does not count as trusting: refused, with the cause', async () => {
    const c = await consumers();
    const recipeMissing = { ...c.recipe, consumers: [{ ...c.recipe.consumers[0]!, path: 'nope.bu' }] };
    await expect(check(recipeMissing, await bucket(oldKey), newKey)).rejects.toThrow(
      /ghost-stack \(.*\): cannot tell: .*nope\.bu does not exist on branch "develop"/,
    );
  });

  it('GitHub out of reach is named as such, not as an answer from GitHub', async () => {
    const c = await consumers();
    const offline = { ...read(), env: { ...read().env, ALLOY_GITHUB_API_URL: 'http://api.github.invalid' } };
    const row = await readConsumerTrust(c.recipe, c.recipe.consumers[0]!, offline);
    expect(row.error).toMatch(
      /^\[ghost-stack\] reading base branch develop of noahwhite\/ghost-stack-\d+: cannot reach http:\/\/api\.github\.invalid \(ENOTFOUND/,
    );
  });

  it('--allowUntrustedKey goes ahead, loudly naming every consumer that does not trust the key', async () => {
    const c = await consumers();
    const log: string[] = [];
    expect(await check(c.recipe, await bucket(oldKey), newKey, { allowUntrustedKey: true, log })).toBe('overridden');
    const banner = log.join('\n');
    expect(banner).toContain(`!! --allowUntrustedKey: publishing with ${newKey.fingerprint}, which these consumers do not trust`);
    expect(banner).toMatch(/!! {2}ghost-stack .*trusts D23EA1FEF045A40CA24ECB3046B0426485FE8513, not/);
    expect(banner).toMatch(/!! {2}snippet-stack /);
  });

  it('the development key on the local bucket is not checked (a laptop run); on R2 it is', async () => {
    const c = await consumers();
    const store = await bucket(oldKey);
    expect(await check(c.recipe, store, newKey, { development: true, localBucket: true })).toBe('development-key-local-bucket');
    await expect(check(c.recipe, store, newKey, { development: true, localBucket: false })).rejects.toThrow(
      'refusing to publish with release key',
    );
  });

  it('a bucket writer cannot skip the check: SHA256SUMS replaced by a text the new key signed (its version fragment) is still checked', async () => {
    const c = await consumers();
    // the attacker copies alloy-1.10.2.SHA256SUMS(.gpg), signed by the new key, over SHA256SUMS(.gpg)
    const poisoned = await bucket(newKey);
    await expect(check(c.recipe, poisoned, newKey)).rejects.toThrow(
      `refusing to publish with release key ${newKey.fingerprint}: the recipe's signing.trustedKeys lists ${oldKey.fingerprint}`,
    );
  });
});
