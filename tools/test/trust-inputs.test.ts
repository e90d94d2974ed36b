// The Nx hash inputs that carry trust: --zipDir's content (not its path) for fetch, the signing key's fingerprint for
// sign, manifest and seal (an env input set by the plugin), unique per run while a fresh clone has no key yet, and the
// GitHub Actions run a seal may be shared in.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKey } from '@alloy-sysext/signing';

/** alloy's project as the workspace plugin infers it from its recipe (tools/nx/recipe-projects.cjs). */
async function inferredAlloy(): Promise<{ targets: Record<string, any>; namedInputs: Record<string, unknown> }> {
  const { createNodes } = createRequire(import.meta.url)('../nx/recipe-projects.cjs');
  return createNodes[1](['apps/alloy/sysext.json'], {}, { workspaceRoot: fileURLToPath(new URL('../..', import.meta.url)) }).then(
    (r: any) => r[0][1].projects['apps/alloy'],
  );
}

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../..', import.meta.url));
const plugin = require(path.join(root, 'tools/nx/plugin.cjs')) as {
  preTasksExecution(options: unknown, context: { argv: string[]; workspaceRoot?: string }): Promise<Record<string, string>>;
};
const { signingKeyFingerprint, v4Fingerprint } = require(path.join(root, 'tools/nx/key-fingerprint.cjs')) as {
  signingKeyFingerprint(env: NodeJS.ProcessEnv, workspaceRoot: string): Promise<string>;
  v4Fingerprint(armored: string): string | undefined;
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'trust-inputs-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('fetch hashes the asset directory content (--assetDir, or its first name --zipDir)', () => {
  it('same path, replaced zip → another ALLOY_ZIP_DIR_CONTENT; both spellings, before and behind --', async () => {
    const zips = path.join(dir, 'zips');
    await mkdir(zips, { recursive: true });
    await writeFile(path.join(zips, 'alloy-linux-amd64.zip'), 'one');
    const env = (argv: string[]) =>
      plugin.preTasksExecution(undefined, { argv: ['node', 'nx', 'run', 'alloy:fetch', ...argv], workspaceRoot: dir });
    const first = (await env([`--zipDir=${zips}`])).ALLOY_ZIP_DIR_CONTENT;
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect((await env(['--', '--zipDir', 'zips'])).ALLOY_ZIP_DIR_CONTENT).toBe(first);
    // --assetDir is the same option under its general name
    expect((await env([`--assetDir=${zips}`])).ALLOY_ZIP_DIR_CONTENT).toBe(first);
    expect((await env(['--', '--assetDir', 'zips'])).ALLOY_ZIP_DIR_CONTENT).toBe(first);
    await writeFile(path.join(zips, 'alloy-linux-amd64.zip'), 'two');
    const second = (await env([`--zipDir=${zips}`])).ALLOY_ZIP_DIR_CONTENT;
    expect(second).not.toBe(first);
    await writeFile(path.join(zips, 'checksums.txt'), 'a checksum file beside them counts too');
    expect((await env([`--assetDir=${zips}`])).ALLOY_ZIP_DIR_CONTENT).not.toBe(second);
  });
});

