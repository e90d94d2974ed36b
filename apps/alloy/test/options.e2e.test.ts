// End to end: every documented option of the alloy targets, typed literally as README and `--help` show it
// (`npx nx run alloy:publish --version=1.10.2 --dryRun`, …), under real nx in a temp copy of this workspace against the
// loopback peers; dry runs are checked by counting the requests the S3 peer and the GitHub double saw. Issue 12.
//
// One world for the file (tiny synthetic binaries, one copy, one signing key); the tests run in order and build on each
// other's state (dry runs first, while the bucket is empty).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { type GeneratedKey } from '@alloy-sysext/signing';
import { testSigningKey } from './test-key.js';
import { makeSyntheticBinary, makeZip, startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { r2Env, startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { execa } from 'execa';
import * as openpgp from 'openpgp';
import {
  cloneCopy,
  copyWorkspace,
  npxNx,
  nx,
  nxEnv,
  SOURCE_ROOT,
  tail,
  taskStatus,
  tempDir,
  type NxRun,
} from '@alloy-sysext/test-peers/nx-workspace';

const KiB = 1024;
const GHOST = { owner: 'noahwhite', repo: 'ghost-stack' };
const INFISICAL = { owner: 'officina-pub', repo: 'infisical-stack' };
const THIS_REPO = { owner: 'acme', repo: 'alloy-sysext' };

/** A tiny distinct "binary" per version and arch. */
function binary(arch: 'amd64' | 'arm64', version: string): Buffer {
  const b = makeSyntheticBinary(arch, 48 * KiB);
  b.write(`alloy ${version} ${arch}`, 256, 'latin1');
  return b;
}
const zipOf = (arch: 'amd64' | 'arm64', version: string) =>
  makeZip([{ name: `alloy-linux-${arch}`, data: binary(arch, version), mode: 0o100644 }]);

let root: string;
let key: GeneratedKey;
let upstream: UpstreamHost;
let s3: S3Peer;
let github: GitHubDouble;
let env: Record<string, string>;
let A: string;
let zipDir: string;

/** No R2 and no public URL: the embedded default (local bucket, served by `release-bot serve`). */
const noR2 = () => ({
  ...env,
  R2_ENDPOINT: undefined,
  R2_ACCESS_KEY_ID: undefined,
  R2_SECRET_ACCESS_KEY: undefined,
  R2_BUCKET: undefined,
  R2_REGION: undefined,
  ALLOY_PUBLIC_URL: undefined,
});
const s3Writes = (from: number) => s3.requests.slice(from).filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
const ghWrites = (from: number) => github.writes().slice(from);
const expectOk = (run: NxRun) => expect({ code: run.code, run: run.code === 0 ? '' : tail(run) }).toEqual({ code: 0, run: '' });
const dist = (...p: string[]) => path.join(A, 'dist/alloy', ...p);

/** The lines a task printed (static output style: from its `> nx run <task>` header to the next one). */
function taskOutput(output: string, task: string): string {
  const lines = output.split('\n');
  const start = lines.findIndex((l) =>
    l
      .replace(/\x1b\[[0-9;]*m/g, '')
      .trim()
      .startsWith(`> nx run ${task}`),
  );
  if (start === -1) return '';
  const end = lines.findIndex((l, i) => i > start && /^\s*(> nx run |—————|NX )/.test(l.replace(/\x1b\[[0-9;]*m/g, '')));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

/** Counts of what the peers saw from `mark()` on. */
function mark() {
  const at = { s3: s3.requests.length, gh: github.writes().length, upstream: upstream.requests.length };
  return {
    s3Writes: () => s3Writes(at.s3).map((r) => `${r.method} ${r.key}`),
    s3Requests: () => s3.requests.slice(at.s3).length,
    ghWrites: () => ghWrites(at.gh).map((r) => `${r.method} ${r.path}`),
    upstream: () => upstream.requests.slice(at.upstream).map((r) => `${r.method} ${r.path}`),
  };
}

beforeAll(async () => {
  root = await tempDir('alloy-options-e2e-');
  const release = (version: string, extra: { prerelease?: boolean } = {}) => ({
    version,
    ...extra,
    assets: { amd64: zipOf('amd64', version), arm64: zipOf('arm64', version) },
  });
  [upstream, s3, github, key] = await Promise.all([
    startUpstreamHost({ releases: [release('1.10.2'), release('1.10.3'), release('1.11.0-rc.1', { prerelease: true })] }),
    startS3Peer({ bucket: 'sysext-options' }),
    startGitHubDouble(),
    testSigningKey(path.join(root, 'key')),
  ]);
  const fixtures = path.join(SOURCE_ROOT, 'libs/ghost-stack/test/fixtures');
  github.seedRepo({
    ...GHOST,
    defaultBranch: 'develop',
    // ghost-stack's layout: the release key (this file's signing key) inline at /etc/systemd/alloy-sysext.gpg.pub
    branches: {
      develop: { 'opentofu/modules/vultr/instance/userdata/ghost.bu': await readFile(path.join(fixtures, 'ghost-with-key.bu'), 'utf8') },
    },
  });
  github.seedRepo({ ...THIS_REPO });
  github.seedRepo({
    ...INFISICAL,
    defaultBranch: 'main',
    branches: {
      main: { 'opentofu/modules/server/userdata/infisical.bu.tftpl': await readFile(path.join(fixtures, 'infisical.bu.tftpl'), 'utf8') },
    },
  });
  // the air-gapped directory: the release's zips, and a SHA256SUMS beside them in sha256sum format
  zipDir = path.join(root, 'zips');
  await mkdir(zipDir);
  const sums = [];
  for (const arch of ['amd64', 'arm64'] as const) {
    const bytes = zipOf(arch, '1.10.3');
    await writeFile(path.join(zipDir, `alloy-linux-${arch}.zip`), bytes);
    sums.push(`${createHash('sha256').update(bytes).digest('hex')}  alloy-linux-${arch}.zip\n`);
  }
  await writeFile(path.join(zipDir, 'SHA256SUMS'), sums.join(''));
  env = {
    ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
    ...r2Env(s3),
    ALLOY_SIGNING_KEY: await readFile(key.privateKeyPath, 'utf8'),
    ALLOY_GITHUB_API_URL: github.url,
    ALLOY_GITHUB_TOKEN: github.token(),
  };
  A = await copyWorkspace(root, 'ws');
  // alloy's commands against alloy's recipe alone: the upstream double serves one repository (grafana/alloy), and the
  // bot's commands read every recipe's upstream by default (several sysexts: apps/release-bot/test/sysexts.test.ts)
  await rm(path.join(A, 'sysexts/docker-compose'), { recursive: true, force: true });
}, 240_000);

afterAll(async () => {
  await Promise.allSettled([upstream?.stop(), s3?.stop(), github?.stop()]);
  if (root && !process.env.ALLOY_E2E_KEEP) await rm(root, { recursive: true, force: true });
  else if (root) console.log(`kept ${root}`);
}, 180_000);

describe('dry runs write nothing', () => {
  it('`npx nx run alloy:publish --version=1.10.2 --dryRun`: the version reaches fetch..manifest; no S3 write', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.2', '--dryRun'], env);
    expectOk(r);
    expect(taskStatus(r.output)).toEqual({
      'alloy:fetch': 'ran',
      'alloy:image': 'ran',
      'alloy:sign': 'ran',
      'alloy:manifest': 'ran',
      'alloy:seal': 'ran',
      'alloy:publish': 'ran',
    });
    expect(existsSync(dist('1.10.2/manifest/SHA256SUMS'))).toBe(true);
    expect(r.output).toContain('dry run: would upload alloy-1.10.2-amd64.raw');
    // no warning a user cannot act on
    expect(r.output).not.toMatch(/Unable to locate swc-node|NodeVersionSupportWarning|AWS SDK for JavaScript/);
    expect(m.s3Writes()).toEqual([]);
    expect(await listBucket()).toEqual([]);
  }, 300_000);

  it('`npx nx run alloy:publish --version 1.10.2 --dryRun` (space form): same task hashes, all from the cache; no S3 write', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:publish', '--version', '1.10.2', '--dryRun'], env);
    expectOk(r);
    const status = taskStatus(r.output);
    for (const t of ['alloy:fetch', 'alloy:image', 'alloy:sign', 'alloy:manifest'])
      expect([t, status[t]]).toEqual([t, expect.stringMatching(/^(local|existing)$/)]);
    expect(r.output).toContain('dry run: would upload');
    expect(m.s3Writes()).toEqual([]);
  }, 300_000);

  it('`npx nx run alloy:pr --version=1.10.2 --dryRun`: no S3 write, no GitHub write', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:pr', '--version=1.10.2', '--dryRun'], env);
    expectOk(r);
    expect(r.output).toMatch(/ghost-stack: dry-run/);
    expect(r.output).toMatch(/infisical-stack: dry-run/);
    expect(m.s3Writes()).toEqual([]);
    expect(m.ghWrites()).toEqual([]);
    expect(github.pulls(GHOST.owner, GHOST.repo)).toEqual([]);
  }, 300_000);

  it('`nx run alloy:publish -- --version=1.10.2 --dryRun` (the fallback without npx): no S3 write', async () => {
    const m = mark();
    const r = await nx(A, ['run', 'alloy:publish', '--', '--version=1.10.2', '--dryRun'], env);
    expectOk(r);
    expect(r.output).toContain('dry run: would upload alloy-1.10.2-amd64.raw');
    expect(m.s3Writes()).toEqual([]);
  }, 300_000);

  it('without R2 (the local bucket): `npx nx run alloy:publish --version=1.10.2 --dryRun` creates no bucket directory', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.2', '--dryRun'], noR2());
    expectOk(r);
    expect(r.output).toContain('dry run: would upload alloy-1.10.2-amd64.raw');
    expect(existsSync(path.join(A, 'dist/bucket'))).toBe(false);
    expect(existsSync(path.join(A, 'dist/bucket.meta'))).toBe(false);
    expect(m.s3Requests()).toBe(0);
  }, 300_000);
});

describe('placements that cannot work fail before any task runs, naming the working form', () => {
  const nothingRan = (r: NxRun, m: ReturnType<typeof mark>) => {
    expect(r.code).not.toBe(0);
    expect(r.output).not.toMatch(/^> nx run alloy:/m);
    expect(m.s3Requests()).toBe(0);
    expect(m.upstream()).toEqual([]);
  };

  it('`npx nx run alloy:publish --dryRun -- --version=1.10.2` (Nx would drop --dryRun): refused', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:publish', '--dryRun', '--', '--version=1.10.2'], env);
    nothingRan(r, m);
    expect(r.output).toContain('--dryRun is written before "--"');
    expect(r.output).toContain('npx nx run alloy:publish --dryRun --output-style=static --version=1.10.2');
  }, 180_000);

  it('`nx run alloy:publish --version=1.10.2 --dryRun` without npx (Nx would drop the version): refused', async () => {
    const m = mark();
    const r = await nx(A, ['run', 'alloy:publish', '--version=1.10.2', '--dryRun'], env);
    nothingRan(r, m);
    expect(r.output).toContain('Nx reserves --version');
    expect(r.output).toContain('npx nx run alloy:publish --version=1.10.2');
    expect(r.output).toContain('nx run alloy:publish --sysextVersion=1.10.2');
    // release-bot release is no stand-in for publish: it also opens pull requests and tags (issue 22, item 9)
    expect(r.output).not.toContain('release-bot');
  }, 180_000);
});

