// End to end, playing someone who can write the Nx cache (a local .nx/cache entry and .nx/blobs, or the remote cache
// server's storage) but holds no signing key: each cached target's entry (fetch, image, sign, manifest) is poisoned
// (with a blob of altered bytes planted beside it where the entry names one: zips and images are blobs), then publish
// runs for a published and an unpublished version. Every run refuses, naming the file and a recovery that works, and
// writes nothing to the bucket; following the recovery converges on the clean bytes. Then issue 20's first finding:
// an edited fetch record, and a consistent forged pair (another zip with a matching image entry), never reach the
// signed provenance. Own small world (tiny binaries).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createDirectoryStore, createS3Store, type ObjectStore } from '@alloy-sysext/r2';
import { type GeneratedKey } from '@alloy-sysext/signing';
import { testSigningKey } from './test-key.js';
import { startNxCacheServer, parseTokens, type NxCacheServer } from '@alloy-sysext/nx-cache';
import { makeSyntheticBinary, makeZip, startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { r2Env, startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';
import { copyWorkspace, gpgVerify, npxNx, nx, tail, taskStatus, tempDir, type NxRun } from '@alloy-sysext/test-peers/nx-workspace';

const PUBLISHED = '1.0.0';
const UNPUBLISHED = '1.0.1';
/** Published from an asset directory (--zipDir) with a SHA256SUMS beside the zips, as the issue's attack ran. */
const AIR_GAPPED = '1.0.2';
const RW_TOKEN = 'poison-rw-0123456789abcdef012345';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let root: string;
let key: GeneratedKey;
let upstream: UpstreamHost;
let s3: S3Peer;
let cacheServer: NxCacheServer;
let bucket: ObjectStore;
let env: Record<string, string>;
let A: string;
/** What the cache server logged (`GET <hash> 404 …` for a miss). */
const cacheLog: string[] = [];

const run = (target: string, version: string, extra: string[] = []) =>
  nx(A, ['run', `alloy:${target}`, ...extra, '--', `--version=${version}`], env);
const s3Writes = (from: number) => s3.requests.slice(from).filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
const expectOk = (r: NxRun) => expect({ code: r.code, run: r.code === 0 ? '' : tail(r) }).toEqual({ code: 0, run: '' });
const dist = (version: string, ...rest: string[]) => path.join(A, 'dist/alloy', version, ...rest);

/** sha256 of every object in the bucket, and whether SHA256SUMS.gpg verifies SHA256SUMS with real gpg under our key. */
async function bucketState() {
  const objects: Record<string, string> = {};
  for (const { key: k } of await bucket.list('')) objects[k] = sha256((await bucket.get(k))!.body);
  const sig = await gpgVerify(
    await readFile(key.publicKeyPath),
    (await bucket.get('SHA256SUMS.gpg'))!.body,
    (await bucket.get('SHA256SUMS'))!.body,
  );
  expect(sig.output).toContain(`VALIDSIG ${key.fingerprint}`);
  return objects;
}

/**
 * A poison: what it rewrites inside an entry directory laid out like the workspace (dist/alloy/<version>/...). `blobs`
 * reads a genuine blob and plants one (returning its sha256) in the store of the cache being poisoned.
 */
interface Poison {
  target: 'fetch' | 'image' | 'sign' | 'manifest';
  /** A file the entry holds, to find the entry. */
  marker: (v: string) => string;
  apply: (entry: string, v: string, blobs: Blobs) => Promise<void>;
  /** What the refusal names. */
  refusal: (v: string) => string;
}

/** The blobs of the cache being poisoned: A's .nx/blobs, or the cache server's `sha256-<hex>` entries. */
interface Blobs {
  read(sha: string): Promise<Buffer>;
  plant(bytes: Buffer): Promise<string>;
}

const POISONS: Poison[] = [
  {
    target: 'fetch',
    marker: (v) => `dist/alloy/${v}/upstream/alloy-linux-amd64.zip.sha256`,
    // fetch's output (the zip's .sha256) names other zip bytes, planted as a blob (the zip and the binary are no
    // output): the entry and the blob are consistent, only this run's digest root can tell
    apply: async (entry, v, blobs) => {
      const sum = path.join(entry, `dist/alloy/${v}/upstream/alloy-linux-amd64.zip.sha256`);
      const bytes = await blobs.read((await readFile(sum, 'utf8')).slice(0, 64));
      bytes[bytes.length - 100] ^= 0xff;
      await writeFile(sum, `${await blobs.plant(bytes)}  alloy-linux-amd64.zip\n`);
    },
    refusal: (v) => `${dist(v, 'upstream/alloy-linux-amd64.zip')}.sha256 (fetch's output) names sha256`,
  },
  {
    target: 'image',
    marker: (v) => `dist/alloy/${v}/images/alloy-${v}-amd64.raw.sha256`,
    // the image's .sha256 names other bytes, planted as a blob: consistent, only the rebuild from the verified binary
    // can tell
    apply: async (entry, v, blobs) => {
      const sum = path.join(entry, `dist/alloy/${v}/images/alloy-${v}-amd64.raw.sha256`);
      const bytes = await blobs.read((await readFile(sum, 'utf8')).slice(0, 64));
      bytes[bytes.length - 100] ^= 0xff;
      await writeFile(sum, `${await blobs.plant(bytes)}  alloy-${v}-amd64.raw\n`);
    },
    refusal: (v) => `refusing to sign ${dist(v, `images/alloy-${v}-amd64.raw`)}: it has sha256`,
  },
  {
    target: 'sign',
    marker: (v) => `dist/alloy/${v}/images/alloy-${v}-amd64.raw.asc`,
    // a valid signature by the release key, of another image
    apply: async (entry, v) => {
      const images = path.join(entry, `dist/alloy/${v}/images`);
      await writeFile(path.join(images, `alloy-${v}-amd64.raw.asc`), await readFile(path.join(images, `alloy-${v}-arm64.raw.asc`)));
    },
    refusal: (v) =>
      `refusing to list ${dist(v, `images/alloy-${v}-amd64.raw`)} in SHA256SUMS: ${dist(v, `images/alloy-${v}-amd64.raw`)}.asc does not verify it`,
  },
  {
    target: 'manifest',
    marker: (v) => `dist/alloy/${v}/manifest/SHA256SUMS`,
    apply: async (entry, v) => {
      const file = path.join(entry, `dist/alloy/${v}/manifest/SHA256SUMS`);
      const text = await readFile(file, 'utf8');
      await writeFile(
        file,
        text.replace(/^[0-9a-f]/, (c) => (c === '0' ? '1' : '0')),
      );
    },
    // the seal (made again every run outside GitHub Actions) is the first to read it
    refusal: (v) => `refusing to seal: ${dist(v, 'manifest/SHA256SUMS')}.gpg does not verify`,
  },
];

/** Local entries (.nx/cache/<hash>/...) holding `marker`. */
async function localEntries(marker: string): Promise<string[]> {
  const dir = path.join(A, '.nx/cache');
  const hits = [];
  for (const entry of await readdir(dir)) if (existsSync(path.join(dir, entry, marker))) hits.push(path.join(dir, entry));
  return hits;
}

/** Remote entries (tar archives in the cache server's directory store) holding `marker`, with their member lists. */
async function remoteEntries(marker: string): Promise<{ file: string; gzip: boolean; members: string[] }[]> {
  const dir = path.join(root, 'remote-cache/nx-cache');
  const hits = [];
  for (const name of await readdir(dir)) {
    if (name.startsWith('sha256-')) continue; // a blob (a step's zip or image as is), no Nx entry
    const file = path.join(dir, name);
    const gzip = (await readFile(file)).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]));
    const { stdout } = await execa('tar', [gzip ? '-tzf' : '-tf', file]);
    const members = stdout.split('\n').filter(Boolean);
    if (members.some((m) => m.replace(/^\.\//, '') === marker)) hits.push({ file, gzip, members });
  }
  return hits;
}

/** The blob files of one cache, and the ones planted in it (removed when the poison is taken away). */
function blobsOf(where: 'local' | 'remote', planted: string[]): Blobs {
  const local = (sha: string) => path.join(A, '.nx/blobs', sha.slice(0, 2), sha);
  const remote = (sha: string) => path.join(root, 'remote-cache/nx-cache', `sha256-${sha}`);
  const file = where === 'local' ? local : remote;
  return {
    // the genuine bytes from wherever they are (a run that restored only entries fetched no blob)
    read: (sha) => readFile(local(sha)).catch(() => readFile(remote(sha))),
    async plant(bytes) {
      const sha = sha256(bytes);
      await mkdir(path.dirname(file(sha)), { recursive: true });
      await writeFile(file(sha), bytes);
      planted.push(file(sha));
      return sha;
    },
  };
}

/** Poisons every entry (local or remote) holding the marker; returns how to put the original bytes back. */
async function poison(where: 'local' | 'remote', p: Poison, v: string): Promise<() => Promise<void>> {
  const originals = new Map<string, Buffer>();
  const planted: string[] = [];
  const blobs = blobsOf(where, planted);
  const unplant = () => Promise.all(planted.map((f) => rm(f, { force: true })));
  if (where === 'local') {
    const entries = await localEntries(p.marker(v));
    expect(entries.length).toBeGreaterThanOrEqual(1);
    const scratch = await tempDir('poison-copy-');
    for (const entry of entries) {
      // keep the entry's files to restore them afterwards
      await execa('cp', ['-a', `${entry}/.`, path.join(scratch, path.basename(entry))]);
      await p.apply(entry, v, blobs);
    }
    return async () => {
      for (const entry of entries) {
        await rm(entry, { recursive: true, force: true });
        await execa('cp', ['-a', path.join(scratch, path.basename(entry)), entry]);
      }
      await rm(scratch, { recursive: true, force: true });
      await unplant();
    };
  }
  const entries = await remoteEntries(p.marker(v));
  expect(entries.length).toBeGreaterThanOrEqual(1);
  for (const e of entries) {
    originals.set(e.file, await readFile(e.file));
    const scratch = await tempDir('poison-tar-');
    await execa('tar', [e.gzip ? '-xzf' : '-xf', e.file, '-C', scratch]);
    await p.apply(scratch, v, blobs);
    await execa('tar', [e.gzip ? '-czf' : '-cf', e.file, '-C', scratch, '--no-recursion', ...e.members]);
    await rm(scratch, { recursive: true, force: true });
  }
  return async () => {
    for (const [file, bytes] of originals) await writeFile(file, bytes);
    await unplant();
  };
}

/** Forget everything local, so the next run restores from the remote cache. */
async function dropLocal() {
  await rm(path.join(A, 'dist'), { recursive: true, force: true });
  await rm(path.join(A, '.nx/cache'), { recursive: true, force: true });
  await rm(path.join(A, '.nx/blobs'), { recursive: true, force: true });
  await rm(path.join(A, '.nx/workspace-data'), { recursive: true, force: true });
}

beforeAll(async () => {
  root = await tempDir('alloy-poison-');
  const binary = (arch: 'amd64' | 'arm64', version: string) => {
    const b = makeSyntheticBinary(arch, 256 * 1024);
    b.write(`alloy ${version} ${arch}`, 256, 'latin1');
    return b;
  };
  [upstream, s3, key] = await Promise.all([
    startUpstreamHost({
      releases: [PUBLISHED, UNPUBLISHED, AIR_GAPPED].map((version) => ({
        version,
        binaries: { amd64: binary('amd64', version), arm64: binary('arm64', version) },
      })),
    }),
    startS3Peer({ bucket: 'sysext-poison' }),
    testSigningKey(path.join(root, 'key')),
  ]);
  await mkdir(path.join(root, 'remote-cache'), { recursive: true });
  cacheServer = await startNxCacheServer({
    store: createDirectoryStore(path.join(root, 'remote-cache')),
    tokens: parseTokens(`read-write:${RW_TOKEN}`),
    log: (line) => cacheLog.push(line),
  });
  bucket = createS3Store({ bucket: s3.bucket, endpoint: s3.endpoint, ...s3.credentials, region: s3.region, prefix: 'alloy/' });
  env = {
    ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
    ...r2Env(s3),
    ALLOY_SIGNING_KEY: await readFile(key.privateKeyPath, 'utf8'),
    NX_SELF_HOSTED_REMOTE_CACHE_SERVER: cacheServer.url,
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: RW_TOKEN,
  };
  A = await copyWorkspace(root, 'clone');
}, 240_000);

afterAll(async () => {
  await Promise.allSettled([upstream?.stop(), s3?.stop(), cacheServer?.close()]);
  if (root && !process.env.ALLOY_E2E_KEEP) await rm(root, { recursive: true, force: true });
});

describe('a poisoned cache entry never reaches the release signature', () => {
  let published: Record<string, string>;
  let cleanUnpublished: Record<string, string>;

  it('sets the scene: one version published, another built (manifest) but not published; both in both caches', async () => {
    expectOk(await run('publish', PUBLISHED));
    expectOk(await run('manifest', UNPUBLISHED));
    published = await bucketState();
    cleanUnpublished = {};
    for (const f of [`alloy-${UNPUBLISHED}-amd64.raw`, `alloy-${UNPUBLISHED}-arm64.raw`]) {
      cleanUnpublished[f] = sha256(await readFile(dist(UNPUBLISHED, 'images', f)));
    }
    // the compatibility name is the amd64 image's second name in the bucket, no file in dist/
    cleanUnpublished[`alloy-${UNPUBLISHED}.raw`] = cleanUnpublished[`alloy-${UNPUBLISHED}-amd64.raw`]!;
    expect((await remoteEntries(`dist/alloy/${UNPUBLISHED}/manifest/SHA256SUMS`)).length).toBe(1);
  }, 480_000);

  for (const [where, version] of [
    ['local', PUBLISHED],
    ['remote', UNPUBLISHED],
  ] as const) {
    for (const p of POISONS) {
      it(`${p.target} entry poisoned in the ${where} cache, publish ${version} (${version === PUBLISHED ? 'published' : 'unpublished'}): refused, naming the file and --skip-nx-cache; bucket untouched`, async () => {
        const restore = await poison(where, p, version);
        try {
          if (where === 'remote') await dropLocal();
          else await rm(path.join(A, 'dist'), { recursive: true, force: true });
          const mark = s3.requests.length;
          const r = await run('publish', version);
          expect({ code: r.code === 0 ? 0 : 'failed', refusal: r.output.includes(p.refusal(version)) }).toEqual({
            code: 'failed',
            refusal: true,
          });
          expect(r.output).toContain(`npx nx run alloy:publish --version=${version} --skip-nx-cache`);
          expect(s3Writes(mark)).toEqual([]);
          expect(await bucketState()).toEqual(published);
        } finally {
          await restore();
          if (where === 'remote') await dropLocal();
        }
      }, 300_000);
    }
  }

  it('following the advice converges: --skip-nx-cache publishes the clean bytes; after nx reset a plain run is clean too', async () => {
    const p = POISONS[0]!;
    expectOk(await run('manifest', UNPUBLISHED)); // the remote entries, now in the local cache too
    const restore = await poison('local', p, UNPUBLISHED);
    try {
      await rm(path.join(A, 'dist'), { recursive: true, force: true });
      const refused = await run('publish', UNPUBLISHED);
      expect(refused.code).not.toBe(0);
      const advice = /npx nx run (\S+) --version=(\S+) --skip-nx-cache/.exec(refused.output)!;
      expect(advice.slice(1)).toEqual(['alloy:publish', UNPUBLISHED]);
      // the command exactly as the message gives it
      const r = await npxNx(A, ['run', advice[1]!, `--version=${advice[2]}`, '--skip-nx-cache'], env);
      expectOk(r);
      const state = await bucketState();
      for (const [file, sha] of Object.entries(cleanUnpublished)) expect({ file, sha: state[file] }).toEqual({ file, sha });
      expect(
        await gpgVerify(
          await readFile(key.publicKeyPath),
          (await bucket.get(`alloy-${UNPUBLISHED}-amd64.raw.asc`))!.body,
          (await bucket.get(`alloy-${UNPUBLISHED}-amd64.raw`))!.body,
        ),
      ).toMatchObject({ ok: true });
      expectOk(await npxNx(A, ['reset'], env));
      await rm(path.join(A, 'dist'), { recursive: true, force: true });
      expectOk(await run('publish', UNPUBLISHED));
      // the same bytes; only signatures may be re-made (they carry a timestamp), and they verify (bucketState)
      const unsigned = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).filter(([k]) => !/\.(asc|gpg)$/.test(k)));
      expect(unsigned(await bucketState())).toEqual(unsigned(state));
    } finally {
      await restore().catch(() => {});
    }
  }, 600_000); // two full pipeline runs (one from upstream) and a restore: up to ~5 min each on 2 loaded cores
});

