// End to end: real `nx` runs the alloy targets in temp copies of this workspace against the loopback peers (upstream
// release host, s3rver, the GitHub double, the nx-cache remote cache server). Issue 7, "Done when" 1–7.
//
// One world for the whole file, because every cold run costs a fetch + mksquashfs + signing: one signing key, one set of
// peers, copy A of the checkout (most scenarios) and copy B, a clone of A made before anything ran (the second clone
// sharing A's remote cache, then the second concurrent publisher and the tamper target). Every nx run uses the remote
// cache server and its own cache directory inside its copy. The tests run in order and build on each other's state
// (versions published, PRs opened, cache entries); each says what it expects to find.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { appendFile, mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { createDirectoryStore, createS3Store, type ObjectStore } from '@alloy-sysext/r2';
import { type GeneratedKey } from '@alloy-sysext/signing';
import { testSigningKey } from './test-key.js';
import { startNxCacheServer, parseTokens, type NxCacheServer } from '@alloy-sysext/nx-cache';
import { makeSyntheticBinary, startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { r2Env, startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { runSysupdate, writeDefinitions } from '@alloy-sysext/test-peers/sysupdate';
import { startBarrierProxy } from './barrier-proxy.js';
import {
  cloneCopy,
  copyWorkspace,
  gpgVerify,
  hashTree,
  npxNx,
  nx,
  sha256File,
  SOURCE_ROOT,
  tail,
  taskStatus,
  tempDir,
  type NxRun,
} from '@alloy-sysext/test-peers/nx-workspace';

const MiB = 1024 * 1024;
const VERSIONS = ['1.10.2', '1.10.3', '1.11.0', '1.11.1'];
const CACHEABLE = ['alloy:fetch', 'alloy:image', 'alloy:sign', 'alloy:manifest'];
const RW_TOKEN = 'e2e-rw-0123456789abcdef0123456789';
const PREFIX = 'alloy/';

/** A distinct ~1.5 MiB "binary" per version and arch. */
function binary(arch: 'amd64' | 'arm64', version: string): Buffer {
  const b = makeSyntheticBinary(arch, 1.5 * MiB);
  b.write(`alloy ${version} ${arch}`, 256, 'latin1');
  return b;
}

let root: string;
let key: GeneratedKey;
let upstream: UpstreamHost;
let s3: S3Peer;
let github: GitHubDouble;
let cacheServer: NxCacheServer;
const cacheLog: string[] = [];
let bucket: ObjectStore;
let env: Record<string, string>;
let A: string;
let B: string;

/** S3 requests that change something (PUT/POST/DELETE) from index `from` on. */
const s3Writes = (from: number) => s3.requests.slice(from).filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
const expectOk = (run: NxRun) => expect({ code: run.code, run: run.code === 0 ? '' : tail(run) }).toEqual({ code: 0, run: '' });

async function bucketManifest(): Promise<{ text: string; files: Record<string, string> }> {
  const text = (await bucket.get('SHA256SUMS'))!.body.toString('utf8');
  const files: Record<string, string> = {};
  for (const line of text.trimEnd().split('\n')) {
    const [sha, file] = line.split(/\s+/);
    files[file!] = sha!;
  }
  return { text, files };
}

/** The bucket's SHA256SUMS.gpg verifies its SHA256SUMS with real gpg, against the keyring publish put next to them. */
async function expectSignedManifest(): Promise<void> {
  const keyring = (await bucket.get('import-pubring.gpg'))!.body;
  const result = await gpgVerify(keyring, (await bucket.get('SHA256SUMS.gpg'))!.body, (await bucket.get('SHA256SUMS'))!.body);
  expect(result.output).toContain(`VALIDSIG ${key.fingerprint}`);
  expect(result.ok).toBe(true);
}

/** Every image of `version` in `ws` is listed in the bucket's manifest with the sha256 of the file in dist/. */
async function expectVersionInManifest(ws: string, version: string): Promise<void> {
  const { files } = await bucketManifest();
  // the compatibility name alloy-<version>.raw is the amd64 image's second name: no file of its own in dist/
  for (const [file, local] of [
    [`alloy-${version}-amd64.raw`, `alloy-${version}-amd64.raw`],
    [`alloy-${version}-arm64.raw`, `alloy-${version}-arm64.raw`],
    [`alloy-${version}.raw`, `alloy-${version}-amd64.raw`],
  ] as const) {
    expect({ file, sha256: files[file] }).toEqual({
      file,
      sha256: await sha256File(path.join(ws, 'dist/alloy', version, 'images', local)),
    });
  }
  expect(existsSync(path.join(ws, 'dist/alloy', version, 'images', `alloy-${version}.raw`))).toBe(false);
}

/** The documented form, `npx nx run alloy:<target> --version=X [extra]` (the `--` fallback has its own cache identity). */
const run = (ws: string, target: string, version: string, extra: string[] = []) =>
  npxNx(ws, ['run', `alloy:${target}`, `--version=${version}`, ...extra], env);

beforeAll(async () => {
  root = await tempDir('alloy-e2e-');
  [upstream, s3, github, key] = await Promise.all([
    startUpstreamHost({
      releases: VERSIONS.map((version) => ({ version, binaries: { amd64: binary('amd64', version), arm64: binary('arm64', version) } })),
    }),
    startS3Peer({ bucket: 'sysext-e2e' }),
    startGitHubDouble(),
    testSigningKey(path.join(root, 'key')),
  ]);
  const fixtures = path.join(SOURCE_ROOT, 'libs/ghost-stack/test/fixtures');
  github.seedRepo({
    owner: 'noahwhite',
    repo: 'ghost-stack',
    defaultBranch: 'develop',
    branches: { develop: { 'opentofu/modules/vultr/instance/userdata/ghost.bu': await readFile(path.join(fixtures, 'ghost.bu'), 'utf8') } },
  });
  github.seedRepo({
    owner: 'officina-pub',
    repo: 'infisical-stack',
    defaultBranch: 'main',
    branches: {
      main: { 'opentofu/modules/server/userdata/infisical.bu.tftpl': await readFile(path.join(fixtures, 'infisical.bu.tftpl'), 'utf8') },
    },
  });
  cacheServer = await startNxCacheServer({
    store: createDirectoryStore(path.join(root, 'remote-cache')),
    tokens: parseTokens(`read-write:${RW_TOKEN}`),
    log: (line) => cacheLog.push(line),
  });
  bucket = createS3Store({ bucket: s3.bucket, endpoint: s3.endpoint, ...s3.credentials, region: s3.region, prefix: PREFIX });
  env = {
    ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
    ...r2Env(s3),
    ALLOY_SIGNING_KEY: await readFile(key.privateKeyPath, 'utf8'),
    ALLOY_GITHUB_API_URL: github.url,
    ALLOY_GITHUB_TOKEN: github.token(),
    NX_SELF_HOSTED_REMOTE_CACHE_SERVER: cacheServer.url,
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: RW_TOKEN,
  };
  A = await copyWorkspace(root, 'clone-a');
  B = await cloneCopy(A, root, 'clone-b');
}, 240_000);

afterAll(async () => {
  await Promise.allSettled([upstream?.stop(), s3?.stop(), github?.stop(), cacheServer?.close()]);
  if (root && !process.env.ALLOY_E2E_KEEP) await rm(root, { recursive: true, force: true });
  else if (root) console.log(`kept ${root}`);
}, 60_000);

describe('the version flag: failures before any work', () => {
  const nothingHappened = (r: NxRun) => {
    expect(r.code).not.toBe(0);
    expect(r.output).not.toMatch(/^> nx run alloy:image/m);
    expect(upstream.requests).toEqual([]);
    expect(s3.requests).toEqual([]);
    expect(existsSync(path.join(A, 'dist/alloy'))).toBe(false);
  };

  it('no version: says so, with the form that works', async () => {
    const r = await nx(A, ['run', 'alloy:publish'], env);
    nothingHappened(r);
    expect(r.output).toContain('no version given');
    expect(r.output).toContain('npx nx run alloy:publish --version=1.10.2');
  }, 180_000);

  it('an invalid version: names it and what was expected', async () => {
    const r = await run(A, 'publish', 'v1.10.x');
    nothingHappened(r);
    expect(r.output).toContain('version "v1.10.x" is not a strict semver version: expected MAJOR.MINOR.PATCH');
  }, 180_000);

  it('a version that looks like a number (1.10): names it as typed, not as the number Nx parsed it into', async () => {
    const r = await run(A, 'publish', '1.10');
    nothingHappened(r);
    // Nx's argument parser turns `--version=1.10` into the number 1.1 and the schema check then says
    // "'1.1' should be a 'string'": a value the user never typed, and no hint of the expected form.
    expect(r.output).toContain('"1.10"');
    expect(r.output).toContain('MAJOR.MINOR.PATCH');
  }, 180_000);

  it('`nx run alloy:publish --version=1.10.2` without npx (Nx would drop the value): refused with the working forms', async () => {
    const r = await nx(A, ['run', 'alloy:publish', '--version=1.10.2'], env);
    nothingHappened(r);
    expect(r.output).toContain('Nx reserves --version');
    expect(r.output).toContain('nx run alloy:publish -- --version=1.10.2');
  }, 180_000);
});

describe('alloy pipeline under real nx', () => {
  let distAfterFirst: Record<string, string>;

  it("publishes with the user's exact form `npx nx run alloy:publish --version=1.10.2`", async () => {
    const r = await npxNx(A, ['run', 'alloy:publish', '--version=1.10.2'], env);
    expectOk(r);
    expect(taskStatus(r.output)).toEqual({
      'alloy:fetch': 'ran',
      'alloy:image': 'ran',
      'alloy:sign': 'ran',
      'alloy:manifest': 'ran',
      'alloy:seal': 'ran',
      'alloy:publish': 'ran',
    });
    await expectVersionInManifest(A, '1.10.2');
    await expectSignedManifest();
    // the bucket holds the very bytes of dist/
    const image = path.join(A, 'dist/alloy/1.10.2/images/alloy-1.10.2-amd64.raw');
    expect((await bucket.get('alloy-1.10.2-amd64.raw'))!.body.equals(await readFile(image))).toBe(true);
    // and the amd64 image under the old pipeline's name: its bytes, its signature, a .sha256 line naming the old name
    expect((await bucket.get('alloy-1.10.2.raw'))!.body.equals(await readFile(image))).toBe(true);
    expect((await bucket.get('alloy-1.10.2.raw.asc'))!.body.equals(await readFile(`${image}.asc`))).toBe(true);
    expect((await bucket.get('alloy-1.10.2.raw.sha256'))!.body.toString('utf8')).toBe(`${await sha256File(image)}  alloy-1.10.2.raw\n`);
    for (const suffix of ['', '.sha256', '.asc']) {
      const [compat, arch] = await Promise.all([bucket.head(`alloy-1.10.2.raw${suffix}`), bucket.head(`alloy-1.10.2-amd64.raw${suffix}`)]);
      expect([suffix, compat!.contentType, compat!.cacheControl]).toEqual([suffix, arch!.contentType, arch!.cacheControl]);
    }
  }, 420_000);

  it('Done 1: a second identical run hits the cache for fetch..manifest; publish and pr write nothing', async () => {
    // first `pr` run: the chain is cached, publish finds everything in place, pr opens one PR per consumer
    const s3Before = s3.requests.length;
    const first = await run(A, 'pr', '1.10.2');
    expectOk(first);
    for (const t of CACHEABLE) expect([t, taskStatus(first.output)[t]]).toEqual([t, expect.stringMatching(/^(local|existing)$/)]);
    expect(s3Writes(s3Before)).toEqual([]);
    expect(github.writes().length).toBeGreaterThan(0);
    expect(github.pulls('noahwhite', 'ghost-stack').map((p) => p.state)).toEqual(['open']);
    expect(github.pulls('officina-pub', 'infisical-stack').map((p) => p.state)).toEqual(['open']);
    const sha = (await readFile(path.join(A, 'dist/alloy/1.10.2/images/alloy-1.10.2-amd64.raw.sha256'), 'utf8')).slice(0, 64);
    const head = github.pulls('noahwhite', 'ghost-stack')[0]!.head;
    expect(github.readFile('noahwhite', 'ghost-stack', head, 'opentofu/modules/vultr/instance/userdata/ghost.bu')).toContain(
      `sha256-${sha}`,
    );

    // the identical second run
    const s3Mark = s3.requests.length;
    const ghMark = github.writes().length;
    const second = await run(A, 'pr', '1.10.2');
    expectOk(second);
    const status = taskStatus(second.output);
    for (const t of CACHEABLE) expect([t, status[t]]).toEqual([t, expect.stringMatching(/^(local|existing)$/)]);
    // the seal reads the bucket: outside a GitHub Actions run it is made again every run (ALLOY_SEAL_RUN)
    expect([status['alloy:seal'], status['alloy:publish'], status['alloy:pr']]).toEqual(['ran', 'ran', 'ran']);
    expect(second.output).toContain('Nx read the output from the cache instead of running the command for 4 out of 7 tasks.');
    expect(second.output).toMatch(/Cache:\s+4\/7 hit/);
    expect(second.output).toContain('0 uploaded, 18 unchanged, manifest unchanged, signature unchanged');
    expect(s3Writes(s3Mark)).toEqual([]);
    expect(github.writes().slice(ghMark)).toEqual([]);
  }, 300_000);

  it('Done 4: dist/ deleted → restored from the cache, every file byte-identical (the zips come back as blobs when publish re-checks them)', async () => {
    // what this workspace made for itself is no target's output, and the cache must never bring it back: dist/.receipts
    // (what it built), dist/.work (the binaries fetch inflated; the cache keeps only the zips, as blobs) and dist/.witness (the
    // bucket's version state as this workspace last saw it)
    const isLocal = (file: string) => ['.receipts/', '.work/', '.witness/'].some((dir) => file.startsWith(dir));
    // the seal is made again every run outside a GitHub Actions run (it reads the bucket): a new signature each time,
    // and the next version state only while the bucket's does not record the sealed SHA256SUMS yet
    const isResealed = (file: string) => ['SHA256SUMS.gpg', 'alloy-state.asc'].some((f) => file === `alloy/1.10.2/seal/${f}`);
    const outputsOnly = (tree: Record<string, string>) =>
      Object.fromEntries(Object.entries(tree).filter(([f]) => !isLocal(f) && !isResealed(f)));
    const built = await hashTree(path.join(A, 'dist'));
    expect(Object.keys(built).filter((f) => f.startsWith('.receipts/')).length).toBeGreaterThan(0);
    expect(Object.keys(built).filter((f) => f.startsWith('.work/'))).toEqual([
      '.work/alloy/1.10.2/upstream/amd64/alloy-linux-amd64',
      '.work/alloy/1.10.2/upstream/arm64/alloy-linux-arm64',
    ]);
    const before = outputsOnly(built);
    expect(Object.keys(before)).toEqual(
      expect.arrayContaining([
        'alloy/1.10.2/images/alloy-1.10.2-amd64.raw',
        'alloy/1.10.2/images/alloy-1.10.2-amd64.raw.asc',
        'alloy/1.10.2/manifest/SHA256SUMS.gpg',
        'alloy/1.10.2/upstream/alloy-linux-amd64.zip',
      ]),
    );
    expect(Object.keys(before).filter((f) => f.includes('/upstream/') && !/\.zip(\.sha256)?$/.test(f))).toEqual([]);
    // one file per arch: the compatibility name is no file (so no second image in the image and sign cache entries)
    expect(
      Object.keys(before)
        .filter((f) => f.startsWith('alloy/1.10.2/images/'))
        .sort(),
    ).toEqual(['amd64', 'arm64'].flatMap((a) => ['', '.asc', '.sha256'].map((s) => `alloy/1.10.2/images/alloy-1.10.2-${a}.raw${s}`)));
    await rm(path.join(A, 'dist'), { recursive: true, force: true });
    const s3Mark = s3.requests.length;
    const r = await run(A, 'publish', '1.10.2');
    expectOk(r);
    const status = taskStatus(r.output);
    for (const t of CACHEABLE) expect([t, status[t]]).toEqual([t, 'local']);
    expect(status['alloy:seal']).toBe('ran');
    const restored = await hashTree(path.join(A, 'dist'));
    // nothing local comes back from the cache: the only local files now are the verification receipts publish wrote
    // after reading and verifying the restored images (new files) in full, and its witness of the bucket's state
    expect(Object.keys(restored).filter(isLocal).sort()).toEqual([
      ...['amd64', 'arm64'].map((a) => `.receipts/alloy/1.10.2/verified-alloy-1.10.2-${a}.raw.json`),
      expect.stringMatching(/^\.witness\/alloy\/[0-9a-f]{16}\.asc$/),
    ]);
    expect(outputsOnly(restored)).toEqual(before);
    expect(s3Writes(s3Mark)).toEqual([]);
    distAfterFirst = before;
  }, 240_000);

  it('Done 2: another version misses alone; both versions coexist in dist/ and in the signed manifest', async () => {
    const v2Before = await hashTree(path.join(A, 'dist/alloy/1.10.2'));
    const r = await run(A, 'publish', '1.10.3');
    expectOk(r);
    const status = taskStatus(r.output);
    for (const t of [...CACHEABLE, 'alloy:seal', 'alloy:publish']) expect([t, status[t]]).toEqual([t, 'ran']);
    expect(r.output).toMatch(/Cache:\s+0\/6 hit/);
    expect(await hashTree(path.join(A, 'dist/alloy/1.10.2'))).toEqual(v2Before);
    expect(existsSync(path.join(A, 'dist/alloy/1.10.3/images/alloy-1.10.3-amd64.raw.asc'))).toBe(true);
    await expectVersionInManifest(A, '1.10.2');
    await expectVersionInManifest(A, '1.10.3');
    // semver order, then the compatibility name and the arches, as the bucket's merge writes them
    const { text } = await bucketManifest();
    expect(
      text
        .trimEnd()
        .split('\n')
        .map((l) => l.split(/\s+/)[1]),
    ).toEqual([
      'alloy-1.10.2.raw',
      'alloy-1.10.2-amd64.raw',
      'alloy-1.10.2-arm64.raw',
      'alloy-1.10.3.raw',
      'alloy-1.10.3-amd64.raw',
      'alloy-1.10.3-arm64.raw',
    ]);
    await expectSignedManifest();

    // and 1.10.2 is still all hits
    const again = await run(A, 'manifest', '1.10.2');
    expectOk(again);
    for (const t of CACHEABLE) expect([t, taskStatus(again.output)[t]]).toEqual([t, expect.stringMatching(/^(local|existing)$/)]);
  }, 420_000);

  it('Done 3: editing libs/signing reruns every step that loads it (all: the executors load it through libs/pipeline), with the same image bytes', async () => {
    await appendFile(path.join(A, 'libs/signing/src/sign.ts'), '\n// e2e: a comment that changes the signing library\n');
    const s3Mark = s3.requests.length;
    const r = await run(A, 'publish', '1.10.2');
    expectOk(r);
    expect(taskStatus(r.output)).toEqual({
      'alloy:fetch': 'ran',
      'alloy:image': 'ran',
      'alloy:sign': 'ran',
      'alloy:manifest': 'ran',
      'alloy:seal': 'ran',
      'alloy:publish': 'ran',
    });
    const after = await hashTree(path.join(A, 'dist/alloy/1.10.2/images'));
    for (const [file, sha] of Object.entries(after)) {
      if (!file.endsWith('.asc')) expect([file, sha]).toEqual([file, distAfterFirst[`alloy/1.10.2/images/${file}`]]);
    }
    // the manifest content did not change, so it is not rewritten
    expect(s3Writes(s3Mark).map((w) => w.key)).not.toContain(`${PREFIX}SHA256SUMS`);
    await expectSignedManifest();
  }, 300_000);

  it('Done 5: a second clone sharing the remote cache gets every task from it, with the same image sha256', async () => {
    const upstreamMark = upstream.requests.length;
    const r = await run(B, 'manifest', '1.10.2');
    expectOk(r);
    const status = taskStatus(r.output);
    for (const t of CACHEABLE) expect([t, status[t]]).toEqual([t, 'remote']);
    expect(r.output).toMatch(/Cache:\s+4\/4 hit/);
    expect(upstream.requests.slice(upstreamMark)).toEqual([]);
    expect(cacheLog.filter((l) => / 200 /.test(l) && l.startsWith('GET')).length).toBeGreaterThanOrEqual(4);
    // The entries hold the zips' and images' .sha256 files: no step read the bytes, so none came. Publish reads the
    // images and re-checks the zips for the provenance: each comes once, as a blob, streamed; a zip by the sha256 of the
    // release's live digest (one API request, no download). (A plain publish, as A published: --dryRun is forwarded to
    // every step, so it would hash, and cache, another entry per step.)
    const blobGets = () => cacheLog.filter((l) => /^GET sha256-[0-9a-f]{64} 200 /.test(l));
    const largeFiles = async () => Object.keys(await hashTree(path.join(B, 'dist/alloy/1.10.2'))).filter((f) => /\.(raw|zip)$/.test(f));
    expect(await largeFiles()).toEqual([]);
    expect(blobGets()).toEqual([]);
    expectOk(await run(B, 'publish', '1.10.2'));
    expect(blobGets().length).toBe(4);
    expect((await largeFiles()).sort()).toEqual([
      'images/alloy-1.10.2-amd64.raw',
      'images/alloy-1.10.2-arm64.raw',
      'upstream/alloy-linux-amd64.zip',
      'upstream/alloy-linux-arm64.zip',
    ]);
    expect(upstream.requests.slice(upstreamMark)).toEqual([
      { method: 'GET', path: expect.stringMatching(/\/releases\/tags\/v1\.10\.2$/), status: 200 },
    ]);
    // byte-identical to clone A's first build (before A's signing edit): images, checksums, signatures, manifest (the
    // seal is made per run: it signs the bucket as it is then)
    const tree = Object.fromEntries(
      Object.entries(await hashTree(path.join(B, 'dist/alloy/1.10.2'))).filter(([f]) => !/^(publish|seal)\//.test(f)),
    );
    const expected = Object.fromEntries(
      Object.entries(distAfterFirst)
        .filter(([f]) => f.startsWith('alloy/1.10.2/') && !/^alloy\/1\.10\.2\/(publish|seal)\//.test(f))
        .map(([f, h]) => [f.slice('alloy/1.10.2/'.length), h]),
    );
    expect(tree).toEqual(expected);
    expect(tree['images/alloy-1.10.2-amd64.raw']).toBe(await sha256File(path.join(A, 'dist/alloy/1.10.2/images/alloy-1.10.2-amd64.raw')));
  }, 300_000);

  it('Done 6: two publish runs for different versions at the same time both end up in the signed SHA256SUMS', async () => {
    // Two copies (A and B) sharing the S3 bucket, one nx process each. Build first, then start both publish runs
    // together. A pass-through proxy holds the SHA256SUMS writes until both publishers have read the old manifest and
    // sent theirs, so the compare-and-swap conflict happens every time instead of by luck of timing.
    const [a, b] = await Promise.all([run(A, 'manifest', '1.11.0'), run(B, 'manifest', '1.11.1')]);
    expectOk(a);
    expectOk(b);
    const proxy = await startBarrierProxy(s3.endpoint);
    try {
      const barrier = proxy.arm({ method: 'PUT', path: `/${s3.bucket}/${PREFIX}SHA256SUMS`, count: 2, timeoutMs: 180_000 });
      const s3Mark = s3.requests.length;
      const viaProxy = { ...env, R2_ENDPOINT: proxy.url };
      const publish = (ws: string, version: string) =>
        nx(ws, ['run', 'alloy:publish', '--excludeTaskDependencies', '--', `--version=${version}`], viaProxy);
      const [pa, pb] = await Promise.all([publish(A, '1.11.0'), publish(B, '1.11.1')]);
      expectOk(pa);
      expectOk(pb);
      expect(await barrier).toBe('released');
      const manifestPuts = s3.requests.slice(s3Mark).filter((q) => q.method === 'PUT' && q.key === `${PREFIX}SHA256SUMS`);
      // both wrote against the same old manifest: one won, the other got 412, re-read, merged and won the next round
      expect(manifestPuts.map((q) => q.status).sort()).toEqual([200, 200, 412]);
      expect(`${pa.output}\n${pb.output}`).toMatch(/SHA256SUMS.*attempt 2/);
    } finally {
      await proxy.close();
    }
    await expectVersionInManifest(A, '1.11.0');
    await expectVersionInManifest(B, '1.11.1');
    await expectVersionInManifest(A, '1.10.2');
    await expectVersionInManifest(A, '1.10.3');
    expect(Object.keys((await bucketManifest()).files)).toHaveLength(12);
    await expectSignedManifest();
  }, 480_000);

  it('systemd-sysupdate 254 accepts the published bucket: verifies SHA256SUMS.gpg and installs the newest version', async () => {
    // s3rver answers anonymous GETs, so the bucket prefix is the url-file source, as R2's public bucket URL would be
    const target = path.join(root, 'host/opt/extensions/alloy');
    await mkdir(target, { recursive: true });
    const definitions = await writeDefinitions(path.join(root, 'host/sysupdate.d'), {
      alloy: { sourceUrl: `${s3.endpoint}/${s3.bucket}/${PREFIX}`, targetDir: target, currentSymlink: path.join(target, 'alloy.raw') },
    });
    const keyring = path.join(root, 'host/import-pubring.gpg');
    await writeFile(keyring, (await bucket.get('import-pubring.gpg'))!.body);
    const update = await runSysupdate({ definitions, keyring, args: ['update'], timeoutMs: 120_000 });
    expect({ exit: update.exitCode, stderr: update.exitCode === 0 ? '' : update.stderr }).toEqual({ exit: 0, stderr: '' });
    expect(update.stderr).toContain('Signature verification succeeded.');
    expect(update.stderr).toContain("Successfully installed update '1.11.1'");
    expect(await readlink(path.join(target, 'alloy.raw'))).toBe('alloy-1.11.1-amd64.raw');
    expect(await sha256File(path.join(target, 'alloy-1.11.1-amd64.raw'))).toBe(
      await sha256File(path.join(B, 'dist/alloy/1.11.1/images/alloy-1.11.1-amd64.raw')),
    );
  }, 180_000);

  it('a publish cut off between SHA256SUMS and SHA256SUMS.gpg (the endpoint hangs) says hosts cannot verify until a rerun; the rerun it names converges', async () => {
    // The bucket as it was before 1.11.0's publish: its lines gone, no signature yet.
    const { text } = await bucketManifest();
    await bucket.putBytes(
      'SHA256SUMS',
      Buffer.from(
        text
          .split('\n')
          .filter((l) => !l.includes('alloy-1.11.0'))
          .join('\n'),
      ),
    );
    await bucket.delete('SHA256SUMS.gpg');
    // Every attempt at the signature write gets no answer at all.
    s3.failNext({ method: 'PUT', key: `${PREFIX}SHA256SUMS.gpg`, stall: true, times: 5 });
    const cut = await npxNx(A, ['run', 'alloy:publish', '--version=1.11.0'], { ...env, R2_REQUEST_TIMEOUT_MS: '1000' });
    expect(cut.code).not.toBe(0);
    expect(cut.output).toContain(
      `SHA256SUMS in s3://${s3.bucket}/alloy at ${s3.endpoint} was updated but SHA256SUMS.gpg could not be made to match it ` +
        `(${s3.endpoint} accepted the connection but stopped answering (no response within 1000 ms, R2_REQUEST_TIMEOUT_MS) ` +
        `during PUT "SHA256SUMS.gpg"`,
    );
    expect(cut.output).toContain(
      'hosts cannot verify SHA256SUMS and systemd-sysupdate refuses every update until this is repaired. ' +
        'Rerun the publish (npx nx run alloy:publish --version=1.11.0); it converges.',
    );
    expect((await bucketManifest()).text).toBe(text);
    expect(await bucket.get('SHA256SUMS.gpg')).toBeNull();
    // Follow the message.
    const rerun = await npxNx(A, ['run', 'alloy:publish', '--version=1.11.0'], env);
    expectOk(rerun);
    expect((await bucketManifest()).text).toBe(text);
    await expectSignedManifest();
  }, 420_000);

  describe('Done 7: publish refuses tampered artifacts, naming the file', () => {
    const images = () => path.join(B, 'dist/alloy/1.10.2/images');
    /** The file of clone B's local Nx cache entry that holds `rel` (a path under the workspace). */
    const cacheEntryFile = async (rel: string): Promise<string> => {
      const hits = [];
      for (const entry of await readdir(path.join(B, '.nx/cache'))) {
        const file = path.join(B, '.nx/cache', entry, rel);
        if (existsSync(file)) hits.push(file);
      }
      expect(hits.length).toBeGreaterThanOrEqual(1);
      return hits[0]!;
    };

    it('a signature swapped in the cache entry of sign', async () => {
      const rel = 'dist/alloy/1.10.2/images/alloy-1.10.2-amd64.raw.asc';
      const entry = await cacheEntryFile(rel);
      const original = await readFile(entry);
      try {
        // a valid signature by the release key, but of another image
        await writeFile(entry, await readFile(path.join(B, 'dist/alloy/1.10.2/images/alloy-1.10.2-arm64.raw.asc')));
        await rm(path.join(B, 'dist'), { recursive: true, force: true });
        const s3Mark = s3.requests.length;
        const r = await run(B, 'publish', '1.10.2');
        expect(r.code).not.toBe(0);
        // manifest reruns (its input changed) and lists only images whose .asc verifies, before publish sees anything
        const image = path.join(images(), 'alloy-1.10.2-amd64.raw');
        expect(r.output).toContain(`refusing to list ${image} in SHA256SUMS: ${image}.asc does not verify it`);
        expect(s3Writes(s3Mark)).toEqual([]);
      } finally {
        await writeFile(entry, original);
      }
    }, 300_000);

    // image's cache entry holds the .sha256 files; the image bytes are a blob, in B's .nx/blobs and on the cache server
    const genuineSha = async () =>
      (await readFile(await cacheEntryFile('dist/alloy/1.10.2/images/alloy-1.10.2-amd64.raw.sha256'), 'utf8')).slice(0, 64);
    const localBlob = (sha: string) => path.join(B, '.nx/blobs', sha.slice(0, 2), sha);
    const remoteBlob = (sha: string) => path.join(root, 'remote-cache/nx-cache', `sha256-${sha}`);
    const flipped = (b: Buffer) => {
      const t = Buffer.from(b);
      t[t.length - 100] ^= 0xff;
      return t;
    };

    it('an image blob altered on the cache server: refused as it streams, before anything is uploaded', async () => {
      const sha = await genuineSha();
      const original = await readFile(remoteBlob(sha));
      try {
        const tampered = flipped(original);
        await writeFile(remoteBlob(sha), tampered);
        await rm(path.join(B, 'dist'), { recursive: true, force: true });
        await rm(path.join(B, '.nx/blobs'), { recursive: true, force: true });
        const s3Mark = s3.requests.length;
        const r = await run(B, 'publish', '1.10.2');
        expect(r.code).not.toBe(0);
        // sign and manifest key on the image's .sha256 (unchanged here), so both come from the cache; publish is the
        // first step to read the image, and the blob's bytes do not hash to its name
        expect(r.output).toContain(`blob ${sha} came back with sha256 ${createHash('sha256').update(tampered).digest('hex')}`);
        expect(existsSync(path.join(images(), 'alloy-1.10.2-amd64.raw'))).toBe(false);
        expect(s3Writes(s3Mark)).toEqual([]);
      } finally {
        await writeFile(remoteBlob(sha), original);
      }
    }, 300_000);

    it('an image blob altered in the local blob store: dropped, and the genuine bytes come from the cache server', async () => {
      const sha = await genuineSha();
      await rm(path.join(B, 'dist'), { recursive: true, force: true });
      expectOk(await run(B, 'publish', '1.10.2'));
      await writeFile(localBlob(sha), flipped(await readFile(localBlob(sha))));
      await rm(path.join(B, 'dist'), { recursive: true, force: true });
      const r = await run(B, 'publish', '1.10.2');
      expectOk(r);
      expect(r.output).toContain(`blob store: ${localBlob(sha)} does not hash to its name; removed`);
      expect(await sha256File(path.join(images(), 'alloy-1.10.2-amd64.raw'))).toBe(sha);
    }, 300_000);

    it('an image .sha256 rewritten in the cache entry of image, naming a planted blob of altered bytes', async () => {
      // Entry and blob consistent with each other, so only a check against something outside them can catch it: sign
      // reruns (its input, the .sha256, changed), rebuilds the image from the fetched binary and refuses another sha256.
      const entry = await cacheEntryFile('dist/alloy/1.10.2/images/alloy-1.10.2-amd64.raw.sha256');
      const originalSum = await readFile(entry);
      const tampered = flipped(await readFile(remoteBlob(await genuineSha())));
      const sha = createHash('sha256').update(tampered).digest('hex');
      try {
        await mkdir(path.dirname(localBlob(sha)), { recursive: true });
        await writeFile(localBlob(sha), tampered);
        await writeFile(entry, originalSum.toString('utf8').replace(/^[0-9a-f]{64}/, sha));
        await rm(path.join(B, 'dist'), { recursive: true, force: true });
        const s3Mark = s3.requests.length;
        const r = await run(B, 'publish', '1.10.2');
        expect(s3Writes(s3Mark)).toEqual([]);
        expect(r.code).not.toBe(0);
        expect(r.output).toContain(`refusing to sign ${path.join(images(), 'alloy-1.10.2-amd64.raw')}: it has sha256 ${sha}`);
      } finally {
        await writeFile(entry, originalSum);
        await rm(localBlob(sha), { force: true });
        await rm(path.join(B, 'dist'), { recursive: true, force: true });
      }
    }, 300_000);

    it('an image altered in dist/ when publish runs on its own', async () => {
      // rebuild dist from the (restored) cache and blobs, then change the image and run publish without its dependencies
      expectOk(await run(B, 'publish', '1.10.2'));
      const image = path.join(images(), 'alloy-1.10.2-arm64.raw');
      const bytes = await readFile(image);
      bytes[bytes.length - 100] ^= 0xff;
      await writeFile(image, bytes);
      const s3Mark = s3.requests.length;
      const r = await run(B, 'publish', '1.10.2', ['--excludeTaskDependencies']);
      expect(r.code).not.toBe(0);
      expect(r.output).toContain(`refusing to publish: ${image} has sha256`);
      expect(s3Writes(s3Mark)).toEqual([]);
    }, 240_000);
  });
});

describe('published versions are immutable', () => {
  it('republishing a version whose image bytes changed (recipe compressor zstd → gzip) is refused; published images stay as they are', async () => {
    // Published images are immutable (Cache-Control: immutable; consumers pin their sha256 in Butane), so a rebuild of
    // an already published version with different bytes must not replace them.
    const recipeFile = path.join(B, 'apps/alloy/sysext.json');
    const recipeText = await readFile(recipeFile, 'utf8');
    const published = async () => ({
      sha: createHash('sha256')
        .update((await bucket.get('alloy-1.10.2-amd64.raw'))!.body)
        .digest('hex'),
      manifest: (await bucketManifest()).files['alloy-1.10.2-amd64.raw'],
    });
    const before = await published();
    try {
      await writeFile(recipeFile, recipeText.replace('"compressor": "zstd"', '"compressor": "gzip"'));
      expect(await readFile(recipeFile, 'utf8')).toContain('"compressor": "gzip"');
      const s3Mark = s3.requests.length;
      const r = await run(B, 'publish', '1.10.2');
      expect(
        s3Writes(s3Mark)
          .map((w) => w.key)
          .filter((k) => /\.raw(\.sha256)?$/.test(k)),
      ).toEqual([]);
      expect(r.code).not.toBe(0);
      expect(r.output).toContain('alloy-1.10.2-amd64.raw');
      expect(await published()).toEqual(before);
    } finally {
      await writeFile(recipeFile, recipeText);
    }
  }, 300_000);
});