// Issue 22, item 1: a typo never does the real thing. The bucket is empty here: the real thing would write 20 objects.
describe('an option the target does not take is refused before any task runs, naming the one meant', () => {
  const refused = (r: NxRun, m: ReturnType<typeof mark>) => {
    expect(r.code).toBe(1);
    expect(r.output).not.toMatch(/^> nx run alloy:/m);
    expect(m.s3Requests()).toBe(0);
    expect(m.s3Writes()).toEqual([]);
    expect(m.upstream()).toEqual([]);
  };

  it('`npx nx run alloy:publish --version=1.10.2 --dryrun`: exit 1, did you mean --dryRun?, no request to the S3 peer', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.2', '--dryrun'], env);
    refused(r, m);
    expect(r.output).toContain('unknown option --dryrun for alloy:publish: did you mean --dryRun? Nothing was run.');
  }, 180_000);

  it('the `--` fallback: `nx run alloy:publish -- --version=1.10.2 --dryrun`: refused the same way', async () => {
    const m = mark();
    const r = await nx(A, ['run', 'alloy:publish', '--', '--version=1.10.2', '--dryrun'], env);
    refused(r, m);
    expect(r.output).toContain('unknown option --dryrun for alloy:publish: did you mean --dryRun?');
  }, 180_000);

  it('`npx nx run alloy:fetch --version=1.10.2 --dryRun`: fetch would ignore it, so it is refused naming who takes it', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:fetch', '--version=1.10.2', '--dryRun'], env);
    refused(r, m);
    expect(r.output).toContain('alloy:fetch does not take --dryRun (alloy:publish, alloy:pr do). Nothing was run.');
  }, 180_000);
});

