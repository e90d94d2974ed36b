// Provenance published with a version: shape, subjects equal to SHA256SUMS, real gpg and sqop verify its signature,
// and everything but runDetails is reproducible. Runs fetch → image → sign → manifest → publish against the upstream
// host peer and a directory bucket.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
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
        annotations: { arch, digestSource: 'github-asset-digest', pinned: false },
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
    const inputs = () => provenanceInputs({ recipe: step.recipe, version: VERSION, layout: step.layout, entries, root, env });
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

  it("a fetch record rewritten with its zip (a cache writer's pair) is refused against the live digest: nothing signed", async () => {
    // dist/ may be a cache restore: the record and the zip (or the blob it names) agree with each other, so only this
    // run's digest root can tell. The images are genuine: only the statement's materials would lie.
    const step = await prepareStep({ version: VERSION }, { root, env, log });
    const record = path.join(step.layout.upstream, 'fetched.json');
    const zip = path.join(step.layout.upstream, 'alloy-linux-amd64.zip');
    const [text, bytes] = await Promise.all([readFile(record, 'utf8'), readFile(zip)]);
    const before = { statement: await published(), sums: (await bucket.get('SHA256SUMS'))!.body };
    const genuine = createHash('sha256').update(bytes).digest('hex');
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 100] ^= 0xff;
    try {
      await writeFile(zip, tampered);
      await writeFile(record, text.replace(genuine, createHash('sha256').update(tampered).digest('hex')));
      await expect(publishStep(step)).rejects.toThrow(
        `${record} does not record alloy-linux-amd64.zip with sha256 ${genuine} (the release's asset digest at ${upstream.apiUrl})`,
      );
      expect(await published()).toEqual(before.statement);
      expect((await bucket.get('SHA256SUMS'))!.body).toEqual(before.sums);
    } finally {
      await writeFile(zip, bytes);
      await writeFile(record, text);
    }
  });

  it('publish needs no zip bytes for the statement: with the zips gone, the record checked against the digests suffices', async () => {
    const step = await prepareStep({ version: VERSION }, { root, env, log });
    const before = (await published())!;
    const zips = ['amd64', 'arm64'].map((arch) => path.join(step.layout.upstream, `alloy-linux-${arch}.zip`));
    const kept = await Promise.all(zips.map((z) => readFile(z)));
    try {
      await Promise.all(zips.map((z) => rm(z)));
      await publishStep(step);
      expect((await published())!.equals(before)).toBe(true);
    } finally {
      await Promise.all(zips.map((z, i) => writeFile(z, kept[i]!)));
    }
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