/** Adds or replaces `file` (relative to the entry) in every local or remote entry holding `marker`; undo returned. */
async function plant(where: 'local' | 'remote', marker: string, file: string, bytes: Buffer): Promise<() => Promise<void>> {
  const poisonWith: Poison = {
    target: 'fetch',
    marker: () => marker,
    apply: async (entry) => {
      await mkdir(path.dirname(path.join(entry, file)), { recursive: true });
      await writeFile(path.join(entry, file), bytes);
    },
    refusal: () => '',
  };
  if (where === 'local') return poison('local', poisonWith, '');
  const originals = new Map<string, Buffer>();
  for (const e of await remoteEntries(marker)) {
    originals.set(e.file, await readFile(e.file));
    const scratch = await tempDir('plant-tar-');
    await execa('tar', [e.gzip ? '-xzf' : '-xf', e.file, '-C', scratch]);
    await poisonWith.apply(scratch, '', blobsOf('remote', []));
    const members = e.members.some((m) => m.replace(/^\.\//, '') === file) ? e.members : [...e.members, file];
    await execa('tar', [e.gzip ? '-czf' : '-cf', e.file, '-C', scratch, '--no-recursion', ...members]);
    await rm(scratch, { recursive: true, force: true });
  }
  expect(originals.size).toBeGreaterThanOrEqual(1);
  return async () => {
    for (const [f, bytes] of originals) await writeFile(f, bytes);
  };
}

// Issue 20, finding 1: on main, publish copied fetch's record (fetched.json, restored from a cache) into the signed
// provenance. Now provenance is built from the digest roots this run checks, and publish re-checks the zips itself
// (restored, when a cache left them out, from the blob the root's sha256 names). fetch's entry holds the zips' .sha256
// files; a fetched.json planted beside them is never read.
describe('an edited fetch record never reaches the signed provenance', () => {
  let zipDir: string;
  let clean: string;
  const provenance = async () => (await bucket.get(`alloy-${AIR_GAPPED}.intoto.json`))!.body.toString('utf8');
  const deterministic = (text: string) => {
    const { runDetails: _, ...rest } = JSON.parse(text).predicate;
    return JSON.stringify(rest);
  };
  const publish = () => npxNx(A, ['run', 'alloy:publish', `--version=${AIR_GAPPED}`, `--zipDir=${zipDir}`], env);
  const fetchMarker = `dist/alloy/${AIR_GAPPED}/upstream/alloy-linux-amd64.zip.sha256`;
  const record = async (over: (zip: Record<string, unknown>) => Record<string, unknown>) => {
    const zips = JSON.parse(await provenance()).predicate.buildDefinition.resolvedDependencies.map((d: any) =>
      over({
        arch: d.annotations.arch,
        name: d.name,
        uri: d.uri,
        sha256: d.digest.sha256,
        digestSource: d.annotations.digestSource,
        pinned: false,
      }),
    );
    return Buffer.from(JSON.stringify({ version: AIR_GAPPED, zips }, null, 2));
  };

  it('sets the scene: the version published from --zipDir with a SHA256SUMS beside the zips', async () => {
    zipDir = path.join(root, 'zips');
    await mkdir(zipDir, { recursive: true });
    const sums: string[] = [];
    for (const arch of ['amd64', 'arm64'] as const) {
      const res = await fetch(`${upstream.apiUrl}/grafana/alloy/releases/download/v${AIR_GAPPED}/alloy-linux-${arch}.zip`);
      const bytes = Buffer.from(await res.arrayBuffer());
      await writeFile(path.join(zipDir, `alloy-linux-${arch}.zip`), bytes);
      sums.push(`${sha256(bytes)}  alloy-linux-${arch}.zip\n`);
    }
    await writeFile(path.join(zipDir, 'SHA256SUMS'), sums.join(''));
    expectOk(await publish());
    clean = deterministic(await provenance());
    expect(JSON.parse(await provenance()).predicate.buildDefinition.resolvedDependencies[0]).toMatchObject({
      uri: 'file:alloy-linux-amd64.zip',
      annotations: { digestSource: 'zip-dir-sha256sums' },
    });
  }, 300_000);

  for (const where of ['local', 'remote'] as const) {
    it(`a fetch record edited in the ${where} cache (uri, digest source, an extra zip): the provenance signed is the clean one`, async () => {
      const forged = await record((z) => ({ ...z, uri: `https://evil.example/${z.name}`, digestSource: 'github-asset-digest' }));
      const planted = JSON.parse(forged.toString('utf8'));
      planted.zips.push({ ...planted.zips[0], name: 'backdoor.zip', uri: 'https://evil.example/backdoor.zip' });
      if (where === 'remote') await dropLocal();
      const undo = await plant(where, fetchMarker, `dist/alloy/${AIR_GAPPED}/upstream/fetched.json`, Buffer.from(JSON.stringify(planted)));
      try {
        await rm(path.join(A, 'dist'), { recursive: true, force: true });
        const r = await publish();
        expectOk(r);
        expect(deterministic(await provenance())).toBe(clean);
        expect(await provenance()).not.toContain('evil.example');
      } finally {
        await undo();
        if (where === 'remote') await dropLocal();
      }
    }, 300_000);
  }

  it('a consistent forged pair (another zip and a record naming it, plus entries PUT with a read-write token) is refused by the seal; nothing is published', async () => {
    const run = async () => {
      const mark = cacheLog.length;
      await dropLocal();
      const r = await publish();
      // Nx entries only, named by Nx's decimal hash (a blob is sha256-<hex>; the plugin's probe asks for another name)
      const misses = cacheLog.slice(mark).flatMap((l) => /^GET (\d+) 404 /.exec(l)?.[1] ?? []);
      return { r, misses };
    };
    const before = await provenance();
    const writesBefore = s3.requests.length;
    const genuineZip = await readFile(path.join(zipDir, 'alloy-linux-amd64.zip'));
    const other = makeSyntheticBinary('amd64', 256 * 1024);
    other.write('not the release', 256, 'latin1');
    const otherZip = makeZip([{ name: 'alloy-linux-amd64', data: other, mode: 0o100755 }]);
    // with write access to the cache server's storage: the fetch entry names the other zip (its .sha256 and a record),
    // planted as a blob
    const pairRecord = await record((z) => (z.arch === 'amd64' ? { ...z, sha256: sha256(otherZip) } : z));
    const restore = await poison(
      'remote',
      {
        target: 'fetch',
        marker: () => fetchMarker,
        apply: async (entry, _v, blobs) => {
          const dir = path.join(entry, `dist/alloy/${AIR_GAPPED}/upstream`);
          await writeFile(path.join(dir, 'alloy-linux-amd64.zip.sha256'), `${await blobs.plant(otherZip)}  alloy-linux-amd64.zip\n`);
          await writeFile(path.join(dir, 'fetched.json'), pairRecord);
        },
        refusal: () => '',
      },
      AIR_GAPPED,
    );
    const put: string[] = [];
    try {
      // with a read-write token: each task the other zip changes the hash of misses the cache, runs and refuses; the
      // attacker then PUTs the genuine entry of that target under the hash it missed, until only publish is left
      const genuine: Record<string, string> = {
        'alloy:image': `dist/alloy/${AIR_GAPPED}/images/alloy-${AIR_GAPPED}-amd64.raw.sha256`,
        'alloy:sign': `dist/alloy/${AIR_GAPPED}/images/alloy-${AIR_GAPPED}-amd64.raw.asc`,
        'alloy:manifest': `dist/alloy/${AIR_GAPPED}/manifest/SHA256SUMS`,
      };
      // a step that ran and refused (one that ran and passed put its own entry, as Nx does)
      const refusedBy = (r: NxRun) =>
        Object.keys(genuine).find((t) => taskStatus(r.output)[t] === 'ran' && r.output.includes(`${t.slice('alloy:'.length)} failed:`));
      let last = await run();
      for (let i = 0; i < 3; i++) {
        const failed = refusedBy(last.r);
        if (!failed) break;
        expect(last.misses).toHaveLength(1);
        const entry = (await remoteEntries(genuine[failed]!)).find((e) => !put.includes(path.basename(e.file)))!;
        const res = await fetch(`${cacheServer.url}/v1/cache/${last.misses[0]}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${RW_TOKEN}`, 'content-type': 'application/octet-stream' },
          body: await readFile(entry.file),
        });
        expect(res.status).toBe(200);
        put.push(last.misses[0]!);
        last = await run();
      }
      const { r } = last;
      expect(put.length).toBeGreaterThanOrEqual(1); // at least the image entry
      // image, sign and manifest pass (restored, or run from the genuine asset); the seal, the first to state the
      // assets, refuses the fetch output naming the other zip
      expect(refusedBy(r)).toBeUndefined();
      expect(taskStatus(r.output)['alloy:seal']).toBe('ran');
      expect(r.code).not.toBe(0);
      expect(r.output).toContain(
        `seal failed: refusing to use the fetched upstream files: ${path.join(A, 'dist/alloy', AIR_GAPPED, 'upstream/alloy-linux-amd64.zip')}` +
          `.sha256 (fetch's output) names sha256 ${sha256(otherZip)}, but ${path.join(zipDir, 'SHA256SUMS')} says ${sha256(genuineZip)}`,
      );
      expect(await provenance()).toBe(before);
      expect(s3Writes(writesBefore)).toEqual([]);
    } finally {
      await restore();
      const storage = createDirectoryStore(path.join(root, 'remote-cache'));
      for (const hash of put) await storage.delete(`nx-cache/${hash}`);
      await dropLocal();
    }
  }, 600_000);
});
