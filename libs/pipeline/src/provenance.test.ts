// Provenance published with a version: shape, subjects equal to SHA256SUMS, real gpg and sqop verify its signature,
// and everything but runDetails is reproducible. Runs fetch → image → sign → manifest → publish against the upstream
// host peer and a directory bucket.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDirectoryStore, type ObjectStore } from '@alloy-sysext/r2';
import { generateKey, type GeneratedKey } from '@alloy-sysext/signing';
import { startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import {
  BUILD_TYPE,
  buildStatement,
  deterministicPart,
  fetchStep,
  imageStep,
  manifestStep,
  prepareStep,
  provenanceInputs,
  publishStep,
  runDetailsFromEnv,
  signStep,
  verifyAssets,
  type Statement,
} from './index.js';

const WORKSPACE = fileURLToPath(new URL('../../..', import.meta.url));
const VERSION = '1.10.2';
let root: string;
let upstream: UpstreamHost;
let key: GeneratedKey;
let env: NodeJS.ProcessEnv;
let bucket: ObjectStore;
const log = () => {};

async function chain(extraEnv: NodeJS.ProcessEnv = {}) {
  const step = await prepareStep({ version: VERSION }, { root, env: { ...env, ...extraEnv }, log });
  await fetchStep(step);
  await imageStep(step);
  await signStep(step);
  await manifestStep(step);
  await publishStep(step);
  return step;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'provenance-'));
  await mkdir(path.join(root, 'apps/alloy/files'), { recursive: true });
  for (const f of ['sysext.json', 'sysext.schema.json', 'files/alloy.service'])
    await copyFile(path.join(WORKSPACE, 'apps/alloy', f), path.join(root, 'apps/alloy', f));
  upstream = await startUpstreamHost({ releases: [{ version: VERSION }] });
  key = await generateKey({ identity: 'Provenance test <p@example.org>', outDir: path.join(root, 'keys') });
  env = { PATH: process.env.PATH, ALLOY_UPSTREAM_API_URL: upstream.apiUrl, ALLOY_SIGNING_KEY: await readFile(key.privateKeyPath, 'utf8') };
  bucket = createDirectoryStore(path.join(root, 'dist/bucket'), { prefix: 'alloy/' });
  await chain();
}, 240_000);
afterAll(async () => {
  await upstream?.stop();
  await rm(root, { recursive: true, force: true });
});

const published = async () => (await bucket.get(`alloy-${VERSION}.intoto.json`))?.body;

