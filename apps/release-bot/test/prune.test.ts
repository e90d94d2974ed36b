import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { Manifest, signManifest } from '@alloy-sysext/manifest';
import { storeFromEnv, type ObjectStore } from '@alloy-sysext/r2';
import { loadPrivateKey, verifyCleartext, verifyDetached } from '@alloy-sysext/signing';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { r2Env, startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';
import { signingKeyFromEnv } from '@alloy-sysext/pipeline';
import { EXIT, main, release } from '../src/index.js';
import { butane, capture, tempWorkspace } from './helpers.js';

const VERSIONS = ['1.7.0', '1.8.0', '1.9.0', '1.10.0', '1.11.0'];
const hex = (s: string) => Buffer.from(s).toString('hex').padEnd(64, '0').slice(0, 64);

let s3: S3Peer;
let gh: GitHubDouble;
let ws: { root: string; cleanup: () => Promise<void> };
let store: ObjectStore;
let env: NodeJS.ProcessEnv;
let armoredKey: string;
let publicKey: string;

/** Every version's objects, a manifest listing them (plus another sysext) and its signature by the release key. */
async function seed(versions: string[]): Promise<string> {
  const entries = [];
  for (const v of versions) {
    for (const file of [`alloy-${v}-amd64.raw`, `alloy-${v}-arm64.raw`, `alloy-${v}.raw`]) {
      await store.putBytes(file, Buffer.from(`image ${file}`));
      await store.putBytes(`${file}.sha256`, Buffer.from(`${hex(file)}  ${file}\n`));
      await store.putBytes(`${file}.asc`, Buffer.from('-----BEGIN PGP SIGNATURE-----\n'));
      entries.push({ file, sha256: hex(file) });
    }
    for (const arch of ['amd64', 'arm64']) await store.putBytes(`alloy-${v}-${arch}.bu`, Buffer.from('variant: flatcar\n'));
  }
  await store.putBytes('import-pubring.gpg', Buffer.from('keyring'));
  const text = Manifest.empty()
    .upsert([...entries, { file: 'docker-compose-2.29.0-x86-64.raw', sha256: hex('dc') }])
    .serialize();
  await store.putBytes('SHA256SUMS', Buffer.from(text));
  await store.putBytes('SHA256SUMS.gpg', Buffer.from(await signManifest(text, await loadPrivateKey(armoredKey))));
  return text;
}

const keys = async () => (await store.list('')).map((o) => o.key);
/** Deletes every object; resolves to what the bucket held. */
async function emptyBucket(): Promise<Array<[string, Buffer]>> {
  const held: Array<[string, Buffer]> = [];
  for (const k of await keys()) {
    held.push([k, (await store.get(k))!.body]);
    await store.delete(k);
  }
  return held;
}

beforeAll(async () => {
  s3 = await startS3Peer();
  gh = await startGitHubDouble();
  // ghost-stack pins 1.8.0 on develop, and the bot's open pull request proposes 1.9.0; infisical pins the newest
  gh.seedRepo({
    owner: 'noahwhite',
    repo: 'ghost-stack',
    defaultBranch: 'develop',
    branches: {
      develop: { 'userdata/ghost.bu': butane('1.8.0', hex('1.8.0')) },
      'feature/update-alloy-sysext-to-1.9.0': { 'userdata/ghost.bu': butane('1.9.0', hex('1.9.0')) },
    },
  });
  const opened = await fetch(`${gh.url}/repos/noahwhite/ghost-stack/pulls`, {
    method: 'POST',
    headers: { authorization: `token ${gh.token()}`, 'content-type': 'application/json', accept: 'application/vnd.github+json' },
    body: JSON.stringify({
      title: 'Update alloy sysext to 1.9.0',
      head: 'feature/update-alloy-sysext-to-1.9.0',
      base: 'develop',
      body: 'bump',
    }),
  });
  expect(opened.status).toBe(201);
  gh.seedRepo({
    owner: 'officina-pub',
    repo: 'infisical-stack',
    branches: { main: { 'userdata/infisical.bu.tftpl': butane('1.11.0', hex('1.11.0')) } },
  });
  ws = await tempWorkspace({
    consumers: [
      { name: 'ghost-stack', repo: 'noahwhite/ghost-stack', path: 'userdata/ghost.bu', base: 'develop', arch: 'amd64', auth: {} },
      {
        name: 'infisical-stack',
        repo: 'officina-pub/infisical-stack',
        path: 'userdata/infisical.bu.tftpl',
        base: 'main',
        arch: 'amd64',
        auth: {},
      },
    ],
  });
  const { privateKey, publicKey: pub } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Release', email: 'release@example.com' }],
    format: 'armored',
  });
  armoredKey = privateKey;
  publicKey = pub;
  env = {
    ...r2Env(s3),
    ALLOY_GITHUB_API_URL: gh.url,
    ALLOY_GITHUB_TOKEN: gh.token({ login: 'reader', readOnly: true }),
    ALLOY_SIGNING_KEY: armoredKey,
  };
  store = storeFromEnv(env, { bucket: s3.bucket, prefix: 'alloy/', directory: '/nonexistent' });
}, 60_000);
afterAll(async () => {
  await Promise.all([s3?.stop(), gh?.stop(), ws?.cleanup()]);
});