describe('the signing key fingerprint (key-fingerprint.cjs, ALLOY_SIGNING_KEY_FINGERPRINT)', () => {
  const gpg = (home: string, args: string[]) =>
    promisify(execFile)('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', ...args], { encoding: 'utf8' });
  const gpgKey = async (algo: string, passphrase = '') => {
    const home = await mkdtemp(path.join(dir, 'gnupg-'));
    await gpg(home, ['--passphrase', passphrase, '--quick-gen-key', `fp test ${algo} <fp@alloy-sysext.invalid>`, algo, 'sign', 'never']);
    const fpr = (await gpg(home, ['--list-secret-keys', '--with-colons'])).stdout
      .split('\n')
      .find((l) => l.startsWith('fpr:'))!
      .split(':')[9]!;
    const armored = (await gpg(home, ['--passphrase', passphrase, '--armor', '--export-secret-keys', fpr])).stdout;
    const publicKey = (await gpg(home, ['--armor', '--export', fpr])).stdout;
    return { fpr, armored, publicKey };
  };

  it('no key yet: a value unique to each run (a fresh clone never restores another clone’s dev-key entries); then the dev key’s fingerprint', async () => {
    const ws = path.join(dir, 'ws');
    const [a, b] = [await signingKeyFingerprint({}, ws), await signingKeyFingerprint({}, ws)];
    expect(a).toMatch(/^no-key-yet-/);
    expect(b).toMatch(/^no-key-yet-/);
    expect(a).not.toBe(b);
    const key = await generateKey({ identity: 'dev (development key) <dev@alloy-sysext.invalid>', outDir: path.join(ws, '.dev-keys') });
    expect(await signingKeyFingerprint({}, ws)).toBe(key.fingerprint);
    // read from the packet, as openpgp.js computes it
    const armored = await readFile(path.join(ws, '.dev-keys/signing-key.asc'), 'utf8');
    expect(v4Fingerprint(armored)).toBe(key.fingerprint);
  }, 60_000);

  it('gpg’s fingerprint for gpg-made RSA and ed25519 keys, armored or base64 (GPG_PRIVATE_KEY), passphrase or not', async () => {
    for (const [algo, passphrase] of [
      ['rsa3072', ''],
      ['ed25519', ''],
      ['ed25519', 'secret words'],
    ] as const) {
      const { fpr, armored } = await gpgKey(algo, passphrase);
      expect([algo, v4Fingerprint(armored)]).toEqual([algo, fpr]);
      expect(await signingKeyFingerprint({ ALLOY_SIGNING_KEY: armored }, dir)).toBe(fpr);
      expect(await signingKeyFingerprint({ GPG_PRIVATE_KEY: Buffer.from(armored).toString('base64') }, dir)).toBe(fpr);
    }
  }, 120_000);

  it('a public key or garbage in place of the private key: "unreadable", never the private key’s fingerprint', async () => {
    const { publicKey } = await gpgKey('ed25519');
    expect(await signingKeyFingerprint({ ALLOY_SIGNING_KEY: publicKey }, dir)).toBe('unreadable');
    expect(await signingKeyFingerprint({ ALLOY_SIGNING_KEY: '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n' }, dir)).toBe('unreadable');
  }, 60_000);

  it('a job holding the public key alone (ALLOY_SIGNING_PUBLIC_KEY) hashes the private key’s fingerprint, and restores its entries', async () => {
    for (const algo of ['rsa3072', 'ed25519'] as const) {
      const { fpr, armored, publicKey } = await gpgKey(algo);
      expect([algo, await signingKeyFingerprint({ ALLOY_SIGNING_PUBLIC_KEY: publicKey }, dir)]).toEqual([algo, fpr]);
      // the private key wins when both are set (a laptop holding everything)
      expect(await signingKeyFingerprint({ ALLOY_SIGNING_KEY: armored, ALLOY_SIGNING_PUBLIC_KEY: 'junk' }, dir)).toBe(fpr);
    }
    expect(await signingKeyFingerprint({ ALLOY_SIGNING_PUBLIC_KEY: 'junk' }, dir)).toBe('unreadable');
  }, 120_000);

  it('reaches Nx: its plugin loader takes the hook’s env (fingerprint, --zipDir content) and never the key itself', async () => {
    const { fpr, armored } = await gpgKey('ed25519');
    const { LoadedNxPlugin } = require('nx/src/project-graph/plugins/loaded-nx-plugin.js') as {
      LoadedNxPlugin: new (
        plugin: unknown,
        definition: unknown,
      ) => { preTasksExecution(context: { argv: string[]; workspaceRoot: string }): Promise<Record<string, string>> };
    };
    const saved = { ...process.env };
    const run = () =>
      new LoadedNxPlugin(plugin, { plugin: path.join(root, 'tools/nx/plugin.cjs') }).preTasksExecution({
        argv: ['node', 'nx', 'run', 'alloy:sign', '--sysextVersion=1.10.2'],
        workspaceRoot: dir,
      });
    try {
      process.env.ALLOY_SIGNING_KEY = armored;
      // plugin worker or daemon: Nx collects what the hook assigns to process.env and sends it to the client
      process.env.NX_ISOLATE_PLUGINS = 'true';
      expect(await run()).toEqual({
        ALLOY_ZIP_DIR_CONTENT: 'none',
        ALLOY_SIGNING_KEY_FINGERPRINT: fpr,
        ALLOY_SEAL_RUN: expect.stringMatching(/^unshared-/),
      });
      // in the nx process itself (this workspace's .env: NX_ISOLATE_PLUGINS=false, no daemon): process.env is what Nx hashes
      process.env = { ...saved, ALLOY_SIGNING_KEY: armored, NX_ISOLATE_PLUGINS: 'false' };
      await run();
      expect([process.env.ALLOY_SIGNING_KEY_FINGERPRINT, process.env.ALLOY_ZIP_DIR_CONTENT]).toEqual([fpr, 'none']);
    } finally {
      process.env = saved;
    }
    const project = await inferredAlloy();
    for (const target of ['sign', 'manifest', 'seal']) {
      expect(project.targets[target].inputs).toContainEqual({ env: 'ALLOY_SIGNING_KEY_FINGERPRINT' });
    }
  }, 60_000);
});

describe('the seal is shared within one GitHub Actions run only (ALLOY_SEAL_RUN)', () => {
  const hook = (env: Record<string, string>) => {
    const saved = { ...process.env };
    process.env = { ...saved };
    delete process.env.GITHUB_RUN_ID;
    Object.assign(process.env, env);
    return (
      plugin.preTasksExecution(undefined, {
        argv: ['node', 'nx', 'run', 'alloy:seal', '--sysextVersion=1.10.2'],
        workspaceRoot: dir,
      }) as Promise<Record<string, string>>
    ).finally(() => (process.env = saved));
  };

  it('the jobs of one run agree; two runs, or two runs outside Actions, never do', async () => {
    const job = (await hook({ GITHUB_RUN_ID: '4242' })).ALLOY_SEAL_RUN;
    expect(job).toBe('github-run-4242');
    expect((await hook({ GITHUB_RUN_ID: '4242' })).ALLOY_SEAL_RUN).toBe(job);
    expect((await hook({ GITHUB_RUN_ID: '4243' })).ALLOY_SEAL_RUN).not.toBe(job);
    const [a, b] = [(await hook({})).ALLOY_SEAL_RUN, (await hook({})).ALLOY_SEAL_RUN];
    expect(a).toMatch(/^unshared-/);
    expect(a).not.toBe(b);
    const project = await inferredAlloy();
    // its own named input, so graph-derived inputs can replace the rest of the seal's inputs and leave it alone
    expect(project.namedInputs.sealRun).toEqual([{ env: 'ALLOY_SEAL_RUN' }]);
    expect(project.targets.seal.inputs).toContain('sealRun');
  });
});