// Issue 22, item 3: every target's help lists every option it takes (those of each step it runs), and no other.
describe('`npx nx run alloy:<target> --help`', () => {
  it('lists, for each target, exactly the options it takes: publish and pr list --zipDir, --format, --allowUnverified', async () => {
    const { acceptedOptions } = createRequire(import.meta.url)(path.join(A, 'tools/nx/target-options.cjs')) as {
      acceptedOptions(step: string): Record<string, unknown>;
    };
    const steps = ['fetch', 'image', 'sign', 'manifest', 'publish', 'pr'];
    const runs = await Promise.all(steps.map((t) => npxNx(A, ['run', `alloy:${t}`, '--help'], env)));
    for (const [i, step] of steps.entries()) {
      expect([step, runs[i]!.code]).toEqual([step, 0]);
      const listed = [...runs[i]!.output.matchAll(/^ {4}--(\w+)/gm)].map((m) => m[1]);
      expect([step, listed.sort()]).toEqual([step, Object.keys(acceptedOptions(step)).sort()]);
    }
    for (const step of ['publish', 'pr', 'manifest']) {
      const listed = runs[steps.indexOf(step)]!.output;
      for (const option of ['--zipDir', '--format', '--compressor', '--allowUnverified'])
        expect([step, listed]).toEqual([step, expect.stringContaining(option)]);
    }
  }, 300_000);
});