describe('release-bot prune --keep N', () => {
  it('keeps the newest N and every pinned version (base branch and open bot pull request), says why, and deletes only the rest', async () => {
    const before = await seed(VERSIONS);
    const allKeys = await keys();

    // dry run, as typed on the command line: prints the plan, changes nothing
    const dry = capture(ws.root, env);
    expect(await main(['prune', '--keep', '2', '--dry-run'], dry.ctx)).toBe(EXIT.OK);
    expect(dry.stdout()).toContain(
      'keep   1.11.0: newest 2 (#1); pinned by infisical-stack (officina-pub/infisical-stack:userdata/infisical.bu.tftpl@main)\n',
    );
    expect(dry.stdout()).toContain('keep   1.10.0: newest 2 (#2)\n');
    expect(dry.stdout()).toContain('keep   1.9.0: pinned by open pull request #1 of ghost-stack (feature/update-alloy-sysext-to-1.9.0)\n');
    expect(dry.stdout()).toContain('keep   1.8.0: pinned by ghost-stack (noahwhite/ghost-stack:userdata/ghost.bu@develop)\n');
    expect(dry.stdout()).toContain('remove 1.7.0\n');
    expect(dry.stdout()).toContain('dry run: would delete alloy-1.7.0-amd64.raw\n');
    expect(dry.stdout()).toContain(
      'dry run: would remove 1.7.0 from SHA256SUMS, re-sign it and record the removal\ndry run: nothing was changed',
    );
    expect(await keys()).toEqual(allKeys);
    expect((await store.get('SHA256SUMS'))!.body.toString()).toBe(before);

    const mark = s3.requests.length;
    const ghWrites = gh.writes().length;
    const c = capture(ws.root, env);
    expect(await main(['prune', '--keep', '2'], c.ctx)).toBe(EXIT.OK);
    const after = (await store.get('SHA256SUMS'))!.body;
    const manifest = Manifest.parse(after);
    expect(manifest.versions('alloy')).toEqual(['1.8.0', '1.9.0', '1.10.0', '1.11.0']);
    expect(manifest.get('docker-compose-2.29.0-x86-64.raw')?.sha256).toBe(hex('dc'));
    await verifyDetached({ data: after, signature: (await store.get('SHA256SUMS.gpg'))!.body.toString(), publicKey });
    const gone = allKeys.filter((k) => !(k as string).includes('-1.7.0'));
    // the removal is recorded: a tombstone signed by the release key, and the signed state lists it as removed
    expect(await keys()).toEqual([...gone, 'alloy-1.7.0.tombstone.asc', 'alloy-state.asc'].sort());
    const state = await verifyCleartext((await store.get('alloy-state.asc'))!.body.toString(), [publicKey]);
    expect(JSON.parse(state!.text)).toMatchObject({
      sequence: 1,
      versions: ['1.8.0', '1.9.0', '1.10.0', '1.11.0'],
      removed: [{ version: '1.7.0', by: 'prune', sequence: 1, reason: 'retention: keep 2' }],
    });
    expect(await verifyCleartext((await store.get('alloy-1.7.0.tombstone.asc'))!.body.toString(), [publicKey])).toBeDefined();
    expect(allKeys.length - gone.length).toBe(3 * 3 + 2);
    const deletes = s3.requests
      .slice(mark)
      .filter((r) => r.method === 'DELETE')
      .map((r) => r.key);
    expect(deletes.every((k) => k.includes('alloy-1.7.0'))).toBe(true);
    expect(deletes).toHaveLength(11);
    expect(gh.writes()).toHaveLength(ghWrites); // GitHub is only read

    // rerun: nothing left to prune
    const again = capture(ws.root, env);
    expect(await main(['prune', '--keep', '2'], again.ctx)).toBe(EXIT.OK);
    expect(again.stdout()).toContain('nothing to prune');
  }, 60_000);

  it('a dry run with the development key signs nothing, so it prints no development-key warning; the real run does', async () => {
    // a bucket of its own: the version state and tombstones the other tests leave are the release key's, not this one's
    const saved = await emptyBucket();
    const text = await seed(VERSIONS);
    const devEnv = { ...env, ALLOY_SIGNING_KEY: undefined };
    const { key: devKey } = await signingKeyFromEnv({
      env: devEnv,
      workspaceRoot: ws.root,
      identity: 'dev <dev@example.com>',
      log: () => {},
    });
    await store.putBytes('SHA256SUMS.gpg', Buffer.from(await signManifest(text, devKey)));
    const dry = capture(ws.root, devEnv);
    expect(await main(['prune', '--keep', '4', '--dry-run'], dry.ctx)).toBe(EXIT.OK);
    expect(dry.stdout()).toContain('dry run: would remove 1.7.0 from SHA256SUMS');
    expect(dry.stderr()).not.toContain('DEVELOPMENT key');
    const real = capture(ws.root, devEnv);
    expect(await main(['prune', '--keep', '4'], real.ctx)).toBe(EXIT.OK);
    expect(real.stderr()).toContain(`WARNING: no ALLOY_SIGNING_KEY set: signing with the DEVELOPMENT key ${devKey.fingerprint}`);
    await emptyBucket();
    for (const [k, body] of saved) await store.putBytes(k, body);
  }, 120_000);

  it('refuses a manifest whose signature does not verify (never re-signs bucket text), deleting nothing', async () => {
    await seed(VERSIONS);
    const tampered = `${(await store.get('SHA256SUMS'))!.body.toString()}${'f'.repeat(64)}  evil-1.0.0-amd64.raw\n`;
    await store.putBytes('SHA256SUMS', Buffer.from(tampered));
    const before = await keys();
    const c = capture(ws.root, env);
    expect(await main(['prune', '--keep', '1'], c.ctx)).toBe(EXIT.ERROR);
    expect(c.stderr()).toContain('SHA256SUMS.gpg in');
    expect(c.stderr()).toContain('does not verify SHA256SUMS with the release key: refusing to re-sign it');
    expect(await keys()).toEqual(before);
    expect((await store.get('SHA256SUMS'))!.body.toString()).toBe(tampered);
  }, 60_000);

  it('refuses to prune when a consumer pin cannot be read, and rejects a bad --keep', async () => {
    await seed(VERSIONS);
    const before = await keys();
    const broken = capture(ws.root, { ...env, ALLOY_GITHUB_API_URL: 'http://127.0.0.1:9' });
    expect(await main(['prune', '--keep', '1'], broken.ctx)).toBe(EXIT.ERROR);
    expect(broken.stderr()).toMatch(/cannot tell what consumer ghost-stack pins \(.*\); refusing to prune/);
    expect(await keys()).toEqual(before);
    const usage = capture(ws.root, env);
    expect(await main(['prune', '--keep', '0'], usage.ctx)).toBe(EXIT.USAGE);
    expect(await main(['prune'], usage.ctx)).toBe(EXIT.USAGE);
    expect(usage.stderr()).toContain('--keep "0" is not a whole number >= 1');
    expect(usage.stderr()).toContain('--keep <n> is required (the recipe sets no bucket.keep)');
  }, 60_000);

  it("the recipe's bucket.keep follows the same rule: release prunes after the chain, keeping pinned versions", async () => {
    await seed(VERSIONS);
    const recipe = JSON.parse(await readFile(path.join(ws.root, 'apps/alloy/sysext.json'), 'utf8'));
    const keepWs = await tempWorkspace({ consumers: recipe.consumers, bucket: { ...recipe.bucket, keep: 1 } });
    try {
      const c = capture(keepWs.root, env);
      expect(await release(c.ctx, { version: '1.11.0', runChain: async () => 0 })).toBe(EXIT.OK);
      expect(c.stdout()).toContain('keep   1.8.0: pinned by ghost-stack');
      expect(c.stdout()).toContain('keep   1.9.0: pinned by open pull request #1 of ghost-stack');
      expect(Manifest.parse((await store.get('SHA256SUMS'))!.body).versions('alloy')).toEqual(['1.8.0', '1.9.0', '1.11.0']);
      expect((await keys()).some((k) => k.includes('-1.10.0') && !k.endsWith('.tombstone.asc'))).toBe(false);
      expect((await keys()).some((k) => k.includes('-1.8.0'))).toBe(true);
    } finally {
      await keepWs.cleanup();
    }
  }, 60_000);
});