describe('provenance', () => {
  it('is an in-toto Statement v1 with SLSA provenance v1 whose subjects are exactly the SHA256SUMS lines', async () => {
    const statement = JSON.parse((await published())!.toString('utf8')) as Statement;
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1');
    const sums = (await bucket.get('SHA256SUMS'))!.body.toString('utf8');
    expect(statement.subject.map((s) => `${s.digest.sha256}  ${s.name}\n`).join('')).toBe(sums);
    expect(statement.subject.map((s) => s.name).sort()).toEqual([
      `alloy-${VERSION}-amd64.raw`,
      `alloy-${VERSION}-arm64.raw`,
      `alloy-${VERSION}.raw`,
    ]);
    // the compatibility name is the amd64 image's second name: one subject digest, the bytes dist/ holds once
    const digest = (name: string) => statement.subject.find((s) => s.name === name)!.digest.sha256;
    expect(digest(`alloy-${VERSION}.raw`)).toBe(digest(`alloy-${VERSION}-amd64.raw`));
    expect(digest(`alloy-${VERSION}.raw`)).toBe(
      (await execa('sha256sum', [path.join(root, `dist/alloy/${VERSION}/images/alloy-${VERSION}-amd64.raw`)])).stdout.slice(0, 64),
    );
    expect(existsSync(path.join(root, `dist/alloy/${VERSION}/images/alloy-${VERSION}.raw`))).toBe(false);

    const { buildDefinition, runDetails } = statement.predicate;
    expect(buildDefinition.buildType).toBe(BUILD_TYPE);
    // The build type URL points at a document in this repository.
    expect(existsSync(path.join(WORKSPACE, new URL(BUILD_TYPE).pathname.replace(/^\/[^/]+\/[^/]+\/blob\/main\//, '')))).toBe(true);
    const recipeSha = (await execa('sha256sum', [path.join(root, 'apps/alloy/sysext.json')])).stdout.slice(0, 64);
    const unitSha = (await execa('sha256sum', [path.join(root, 'apps/alloy/files/alloy.service')])).stdout.slice(0, 64);
    expect(buildDefinition.externalParameters).toEqual({
      version: VERSION,
      recipe: { path: 'apps/alloy/sysext.json', sha256: recipeSha, unit: { path: 'apps/alloy/files/alloy.service', sha256: unitSha } },
      format: 'squashfs',
      compressor: 'zstd',
    });
    expect(buildDefinition.resolvedDependencies).toEqual(
      (['amd64', 'arm64'] as const).map((arch) => ({
        uri: `${new URL(upstream.apiUrl).origin}/grafana/alloy/releases/download/v${VERSION}/alloy-linux-${arch}.zip`,
        name: `alloy-linux-${arch}.zip`,
        digest: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
        annotations: { arch, kind: 'zip', entry: `alloy-linux-${arch}`, digestSource: 'github-asset-digest', pinned: false },
      })),
    );
    const zipSha = (await execa('sha256sum', [path.join(root, `dist/alloy/${VERSION}/upstream/alloy-linux-amd64.zip`)])).stdout.slice(
      0,
      64,
    );
    expect(buildDefinition.resolvedDependencies[0]!.digest.sha256).toBe(zipSha);
    const mksquashfs = (await execa('mksquashfs', ['-version'])).stdout.split('\n')[0];
    expect(buildDefinition.internalParameters.tools).toEqual({
      mksquashfs,
      'mkfs.erofs': expect.stringMatching(/^mkfs\.erofs \d/),
      'mkfs.ext4': expect.stringMatching(/^mke2fs \d/),
      node: process.version,
    });
    expect(runDetails.builder.id).toBe('local');
    expect(runDetails.metadata.invocationId).toBeUndefined();
    expect(Date.parse(runDetails.metadata.finishedOn)).toBeGreaterThanOrEqual(Date.parse(runDetails.metadata.startedOn));
  });

  it('its detached signature verifies with real gpg and sqop, and fails on one changed byte', async () => {
    const dir = path.join(root, 'verify');
    await mkdir(dir, { recursive: true });
    const data = path.join(dir, 'statement.json');
    const sig = path.join(dir, 'statement.json.asc');
    await writeFile(data, (await published())!);
    await writeFile(sig, (await bucket.get(`alloy-${VERSION}.intoto.json.asc`))!.body);
    const home = path.join(dir, 'gnupg');
    await mkdir(home, { mode: 0o700 });
    await execa('gpg', ['--homedir', home, '--batch', '--quiet', '--import', key.publicKeyPath]);
    const gpg = await execa('gpg', ['--homedir', home, '--batch', '--status-fd', '1', '--verify', sig, data], { reject: false });
    expect(gpg.stdout).toContain(`[GNUPG:] VALIDSIG ${key.fingerprint}`);
    expect(gpg.exitCode).toBe(0);
    const sqop = await execa('sqop', ['verify', sig, key.publicKeyPath], { inputFile: data, reject: false });
    expect({ code: sqop.exitCode, out: sqop.stdout }).toEqual({ code: 0, out: expect.stringContaining(key.fingerprint) });

    await writeFile(data, (await readFile(data, 'utf8')).replace('"version": "1.10.2"', '"version": "1.10.3"'));
    expect((await execa('gpg', ['--homedir', home, '--batch', '--verify', sig, data], { reject: false })).exitCode).not.toBe(0);
    expect((await execa('sqop', ['verify', sig, key.publicKeyPath], { inputFile: data, reject: false })).exitCode).not.toBe(0);
  });

  it('everything but runDetails is deterministic; in Actions the builder is the workflow and the invocation the run', async () => {
    const step = await prepareStep({ version: VERSION }, { root, env, log });
    const entries = JSON.parse((await published())!.toString('utf8')).subject.map((s: { name: string; digest: { sha256: string } }) => ({
      file: s.name,
      sha256: s.digest.sha256,
    }));
    const upstreamAssets = await verifyAssets(step);
    const inputs = () =>
      provenanceInputs({ recipe: step.recipe, version: VERSION, layout: step.layout, entries, upstream: upstreamAssets, root });
    const actions = runDetailsFromEnv(
      {
        GITHUB_ACTIONS: 'true',
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_WORKFLOW_REF: 'acme/alloy-sysext/.github/workflows/release.yml@refs/heads/main',
        GITHUB_REPOSITORY: 'acme/alloy-sysext',
        GITHUB_RUN_ID: '42',
        GITHUB_RUN_ATTEMPT: '2',
      },
      { startedOn: new Date(0), finishedOn: new Date(1000) },
    );
    expect(actions).toEqual({
      builder: { id: 'https://github.com/acme/alloy-sysext/.github/workflows/release.yml@refs/heads/main' },
      metadata: {
        invocationId: 'https://github.com/acme/alloy-sysext/actions/runs/42/attempts/2',
        startedOn: '1970-01-01T00:00:00.000Z',
        finishedOn: '1970-01-01T00:00:01.000Z',
      },
    });
    const local = runDetailsFromEnv({}, { startedOn: new Date(), finishedOn: new Date() });
    const a = buildStatement(await inputs(), actions);
    const b = buildStatement(await inputs(), local);
    expect(deterministicPart(a)).toBe(deterministicPart(b));
    expect(deterministicPart(a)).toBe(deterministicPart(JSON.parse((await published())!.toString('utf8'))));
  });

  it('a rerun of publish keeps the bucket statement (only runDetails would differ) and uploads nothing new', async () => {
    const before = (await published())!;
    const step = await prepareStep(
      { version: VERSION },
      { root, env: { ...env, GITHUB_ACTIONS: 'true', GITHUB_WORKFLOW_REF: 'a/b/.github/workflows/release.yml@refs/heads/main' }, log },
    );
    await publishStep(step);
    expect((await published())!.equals(before)).toBe(true);
  });
});

// Playing someone who can write what fetch leaves in dist/ (a local .nx/cache entry, or the remote cache's storage) but
// holds no key: provenance says what this run checked against the digest roots, or publish refuses.
describe('provenance comes from the digest roots, never from what fetch left', () => {
  const upstreamDir = () => path.join(root, `dist/alloy/${VERSION}/upstream`);
  const statementOf = async () => JSON.parse((await published())!.toString('utf8')) as Statement;

  it('a forged fetch record (another uri, digest source, an extra zip) changes nothing: the clean statement is kept', async () => {
    const clean = deterministicPart(await statementOf());
    const before = (await published())!;
    const zips = (await statementOf()).predicate.buildDefinition.resolvedDependencies;
    const forged = {
      version: VERSION,
      zips: [
        ...zips.map((d) => ({
          arch: d.annotations.arch,
          name: d.name,
          uri: `https://evil.example/${d.name}`,
          sha256: d.digest.sha256,
          digestSource: 'recipe-pin',
          pinned: true,
        })),
        {
          arch: 'amd64',
          name: 'backdoor.zip',
          uri: 'https://evil.example/backdoor.zip',
          sha256: 'e'.repeat(64),
          digestSource: 'recipe-pin',
          pinned: true,
        },
      ],
    };
    await writeFile(path.join(upstreamDir(), 'fetched.json'), `${JSON.stringify(forged, null, 2)}\n`);
    try {
      // a statement signed from this record would differ; the bucket's is kept because nothing it says changed
      await publishStep(await prepareStep({ version: VERSION }, { root, env, log }));
      expect(deterministicPart(await statementOf())).toBe(clean);
      expect((await published())!.equals(before)).toBe(true);
      // and with the bucket's statement gone, the one signed anew says the same
      await bucket.delete(`alloy-${VERSION}.intoto.json`);
      await publishStep(await prepareStep({ version: VERSION }, { root, env, log }));
      expect(deterministicPart(await statementOf())).toBe(clean);
      expect(JSON.stringify(await statementOf())).not.toContain('evil.example');
    } finally {
      await rm(path.join(upstreamDir(), 'fetched.json'), { force: true });
    }
  });

  it('a consistent forged pair (another zip, and a record naming it) is refused by publish, naming the zip', async () => {
    const zip = path.join(upstreamDir(), 'alloy-linux-amd64.zip');
    const genuine = await readFile(zip);
    const before = (await published())!;
    const other = Buffer.from(genuine);
    other[other.length - 30] ^= 0xff;
    await writeFile(zip, other);
    const otherSha = (await execa('sha256sum', [zip])).stdout.slice(0, 64);
    // the record fetch used to leave, well formed, naming the other zip's sha256 (what the attacker wrote)
    const record = {
      version: VERSION,
      zips: (await statementOf()).predicate.buildDefinition.resolvedDependencies.map((d) => ({
        arch: d.annotations.arch,
        name: d.name,
        uri: d.uri,
        sha256: d.annotations.arch === 'amd64' ? otherSha : d.digest.sha256,
        digestSource: 'github-asset-digest',
        pinned: false,
      })),
    };
    await writeFile(path.join(upstreamDir(), 'fetched.json'), JSON.stringify(record));
    try {
      await bucket.delete(`alloy-${VERSION}.intoto.json`);
      const error = (await publishStep(await prepareStep({ version: VERSION }, { root, env, log })).catch((e: Error) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toContain(
        `refusing to use the fetched upstream files: ${zip} has sha256 ${otherSha}, but the release's asset digest`,
      );
      expect(await published()).toBeUndefined();
    } finally {
      await writeFile(zip, genuine);
      await rm(path.join(upstreamDir(), 'fetched.json'), { force: true });
      await bucket.putBytes(`alloy-${VERSION}.intoto.json`, before);
    }
  });
});