describe('exit codes', () => {
  it('a failed dependency task: `npx nx run alloy:publish --version=1.10.9` (no such release) exits 1, not 130', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.9'], env);
    expect({ code: r.code, failed: /fetch failed: .*1\.10\.9/.test(r.output) }).toEqual({ code: 1, failed: true });
    expect(m.s3Writes()).toEqual([]);
  }, 300_000);
});

describe('each documented option, as typed', () => {
  it('`npx nx run alloy:publish --version=1.10.3 --zipDir=DIR --dryRun`: fetch uses DIR and never contacts the upstream host', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.3', `--zipDir=${zipDir}`, '--dryRun'], env);
    expectOk(r);
    expect(taskStatus(r.output)['alloy:fetch']).toBe('ran');
    expect(m.upstream()).toEqual([]);
    expect(r.output).toContain(path.join(zipDir, 'alloy-linux-amd64.zip'));
    // the SHA256SUMS beside the zips vouched, and each line says so: it is no pin (issue 22, item 7)
    const fetchLines = r.output.split('\n').filter((l) => /alloy-linux-amd64\.zip/.test(l));
    expect(fetchLines.filter((l) => /pin|no digest/.test(l))).toEqual([]);
    expect(fetchLines.some((l) => l.includes(`verified against ${path.join(zipDir, 'SHA256SUMS')}`))).toBe(true);
    expect(await readFile(dist('1.10.3/upstream/alloy-linux-amd64.zip'))).toEqual(
      await readFile(path.join(zipDir, 'alloy-linux-amd64.zip')),
    );
    expect(m.s3Writes()).toEqual([]);
  }, 300_000);

  it('`npx nx run alloy:image --version=1.10.3 --format erofs`: an EROFS image, and no word about a compressor', async () => {
    const r = await npxNx(A, ['run', 'alloy:image', '--version=1.10.3', '--format', 'erofs'], env);
    expectOk(r);
    // EROFS superblock at 1024: magic 0xE0F5E1E2 (little endian)
    expect((await readAt(dist('1.10.3/images/alloy-1.10.3-amd64.raw'), 1024, 4)).readUInt32LE(0)).toBe(0xe0f5e1e2);
    // the recipe's zstd is for its squashfs images: nothing was typed that is "ignored" (issue 22, item 9)
    expect(r.output).not.toMatch(/compressor|ignored/);
  }, 300_000);

  it('`npx nx run alloy:image --version=1.10.3 --format=erofs --compressor=xz`: refused by the first task, before any download', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:image', '--version=1.10.3', '--format=erofs', '--compressor=xz'], env);
    expect(r.code).toBe(1);
    expect(r.output).toContain('--compressor xz applies to squashfs images only, and the format is erofs (--format): drop --compressor');
    expect(m.upstream()).toEqual([]);
  }, 300_000);

  it('`npx nx run alloy:image --version=1.10.3 --compressor=gzip`: a gzip-compressed squashfs image', async () => {
    const r = await npxNx(A, ['run', 'alloy:image', '--version=1.10.3', '--compressor=gzip'], env);
    expectOk(r);
    const sb = await readAt(dist('1.10.3/images/alloy-1.10.3-amd64.raw'), 0, 22);
    expect(sb.subarray(0, 4).toString('latin1')).toBe('hsqs');
    expect(sb.readUInt16LE(20)).toBe(1); // compression id: 1 gzip, 4 xz, 6 zstd
  }, 300_000);

  it('`npx nx run alloy:manifest --version=1.11.0-rc.1 --allowPrerelease`: builds the prerelease; without the flag it is refused', async () => {
    const m = mark();
    const refused = await npxNx(A, ['run', 'alloy:manifest', '--version=1.11.0-rc.1'], env);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain(
      'version "1.11.0-rc.1" is a prerelease: expected a stable MAJOR.MINOR.PATCH, or pass --allowPrerelease to build it',
    );
    expect(m.upstream()).toEqual([]);

    const r = await npxNx(A, ['run', 'alloy:manifest', '--version=1.11.0-rc.1', '--allowPrerelease'], env);
    expectOk(r);
    expect(await readFile(dist('1.11.0-rc.1/manifest/SHA256SUMS'), 'utf8')).toContain('alloy-1.11.0-rc.1-amd64.raw');
  }, 300_000);

  it('`npx nx run alloy:pr --version=1.10.2 --consumer=ghost-stack`: publishes, then opens a PR on that consumer only', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:pr', '--version=1.10.2', '--consumer=ghost-stack'], env);
    expectOk(r);
    expect(m.s3Writes()).toContain('PUT alloy/SHA256SUMS');
    expect(github.pulls(GHOST.owner, GHOST.repo).map((p) => p.state)).toEqual(['open']);
    expect(github.pulls(INFISICAL.owner, INFISICAL.repo)).toEqual([]);
    expect(m.ghWrites().every((w) => w.includes(`/repos/${GHOST.owner}/${GHOST.repo}/`))).toBe(true);
  }, 300_000);
});

