// Upstream shapes beyond one zip, through the steps (fetch → image → sign → manifest → publish into a directory
// bucket) against synthetic releases on the upstream double: a docker/compose-like release (plain binaries in its own
// arch names, checksums.txt) and a node_exporter-like one (.tar.gz with the binary at a path, sha256sums.txt), online
// and from an asset directory. Provenance records each kind and the digest source this run checked. The recipes keep
// the name alloy (what varies here is the upstream half); the real docker-compose recipe, its own image names and its
// chain under nx are in tools/test/recipe-chain.e2e.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { createDirectoryStore } from '@alloy-sysext/r2';
import {
  COMPOSE_SHAPE,
  makeSyntheticBinary,
  NODE_EXPORTER_SHAPE,
  releaseAssets,
  startUpstreamHost,
  type AssetShape,
  type UpstreamHost,
  type UpstreamRelease,
} from '@alloy-sysext/test-peers/upstream';
import { digestRoots, fetchStep, imageStep, manifestStep, prepareStep, publishStep, signStep, type Statement } from '../src/index.js';

const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/alloy');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const binary = (arch: 'amd64' | 'arm64', tag: string) => {
  const b = makeSyntheticBinary(arch, 48 * 1024);
  b.write(tag, 256, 'latin1');
  return b;
};

interface Sysext {
  /** The workspace directory's name (the recipe's name stays alloy, see above). */
  name: string;
  repo: string;
  version: string;
  shape: AssetShape;
  upstream: Record<string, unknown>;
  binaryPath: string;
}

const COMPOSE: Sysext = {
  name: 'docker-compose',
  repo: 'docker/compose',
  version: '2.29.1',
  shape: COMPOSE_SHAPE,
  upstream: {
    kind: 'binary',
    asset: 'docker-compose-linux-{arch}',
    archNames: { amd64: 'x86_64', arm64: 'aarch64' },
    checksums: 'checksums.txt',
  },
  // where Flatcar's sysext-bakery puts it
  binaryPath: 'usr/local/lib/docker/cli-plugins/docker-compose',
};
const NODE_EXPORTER: Sysext = {
  name: 'node-exporter',
  repo: 'prometheus/node_exporter',
  version: '1.8.2',
  shape: NODE_EXPORTER_SHAPE,
  upstream: {
    kind: 'tar.gz',
    asset: 'node_exporter-{version}.linux-{arch}.tar.gz',
    binary: 'node_exporter-{version}.linux-{arch}/node_exporter',
    checksums: 'sha256sums.txt',
  },
  binaryPath: 'usr/bin/node_exporter',
};

let root: string;
let hosts: UpstreamHost[] = [];

/** A workspace holding a recipe for `s` (alloy's, with the upstream and tree of `s`) served by its own double. */
async function workspace(s: Sysext, release: Partial<UpstreamRelease> = {}) {
  const host = await startUpstreamHost({
    repo: s.repo,
    releases: [
      { version: s.version, shape: s.shape, binaries: { amd64: binary('amd64', s.name), arm64: binary('arm64', s.name) }, ...release },
    ],
  });
  hosts.push(host);
  const ws = await mkdtemp(path.join(root, `${s.name}-`));
  const dir = path.join(ws, 'sysexts', s.name);
  await mkdir(path.join(dir, 'files'), { recursive: true });
  await cp(path.join(APP, 'sysext.schema.json'), path.join(dir, 'sysext.schema.json'));
  await writeFile(path.join(dir, 'files', `${s.name}.service`), `[Service]\nExecStart=/${s.binaryPath} --version\n`);
  const alloy = JSON.parse(await readFile(path.join(APP, 'sysext.json'), 'utf8'));
  const recipe = {
    ...alloy,
    upstream: { repo: s.repo, apiUrl: 'https://api.github.com', maxBinaryBytes: 10_000_000, ...s.upstream },
    tree: {
      ...alloy.tree,
      binaryPath: s.binaryPath,
      unit: { source: `files/${s.name}.service`, path: `usr/lib/systemd/system/${s.name}.service` },
    },
    image: { ...alloy.image, compatibilityCopy: false },
    bucket: { ...alloy.bucket, prefix: 'alloy/' },
    consumers: [],
  };
  await writeFile(path.join(dir, 'sysext.json'), JSON.stringify(recipe, null, 2));
  // the alloy e2e files' pregenerated test key: no dev key generated per workspace
  const key = await readFile(path.join(APP, 'test/fixtures/e2e-signing-key.asc'), 'utf8');
  const env = { PATH: process.env.PATH, ALLOY_UPSTREAM_API_URL: host.apiUrl, ALLOY_SIGNING_KEY: key };
  const lines: string[] = [];
  const step = () =>
    prepareStep({ version: s.version, recipe: `sysexts/${s.name}/sysext.json` }, { root: ws, env, log: (l) => lines.push(l) });
  const bucket = createDirectoryStore(path.join(ws, 'dist/bucket'), { prefix: 'alloy/' });
  const statement = async () => JSON.parse((await bucket.get(`alloy-${s.version}.intoto.json`))!.body.toString('utf8')) as Statement;
  return { host, ws, step, lines, bucket, statement };
}

async function chain(step: Awaited<ReturnType<typeof prepareStep>>, options: { assetDir?: string } = {}) {
  await fetchStep(step, options);
  await imageStep(step, options);
  await signStep(step, options);
  await manifestStep(step);
  await publishStep(step, options);
}

