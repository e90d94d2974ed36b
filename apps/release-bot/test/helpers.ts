// Shared test setup: a throwaway workspace root holding a recipe, captured output, a directory bucket.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Manifest } from '@alloy-sysext/manifest';
import { createDirectoryStore } from '@alloy-sysext/r2';
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

/** Writes SHA256SUMS listing `versions` (all arches plus the compatibility copy) into the directory bucket at <root>/dist/bucket. */
export async function seedBucket(root: string, versions: string[]): Promise<void> {
  const store = createDirectoryStore(path.join(root, 'dist', 'bucket'), { prefix: 'alloy/' });
  const hex = (v: string, arch: string) => Buffer.from(`${v}-${arch}`).toString('hex').padEnd(64, '0').slice(0, 64);
  const entries = versions.flatMap((v) => [
    { file: `alloy-${v}-amd64.raw`, sha256: hex(v, 'amd64') },
    { file: `alloy-${v}-arm64.raw`, sha256: hex(v, 'arm64') },
    { file: `alloy-${v}.raw`, sha256: hex(v, 'amd64') },
  ]);
  await store.putBytes('SHA256SUMS', Buffer.from(Manifest.empty().upsert(entries).serialize()));
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