// Issue 22: what was typed, and nothing more; every message names the real cause. 1.10.2 is published by now.
describe('dry runs and messages that tell the truth', () => {
  it('`npx nx run alloy:publish --version=1.10.2 --dryRun` of the published version: the plan names only what differs, never "published"', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.2', '--dryRun'], env);
    expectOk(r);
    const publish = taskOutput(r.output, 'alloy:publish');
    const plan =
      /dry run of 1\.10\.2 to s3:\/\/\S+ at \S+: would upload (\d+), unchanged (\d+); SHA256SUMS unchanged, SHA256SUMS\.gpg unchanged\. Nothing was written\./.exec(
        publish,
      );
    expect(plan).not.toBeNull();
    // Nx hashes the options a target forwards, so --dryRun re-ran sign here (signatures carry their time); the bucket's
    // signatures verify the same bytes and are kept, so the plan sends nothing at all (issue 20)
    const wouldUpload = [...publish.matchAll(/^dry run: would upload (\S+) /gm)].map((m) => m[1]!);
    expect([wouldUpload, plan![1]]).toEqual([[], '0']);
    expect(Number(plan![2])).toBeGreaterThanOrEqual(14);
    expect(publish).not.toMatch(/would (add|sign|copy)/);
    expect(publish).not.toMatch(/published/i);
    expect(m.s3Writes()).toEqual([]);
  }, 300_000);

  it('`npx nx run alloy:publish --version=1.10.3 --zipDir=DIR` with DIR missing: says the directory does not exist', async () => {
    const missing = path.join(root, 'no-such-zips');
    for (const extra of [[], ['--allowUnverified']]) {
      const m = mark();
      const r = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.3', `--zipDir=${missing}`, ...extra], env);
      expect(r.code).toBe(1);
      expect(r.output).toContain(`--zipDir ${missing}: the directory ${missing} does not exist`);
      expect(r.output).not.toMatch(/has no digest|ENOENT/);
      expect(m.s3Writes()).toEqual([]);
    }
  }, 300_000);

  it('offline, `npx nx run alloy:pr --version=1.10.2` without credentials: a network failure, no credential advice, why nothing was written', async () => {
    const offline = { ...env, ALLOY_GITHUB_API_URL: 'https://api.github.invalid', ALLOY_GITHUB_TOKEN: undefined };
    const r = await npxNx(A, ['run', 'alloy:pr', '--version=1.10.2'], offline);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(
      /ghost-stack\s+failed\s+consumer ghost-stack \(noahwhite\/ghost-stack\): .*cannot reach https:\/\/api\.github\.invalid \(ENOTFOUND: the host name does not resolve\): a network failure/,
    );
    expect(r.output).toContain(`Nothing was written under ${dist('1.10.2/pr')}`);
    // no credential advice: none is at fault (the run does say it reads anonymously, which is true)
    expect(r.output).not.toMatch(/answered 500|HTTP 500|credentials: none|set GHOST_STACK|APP_PRIVATE_KEY/);
  }, 300_000);

  it('an empty .dev-keys/signing-key.asc: `npx nx run alloy:sign --version=1.10.2` names the file and how to make a new one', async () => {
    const devKeys = path.join(A, '.dev-keys');
    await mkdir(devKeys, { recursive: true });
    await writeFile(path.join(devKeys, 'signing-key.asc'), '');
    try {
      const r = await npxNx(A, ['run', 'alloy:sign', '--version=1.10.2'], { ...env, ALLOY_SIGNING_KEY: undefined });
      expect(r.code).toBe(1);
      expect(r.output).toContain(
        `${path.join(devKeys, 'signing-key.asc')} is not a usable development key (private key: expected an armored OpenPGP private key`,
      );
      expect(r.output).toContain('delete .dev-keys/ and rerun to generate a new one, or set ALLOY_SIGNING_KEY');
    } finally {
      await rm(devKeys, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('a rerun writes nothing to a bucket that holds the version, in every documented spelling and from a fresh clone', () => {
  // 1.10.2 is published (above). Spellings that miss the sign cache (the `--` fallback caches apart, --skip-nx-cache, a
  // fresh clone) sign the same bytes again with a new timestamp: publish keeps the published signatures instead.
  let published: Map<string, string>;
  /** Every object under alloy/ and the sha256 of its bytes, as the S3 peer stores them (s3rver's data directory). */
  const snapshot = async () => {
    const dir = path.join(s3.directory, s3.bucket, 'alloy');
    const objects = new Map<string, string>();
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('._S3rver_object')).sort()) {
      const bytes = await readFile(path.join(dir, file));
      objects.set(file.slice(0, -'._S3rver_object'.length), createHash('sha256').update(bytes).digest('hex'));
    }
    return objects;
  };
  const expectNothingWritten = async (r: NxRun, m: ReturnType<typeof mark>) => {
    expectOk(r);
    expect(m.s3Writes()).toEqual([]);
    expect(r.output).toMatch(/published 1\.10\.2 to \S+ at \S+: 0 uploaded, \d+ unchanged, manifest unchanged, signature unchanged/);
    expect(await snapshot()).toEqual(published);
  };
  /** This run's signatures are not the published ones: each was kept as published, and said so. */
  const signaturesKept = (r: NxRun) => {
    for (const object of [
      'alloy-1.10.2-amd64.raw.asc',
      'alloy-1.10.2-arm64.raw.asc',
      'alloy-1.10.2.raw.asc',
      'alloy-1.10.2.SHA256SUMS.gpg',
    ])
      expect(r.output).toContain(`${object}: the bucket's signature verifies these bytes with ${key.fingerprint}; kept`);
  };

  // `--version 1.10.2` (space form) has the same task hashes as `--version=1.10.2` (tested above): one run covers both
  it('`npx nx run alloy:publish --version=1.10.2`', async () => {
    published = await snapshot();
    expect(published.has('alloy-1.10.2-amd64.raw.asc')).toBe(true);
    const m = mark();
    await expectNothingWritten(await npxNx(A, ['run', 'alloy:publish', '--version=1.10.2'], env), m);
  }, 300_000);

  it('`nx run alloy:publish --sysextVersion=1.10.2` (no npx)', async () => {
    const m = mark();
    await expectNothingWritten(await nx(A, ['run', 'alloy:publish', '--sysextVersion=1.10.2'], env), m);
  }, 300_000);

  it('`nx run alloy:publish -- --version=1.10.2` (the fallback: cached apart, so signed again)', async () => {
    const m = mark();
    const r = await nx(A, ['run', 'alloy:publish', '--', '--version=1.10.2'], env);
    await expectNothingWritten(r, m);
    expect(taskStatus(r.output)['alloy:sign']).toBe('ran');
    signaturesKept(r);
  }, 300_000);

  it('`npx nx run alloy:publish --version=1.10.2 --skip-nx-cache` (the recovery README gives: rebuilt and signed again)', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.2', '--skip-nx-cache'], env);
    await expectNothingWritten(r, m);
    expect(taskStatus(r.output)['alloy:sign']).toBe('ran');
    signaturesKept(r);
  }, 300_000);

  it('from a fresh clone (no dist/, no Nx cache), `--dryRun` first and then the real run: publish writes nothing', async () => {
    const fresh = await cloneCopy(A, root, 'fresh-clone');
    const m = mark();
    const dry = await npxNx(fresh, ['run', 'alloy:publish', '--version=1.10.2', '--dryRun'], env);
    expectOk(dry);
    for (const t of ['alloy:fetch', 'alloy:image', 'alloy:sign', 'alloy:manifest'])
      expect([t, taskStatus(dry.output)[t]]).toEqual([t, 'ran']);
    expect(m.s3Writes()).toEqual([]);
    const r = await npxNx(fresh, ['run', 'alloy:publish', '--version=1.10.2'], env);
    await expectNothingWritten(r, m);
    signaturesKept(r);
  }, 300_000);
});

describe('pr: every consumer is attempted', () => {
  it('the first consumer failing (malformed App key) does not stop the second; a table at the end; exit 1', async () => {
    const badKey = '-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n';
    const r = await npxNx(A, ['run', 'alloy:pr', '--version=1.10.2'], {
      ...env,
      GHOST_STACK_APP_ID: '12345',
      GHOST_STACK_APP_PRIVATE_KEY: badKey,
    });
    expect(r.code).toBe(1);
    expect(github.pulls(INFISICAL.owner, INFISICAL.repo).map((p) => p.state)).toEqual(['open']);
    expect(r.output).toMatch(/consumer\s+status\s+pull request or error/);
    expect(r.output).toMatch(
      /ghost-stack\s+failed\s+consumer ghost-stack \(noahwhite\/ghost-stack, credentials: GHOST_STACK_APP_ID \+ GHOST_STACK_APP_PRIVATE_KEY\): GHOST_STACK_APP_PRIVATE_KEY is not a usable GitHub App private key/,
    );
    expect(r.output).toMatch(/infisical-stack\s+opened\s+\S+\/officina-pub\/infisical-stack\/pull\/\d+/);
    expect(r.output).toContain('1 of 2 consumers failed: ghost-stack');
    expect(r.output).not.toContain('bm90IGEga2V5');
  }, 300_000);
});

describe('the public URL', () => {
  it('R2 configured without a public URL: `npx nx run alloy:publish --version=1.10.2` refuses before uploading', async () => {
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.2'], { ...env, ALLOY_PUBLIC_URL: undefined });
    expect(r.code).toBe(1);
    expect(r.output).toContain('R2 is configured but no public URL is set: set ALLOY_PUBLIC_URL');
    expect(m.s3Writes()).toEqual([]);
  }, 300_000);

  it('without R2: what publish writes points at `npm run release-bot -- serve`, which serves those very bytes', async () => {
    const port = await freePort();
    const local = { ...noR2(), ALLOY_SERVE_PORT: String(port) };
    const r = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.2'], local);
    expectOk(r);
    // each object reported once (issue 22, item 11): no "copy X to dir:…" beside "uploaded X"
    const publish = taskOutput(r.output, 'alloy:publish');
    expect(publish).not.toMatch(/^copy |^skip |^upload /m);
    const reported = [...publish.matchAll(/^(?:uploaded|unchanged|copied from \S+ to) (\S+) /gm)].map((m) => m[1]);
    expect(reported).toContain('alloy-1.10.2-amd64.raw');
    expect(reported.length).toBe(new Set(reported).size);
    const bucketDir = path.join(A, 'dist/bucket/alloy');
    const snippet = await readFile(path.join(bucketDir, 'alloy-1.10.2-amd64.bu'), 'utf8');
    const conf = await readFile(path.join(bucketDir, 'alloy-amd64.conf'), 'utf8');
    const imageUrl = /source: (\S+alloy-1\.10\.2-amd64\.raw)/.exec(snippet)?.[1];
    expect(imageUrl).toBe(`http://127.0.0.1:${port}/alloy/alloy-1.10.2-amd64.raw`);
    expect(conf).toContain(`Path=http://127.0.0.1:${port}/alloy/`);

    // its own process group, so stopping it stops npm and the server it started
    const server = execa('npm', ['run', 'release-bot', '--', 'serve'], {
      cwd: A,
      env: nxEnv(local),
      extendEnv: false,
      all: true,
      reject: false,
      stdin: 'ignore',
      detached: true,
    });
    try {
      await waitFor(
        () =>
          fetch(`http://127.0.0.1:${port}/alloy/SHA256SUMS`).then(
            (res) => res.ok,
            () => false,
          ),
        60_000,
      );
      const image = Buffer.from(await (await fetch(imageUrl!)).arrayBuffer());
      expect(image.equals(await readFile(dist('1.10.2/images/alloy-1.10.2-amd64.raw')))).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/alloy/../bucket.meta/objects`)).status).toBe(404);
    } finally {
      process.kill(-server.pid!, 'SIGTERM');
      await server;
    }
    expect((await server).all).toContain(`serving ${path.join(A, 'dist/bucket')} at http://127.0.0.1:${port}/alloy/`);
  }, 300_000);
});

describe('release-bot --dry-run writes nothing', () => {
  /** `npm run release-bot -- <args>` in the copy, as a user types it. */
  const releaseBot = async (args: string[]) => {
    const fullEnv = nxEnv({
      NX_CACHE_DIRECTORY: path.join(A, '.nx/cache'),
      ...env,
      GITHUB_REPOSITORY: `${THIS_REPO.owner}/${THIS_REPO.repo}`,
    });
    const r = await execa('npm', ['run', 'release-bot', '--', ...args], {
      cwd: A,
      env: fullEnv,
      extendEnv: false,
      all: true,
      reject: false,
      stdin: 'ignore',
    });
    return { code: r.exitCode ?? -1, output: r.all ?? '', ms: 0, command: `npm run release-bot -- ${args.join(' ')}` };
  };

  it('`npm run release-bot -- check --dry-run`: finds 1.10.3 unpublished (exit 10), opens no issue', async () => {
    const m = mark();
    const r = await releaseBot(['check', '--dry-run']);
    expect({ code: r.code, out: r.code === 10 ? '' : tail(r) }).toEqual({ code: 10, out: '' });
    expect(r.output).toContain('1.10.3');
    expect(m.ghWrites()).toEqual([]);
    expect(m.s3Writes()).toEqual([]);
    expect(github.issues(THIS_REPO.owner, THIS_REPO.repo)).toEqual([]);
  }, 300_000);

  it('`npm run release-bot -- release --version 1.10.3 --dry-run`: runs the whole chain; no S3 write, no GitHub write', async () => {
    const m = mark();
    const r = await releaseBot(['release', '--version', '1.10.3', '--dry-run']);
    expect({ code: r.code, out: r.code === 0 ? '' : tail(r) }).toEqual({ code: 0, out: '' });
    expect(r.output).toContain('dry run: would upload alloy-1.10.3-amd64.raw');
    expect(r.output).toContain('dry run: would create release alloy-v1.10.3');
    expect(m.s3Writes()).toEqual([]);
    expect(m.ghWrites()).toEqual([]);
    expect(github.releases(THIS_REPO.owner, THIS_REPO.repo)).toEqual([]);
  }, 300_000);
});

describe('a signing key the consumers do not trust yet', () => {
  it('`npx nx run alloy:publish --version=1.10.2` with another key: refused before any upload, naming each consumer and the override; `--dryRun --allowUntrustedKey` goes on, loudly', async () => {
    const other = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'next release key' }] });
    const fingerprint = (await openpgp.readKey({ armoredKey: other.publicKey })).getFingerprint().toUpperCase();
    const switched = { ...env, ALLOY_SIGNING_KEY: other.privateKey };
    const m = mark();
    const r = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.2'], switched);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(
      new RegExp(
        `refusing to publish with release key ${fingerprint}: SHA256SUMS.gpg in s3://sysext-options/\\S+ at \\S+ is signed by another key than ${fingerprint}`,
      ),
    );
    expect(r.output).toContain(
      `ghost-stack (noahwhite/ghost-stack:opentofu/modules/vultr/instance/userdata/ghost.bu@develop, /etc/systemd/alloy-sysext.gpg.pub): trusts ${key.fingerprint}, not ${fingerprint}`,
    );
    expect(r.output).toMatch(
      /infisical-stack \(.*\/etc\/alloy-sysext\/alloy-release-key\.gpg\): cannot tell: .*no storage\.files entry with path/,
    );
    expect(r.output).toContain('npx nx run alloy:publish --version=1.10.2 --allowUntrustedKey');
    expect(m.s3Writes()).toEqual([]);
    expect(m.ghWrites()).toEqual([]);

    // the runbook's rotation: the old key stays in signing.trustedKeys until the new one has re-signed the version state
    const recipeFile = path.join(A, 'apps/alloy/sysext.json');
    const recipeText = await readFile(recipeFile, 'utf8');
    const recipeJson = JSON.parse(recipeText) as { signing: { trustedKeys?: string[] } };
    recipeJson.signing.trustedKeys = [key.publicKeyPath];
    await writeFile(recipeFile, JSON.stringify(recipeJson, null, 2));
    let o: Awaited<ReturnType<typeof npxNx>>;
    try {
      o = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.2', '--dryRun', '--allowUntrustedKey'], switched);
    } finally {
      await writeFile(recipeFile, recipeText);
    }
    expectOk(o);
    expect(o.output).toContain(`!! --allowUntrustedKey: publishing with ${fingerprint}, which these consumers do not trust;`);
    expect(o.output).toContain('dry run: would upload alloy-1.10.2-amd64.raw');
    expect(m.s3Writes()).toEqual([]);
  }, 300_000);
});

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function waitFor(ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function readAt(file: string, position: number, length: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, position);
    return buf;
  } finally {
    await fh.close();
  }
}

async function listBucket(): Promise<string[]> {
  return s3.requests.filter((r) => r.method === 'PUT').map((r) => r.key);
}