/** The binary at its path inside the published image (unsquashfs reads it back). */
async function binaryInImage(ws: string, s: Sysext, arch: 'amd64' | 'arm64'): Promise<Buffer> {
  const image = path.join(ws, 'dist/alloy', s.version, 'images', `alloy-${s.version}-${arch}.raw`);
  const { stdout } = await execa('unsquashfs', ['-cat', image, s.binaryPath], { encoding: 'buffer', stripFinalNewline: false });
  return Buffer.from(stdout);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'upstream-shapes-'));
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  hosts = [];
  await rm(root, { recursive: true, force: true });
});

describe.each([COMPOSE, NODE_EXPORTER])('$name ($shape.kind asset, $shape.checksums)', (s) => {
  it('online: the GitHub digest and the release checksum file both vouch; the image holds the binary; provenance says so', async () => {
    const w = await workspace(s);
    const step = await w.step();
    const roots = await digestRoots(step, {});
    expect(roots.arm64.evidence.map((e) => e.source)).toEqual(['github-asset-digest', 'upstream-checksum-file']);
    await chain(step);
    expect((await binaryInImage(w.ws, s, 'arm64')).equals(binary('arm64', s.name))).toBe(true);
    const deps = (await w.statement()).predicate.buildDefinition.resolvedDependencies;
    const assets = releaseAssets({
      version: s.version,
      shape: s.shape,
      binaries: { amd64: binary('amd64', s.name), arm64: binary('arm64', s.name) },
    });
    expect(deps).toEqual(
      (['amd64', 'arm64'] as const).map((arch, i) => ({
        uri: `${w.host.apiUrl}/${s.repo}/releases/download/v${s.version}/${assets[i]!.name}`,
        name: assets[i]!.name,
        digest: { sha256: sha256(assets[i]!.bytes) },
        annotations: {
          arch,
          kind: s.shape.kind,
          ...(s.shape.entry ? { entry: s.shape.entry.replaceAll('{version}', s.version).replaceAll('{arch}', arch) } : {}),
          digestSource: 'github-asset-digest',
          pinned: false,
        },
      })),
    );
  }, 120_000);

  it('a release without GitHub digests is vouched for by its checksum file alone', async () => {
    const w = await workspace(s, { omitDigest: true });
    const step = await w.step();
    const roots = await digestRoots(step, {});
    expect([roots.amd64.source, roots.amd64.label, roots.arm64.evidence.length]).toEqual([
      'upstream-checksum-file',
      `the release's ${s.shape.checksums}`,
      1,
    ]);
    await fetchStep(step);
    expect(w.lines.join('\n')).toContain(`verified against the release's ${s.shape.checksums}`);
  }, 60_000);

  it('a checksum file that contradicts the GitHub digest, or does not list the asset, is refused before any download', async () => {
    const assets = releaseAssets({ version: s.version, shape: s.shape });
    const lying = `${'0'.repeat(64)}  ${assets[0]!.name}\n${sha256(assets[1]!.bytes)}  ${assets[1]!.name}\n`;
    const w = await workspace(s, { extraAssets: { [s.shape.checksums!]: Buffer.from(lying) } });
    const error = (await fetchStep(await w.step()).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(
      new RegExp(
        `^${assets[0]!.name.replaceAll('.', '\\.')} of v${s.version}: the release's asset digest at .* says sha256 [0-9a-f]{64}, but the release's ${s.shape.checksums} says 0{64}: refusing both$`,
      ),
    );
    const partial = await workspace(s, {
      extraAssets: { [s.shape.checksums!]: Buffer.from(`${sha256(assets[1]!.bytes)}  ${assets[1]!.name}\n`) },
    });
    await expect(fetchStep(await partial.step())).rejects.toThrow(
      `the release's checksum file ${s.shape.checksums} of v${s.version} does not list ${assets[0]!.name}`,
    );
    for (const h of [w.host, partial.host])
      expect(h.requests.filter((r) => /download\/[^/]+\/(docker-compose|node_exporter)/.test(r.path))).toEqual([]);
  }, 60_000);

  it("air-gapped: the release's assets and its own checksum file in a directory, no network; provenance names the file", async () => {
    const w = await workspace(s);
    const dir = path.join(w.ws, 'assets');
    await mkdir(dir);
    for (const a of releaseAssets({
      version: s.version,
      shape: s.shape,
      binaries: { amd64: binary('amd64', s.name), arm64: binary('arm64', s.name) },
    }))
      await writeFile(path.join(dir, a.name), a.bytes);
    const before = w.host.requests.length;
    await chain(await w.step(), { assetDir: dir });
    expect(w.host.requests.slice(before)).toEqual([]);
    const deps = (await w.statement()).predicate.buildDefinition.resolvedDependencies;
    expect(deps.map((d) => [d.uri, d.annotations.digestSource])).toEqual(deps.map((d) => [`file:${d.name}`, 'asset-dir-checksum-file']));
    expect(w.lines.join('\n')).toContain(
      `re-checked ${deps[0]!.name} (sha256 ${deps[0]!.digest.sha256}) against ${path.join(dir, s.shape.checksums!)}`,
    );
    // one wrong line in it: refused, naming the file
    const sums = path.join(dir, s.shape.checksums!);
    await writeFile(sums, (await readFile(sums, 'utf8')).replace(deps[1]!.digest.sha256, 'a'.repeat(64)));
    await rm(path.join(w.ws, 'dist/alloy'), { recursive: true, force: true });
    await expect(fetchStep(await w.step(), { assetDir: dir })).rejects.toThrow(`but ${sums} says ${'a'.repeat(64)}`);
  }, 120_000);
});
