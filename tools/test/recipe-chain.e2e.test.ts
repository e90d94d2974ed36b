// The second recipe, sysexts/docker-compose/sysext.json, is a project by inference alone (no project.json, no code):
// its chain runs end to end under real nx with the literal commands README shows, against the peers. Online against a
// synthetic docker/compose release on the upstream double (plain binaries in compose's arch names, checksums.txt);
// air-gapped from an asset directory holding the assets and the checksum file beside them. Its bucket prefix then
// passes the real systemd-sysupdate 254 consumer (Verify=yes). A wrong checksum file beside the assets is refused at
// the step level (libs/pipeline/src/upstream-shapes.test.ts); here each nx run costs ~20 s on a loaded machine.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { createS3Store, type ObjectStore } from '@alloy-sysext/r2';
import { COMPOSE_SHAPE, makeSyntheticBinary, releaseAssets, startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { r2Env, startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';
import { runSysupdate, writeDefinitions } from '@alloy-sysext/test-peers/sysupdate';
import { copyWorkspace, npxNx, sha256File, SOURCE_ROOT, tail, tempDir, type NxRun } from '@alloy-sysext/test-peers/nx-workspace';

const ONLINE = '2.29.1';
const AIR_GAPPED = '2.29.2';
const PREFIX = 'docker-compose/';
const BINARY_PATH = 'usr/local/lib/docker/cli-plugins/docker-compose';

/** A distinct small "binary" per version and arch. */
function binary(arch: 'amd64' | 'arm64', version: string): Buffer {
  const b = makeSyntheticBinary(arch, 256 * 1024);
  b.write(`docker-compose ${version} ${arch}`, 256, 'latin1');
  return b;
}
const binaries = (version: string) => ({ amd64: binary('amd64', version), arm64: binary('arm64', version) });

let root: string;
let ws: string;
let upstream: UpstreamHost;
let s3: S3Peer;
let bucket: ObjectStore;
let env: Record<string, string>;

const expectOk = (run: NxRun) => expect({ code: run.code, run: run.code === 0 ? '' : tail(run) }).toEqual({ code: 0, run: '' });
const image = (version: string, arch: string) =>
  path.join(ws, 'dist/docker-compose', version, 'images', `docker-compose-${version}-${arch}.raw`);

beforeAll(async () => {
  root = await tempDir('recipe-chain-');
  [upstream, s3] = await Promise.all([
    // the air-gapped version is not on the release host: its run must not need it
    startUpstreamHost({ repo: 'docker/compose', releases: [{ version: ONLINE, shape: COMPOSE_SHAPE, binaries: binaries(ONLINE) }] }),
    startS3Peer({ bucket: 'sysext-e2e' }),
  ]);
  bucket = createS3Store({ bucket: s3.bucket, endpoint: s3.endpoint, ...s3.credentials, region: s3.region, prefix: PREFIX });
  env = {
    ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
    ...r2Env(s3, PREFIX),
    // the e2e files' pregenerated test key: no key generated per run
    ALLOY_SIGNING_KEY: await readFile(path.join(SOURCE_ROOT, 'apps/alloy/test/fixtures/e2e-signing-key.asc'), 'utf8'),
  };
  ws = await copyWorkspace(root, 'ws');
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([upstream?.stop(), s3?.stop()]);
  if (root) await rm(root, { recursive: true, force: true });
}, 60_000);

describe('docker-compose: a recipe and nothing else', () => {
  it(`\`npx nx run docker-compose:publish --version=${ONLINE}\` fetches compose's plain binaries, checks checksums.txt, publishes under docker-compose/`, async () => {
    const from = s3.requests.length;
    const r = await npxNx(ws, ['run', 'docker-compose:publish', `--version=${ONLINE}`], env);
    expectOk(r);
    expect(r.output).toMatch(/amd64: docker-compose-linux-x86_64 sha256 [0-9a-f]{64} verified against/);
    // compose's arch names, from the recipe's archNames
    const downloads = upstream.requests.filter((q) => q.path.includes('/releases/download/')).map((q) => path.basename(q.path));
    // (checksums.txt is read again by the steps that re-check the digest roots)
    expect([...new Set(downloads)].sort()).toEqual(['checksums.txt', 'docker-compose-linux-aarch64', 'docker-compose-linux-x86_64']);
    // the binary at the recipe's path, byte for byte, in each arch's image
    for (const arch of ['amd64', 'arm64'] as const) {
      const { stdout } = await execa('unsquashfs', ['-cat', image(ONLINE, arch), BINARY_PATH], {
        encoding: 'buffer',
        stripFinalNewline: false,
      });
      expect(Buffer.from(stdout).equals(binary(arch, ONLINE))).toBe(true);
      const { stdout: release } = await execa(
        'unsquashfs',
        ['-cat', image(ONLINE, arch), 'usr/lib/extension-release.d/extension-release.docker-compose'],
        { stripFinalNewline: false },
      );
      expect(release).toBe(`ID=_any\nARCHITECTURE=${arch === 'amd64' ? 'x86-64' : 'arm64'}\n`);
    }
    // one prefix, one SHA256SUMS: every object written is under docker-compose/, none is alloy's
    const written = s3.requests.slice(from).filter((q) => q.method === 'PUT' || q.method === 'POST');
    expect(written.length).toBeGreaterThan(0);
    expect(written.filter((q) => q.bucket !== s3.bucket || !q.key.startsWith(PREFIX))).toEqual([]);
    const sums = (await bucket.get('SHA256SUMS'))!.body.toString('utf8');
    expect(sums).toBe(
      `${await sha256File(image(ONLINE, 'amd64'))}  docker-compose-${ONLINE}-amd64.raw\n` +
        `${await sha256File(image(ONLINE, 'arm64'))}  docker-compose-${ONLINE}-arm64.raw\n`,
    );
  }, 180_000);

  it(`air-gapped: \`npx nx run docker-compose:publish --version=${AIR_GAPPED} --assetDir=DIR\`, checksums.txt beside the assets`, async () => {
    const dir = path.join(root, 'assets');
    await mkdir(dir);
    for (const asset of releaseAssets({ version: AIR_GAPPED, shape: COMPOSE_SHAPE, binaries: binaries(AIR_GAPPED) })) {
      await writeFile(path.join(dir, asset.name), asset.bytes);
    }
    const asked = upstream.requests.length;
    const r = await npxNx(ws, ['run', 'docker-compose:publish', `--version=${AIR_GAPPED}`, `--assetDir=${dir}`], env);
    expectOk(r);
    expect(upstream.requests.slice(asked)).toEqual([]);
    // the signed provenance names the checksum file beside the assets as what vouched for them
    const statement = JSON.parse((await bucket.get(`docker-compose-${AIR_GAPPED}.intoto.json`))!.body.toString('utf8'));
    const deps = statement.predicate.buildDefinition.resolvedDependencies as { name: string; annotations: { digestSource: string } }[];
    expect(deps.map((d) => [d.name, d.annotations.digestSource])).toEqual([
      ['docker-compose-linux-x86_64', 'asset-dir-checksum-file'],
      ['docker-compose-linux-aarch64', 'asset-dir-checksum-file'],
    ]);
    const sums = (await bucket.get('SHA256SUMS'))!.body.toString('utf8');
    expect(
      sums
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(/\s+/)[1]),
    ).toEqual([
      `docker-compose-${ONLINE}-amd64.raw`,
      `docker-compose-${ONLINE}-arm64.raw`,
      `docker-compose-${AIR_GAPPED}-amd64.raw`,
      `docker-compose-${AIR_GAPPED}-arm64.raw`,
    ]);
  }, 180_000);

  it('systemd-sysupdate 254 verifies the prefix and installs the newest version', async () => {
    const target = path.join(root, 'host/extensions');
    await mkdir(target, { recursive: true });
    const definitions = await writeDefinitions(path.join(root, 'host/sysupdate.d'), {
      'docker-compose': {
        sourceUrl: `${s3.endpoint}/${s3.bucket}/${PREFIX}`,
        pattern: 'docker-compose-@v-amd64.raw',
        targetDir: target,
        currentSymlink: path.join(target, 'docker-compose.raw'),
      },
    });
    const keyring = path.join(root, 'host/import-pubring.gpg');
    await writeFile(keyring, (await bucket.get('import-pubring.gpg'))!.body);
    const update = await runSysupdate({ definitions, keyring, args: ['update'], timeoutMs: 120_000 });
    expect({ exit: update.exitCode, stderr: update.exitCode === 0 ? '' : update.stderr }).toEqual({ exit: 0, stderr: '' });
    expect(update.stderr).toContain('Signature verification succeeded.');
    expect(update.stderr).toContain(`Successfully installed update '${AIR_GAPPED}'`);
    expect(await readlink(path.join(target, 'docker-compose.raw'))).toBe(`docker-compose-${AIR_GAPPED}-amd64.raw`);
    expect(await sha256File(path.join(target, `docker-compose-${AIR_GAPPED}-amd64.raw`))).toBe(
      await sha256File(image(AIR_GAPPED, 'amd64')),
    );
  }, 180_000);
});
