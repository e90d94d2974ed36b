// Shared test setup: a throwaway workspace root holding a recipe, captured output, a directory bucket.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { Manifest, signManifest } from '@alloy-sysext/manifest';
import { generateKey, KEY_FILES, loadPrivateKey, type SigningKey } from '@alloy-sysext/signing';
import { createDirectoryStore, type ObjectStore } from '@alloy-sysext/r2';
import { loadRecipe, readHistory, recordState } from '@alloy-sysext/pipeline';
import { execa } from 'execa';
import type { Ctx } from '../src/index.js';

export const WORKSPACE = fileURLToPath(new URL('../../..', import.meta.url));
export const SCHEMA = path.join(WORKSPACE, 'apps/alloy/sysext.schema.json');
export const RECIPE = path.join(WORKSPACE, 'apps/alloy/sysext.json');

export interface Captured {
  ctx: Ctx;
  stdout: () => string;
  stderr: () => string;
}

/** A context with captured output; the env holds only what the test passes (never the runner's real credentials). */
export function capture(root: string, env: NodeJS.ProcessEnv, extra: Partial<Ctx> = {}): Captured {
  let out = '';
  let err = '';
  const ctx: Ctx = {
    env: { PATH: process.env.PATH, ...env },
    root,
    cwd: root,
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    octokit: { retry: { retryAfterBaseValue: 1 }, throttle: { enabled: false } },
    ...extra,
  };
  return { ctx, stdout: () => out, stderr: () => err };
}

/**
 * A temp workspace root with apps/alloy/sysext.json: the real recipe with `overrides` merged in (consumers, upstream),
 * next to a copy of the real schema (loadRecipe validates against it).
 */
export async function tempWorkspace(overrides: Record<string, unknown> = {}): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'release-bot-'));
  const dir = path.join(root, 'apps/alloy');
  await mkdir(dir, { recursive: true });
  const recipe = { ...JSON.parse(await readFile(RECIPE, 'utf8')), ...overrides };
  await writeFile(path.join(dir, 'sysext.json'), JSON.stringify(recipe, null, 2));
  await copyFile(SCHEMA, path.join(dir, 'sysext.schema.json'));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/**
 * A healthy bucket (default: the directory bucket at <root>/dist/bucket): tiny objects for `versions` (all arches plus
 * the compatibility name), SHA256SUMS listing them, and SHA256SUMS.gpg by `by`, default the workspace's development key
 * (<root>/.dev-keys, made once).
 */
export async function seedBucket(root: string, versions: string[], opts: { store?: ObjectStore; by?: SigningKey } = {}): Promise<void> {
  const store = opts.store ?? createDirectoryStore(path.join(root, 'dist', 'bucket'), { prefix: 'alloy/' });
  const entries = [];
  for (const v of versions) {
    for (const [file, body] of [
      [`alloy-${v}-amd64.raw`, `${v}-amd64`],
      [`alloy-${v}-arm64.raw`, `${v}-arm64`],
      [`alloy-${v}.raw`, `${v}-amd64`],
    ]) {
      await store.putBytes(file!, Buffer.from(body!));
      entries.push({ file: file!, sha256: createHash('sha256').update(body!).digest('hex') });
    }
  }
  const text = Manifest.empty().upsert(entries).serialize();
  await store.putBytes('SHA256SUMS', Buffer.from(text));
  await store.putBytes('SHA256SUMS.gpg', Buffer.from(await signManifest(text, opts.by ?? (await devKey(root)))));
}

/**
 * Records the seeded bucket's SHA256SUMS as its next signed version state (by the development key), as the publish that
 * made it would have: what a bucket looks like after this change.
 */
export async function recordSeededState(root: string): Promise<void> {
  const store = createDirectoryStore(path.join(root, 'dist', 'bucket'), { prefix: 'alloy/' });
  const recipe = await loadRecipe(path.join(root, 'apps/alloy/sysext.json'), {});
  const key = await devKey(root);
  const keys = [key.publicKeyArmored];
  const history = await readHistory({ store, recipe, keys, witnesses: { states: [], unavailable: [] } });
  await recordState({ store, recipe, key, keys, history, log: () => {} });
}

/** The workspace's development key, as the pipeline would make it on first use. */
export async function devKey(root: string): Promise<SigningKey> {
  const dir = path.join(root, '.dev-keys');
  const file = path.join(dir, KEY_FILES.privateKey);
  const text = await readFile(file, 'utf8').catch(async () => {
    await generateKey({ identity: 'alloy-sysext release (development key) <release@alloy-sysext.invalid>', outDir: dir });
    return readFile(file, 'utf8');
  });
  return loadPrivateKey(text);
}

/** A minimal Flatcar Butane file pinning alloy `version` for amd64. */
export function butane(version: string, sha256: string): string {
  const file = `alloy-${version}-amd64.raw`;
  return [
    'variant: flatcar',
    'version: 1.1.0',
    'storage:',
    '  files:',
    `    - path: /opt/extensions/alloy/${file}`,
    '      contents:',
    `        source: https://sysext.example.com/alloy/${file}`,
    '        verification:',
    `          hash: sha256-${sha256}`,
    '  links:',
    '    - path: /etc/extensions/alloy.raw',
    `      target: /opt/extensions/alloy/${file}`,
    '',
  ].join('\n');
}

/**
 * `npm run release-bot <args>` as a user types it (pass `--` first for the documented form), in the checkout, with no
 * npm settings, credentials or endpoints inherited from the test runner; `env` adds to that.
 */
export async function npmRunReleaseBot(args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(npm_|NODE_OPTIONS$|ALLOY_|R2_|GITHUB_|GPG_)/i.test(k)) clean[k] = v;
  }
  const r = await execa('npm', ['run', 'release-bot', ...args], {
    cwd: WORKSPACE,
    env: { ...clean, ...env },
    extendEnv: false,
    all: true,
    reject: false,
    stdin: 'ignore',
  });
  return { code: r.exitCode ?? -1, output: r.all ?? '' };
}
