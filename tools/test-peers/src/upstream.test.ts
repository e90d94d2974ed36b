import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import yauzl from 'yauzl';
import { COMPOSE_SHAPE, makeSyntheticBinary, makeZip, NODE_EXPORTER_SHAPE, startUpstreamHost, type UpstreamHost } from './upstream.js';

let host: UpstreamHost | undefined;
afterEach(async () => {
  await host?.stop();
  host = undefined;
});

const getJson = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, link: res.headers.get('link'), body: (await res.json()) as any };
};

function zipEntries(zip: Buffer): Promise<Array<{ name: string; mode: number; data: Buffer }>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, file) => {
      if (err) return reject(err);
      const out: Array<{ name: string; mode: number; data: Buffer }> = [];
      file.on('error', reject);
      file.on('end', () => resolve(out));
      file.on('entry', (entry: yauzl.Entry) => {
        file.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out.push({ name: entry.fileName, mode: entry.externalFileAttributes >>> 16, data: Buffer.concat(chunks) });
            file.readEntry();
          });
        });
      });
      file.readEntry();
    });
  });
}

describe('upstream release host', () => {
  it('lists releases newest first by semver, paginates with Link headers and hides drafts', async () => {
    host = await startUpstreamHost({
      releases: [{ version: '1.9.0' }, { version: '1.10.0' }, { version: '1.10.1', draft: true }, { version: '1.2.0' }],
    });
    const all = await getJson(`${host.apiUrl}/repos/grafana/alloy/releases`);
    expect(all.body.map((r: any) => r.tag_name)).toEqual(['v1.10.0', 'v1.9.0', 'v1.2.0']);
    const page1 = await getJson(`${host.apiUrl}/repos/grafana/alloy/releases?per_page=2&page=1`);
    expect(page1.body.map((r: any) => r.tag_name)).toEqual(['v1.10.0', 'v1.9.0']);
    expect(page1.link).toContain('page=2>; rel="next"');
    const page2 = await getJson(`${host.apiUrl}/repos/grafana/alloy/releases?per_page=2&page=2`);
    expect(page2.body.map((r: any) => r.tag_name)).toEqual(['v1.2.0']);
    expect(page2.link).toBeNull();
    expect((await getJson(`${host.apiUrl}/repos/grafana/alloy/releases/tags/v1.10.1`)).status).toBe(404);
  });

  it('excludes prereleases from latest but serves them by tag', async () => {
    host = await startUpstreamHost({ releases: [{ version: '1.4.0' }, { version: '1.5.0-rc.1', prerelease: true }] });
    const latest = await getJson(`${host.apiUrl}/repos/grafana/alloy/releases/latest`);
    expect(latest.body.tag_name).toBe('v1.4.0');
    const rc = await getJson(`${host.apiUrl}/repos/grafana/alloy/releases/tags/v1.5.0-rc.1`);
    expect(rc.body).toMatchObject({ tag_name: 'v1.5.0-rc.1', prerelease: true, draft: false });
    expect(rc.body.published_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await getJson(`${host.apiUrl}/repos/grafana/other/releases/latest`)).status).toBe(404);
  });

  it('serves zips whose digest and size match the bytes, holding the binary without the exec bit', async () => {
    const binary = makeSyntheticBinary('arm64', 5000);
    host = await startUpstreamHost({ releases: [{ version: '1.3.0', arches: ['arm64'], binaries: { arm64: binary } }] });
    const release = (await getJson(`${host.apiUrl}/repos/grafana/alloy/releases/tags/v1.3.0`)).body;
    expect(release.assets).toHaveLength(1);
    const asset = release.assets[0];
    expect(asset.name).toBe('alloy-linux-arm64.zip');
    expect(asset.browser_download_url).toBe(`${host.apiUrl}/grafana/alloy/releases/download/v1.3.0/alloy-linux-arm64.zip`);
    const zip = Buffer.from(await (await fetch(asset.browser_download_url)).arrayBuffer());
    expect(asset.digest).toBe(`sha256:${createHash('sha256').update(zip).digest('hex')}`);
    expect(asset.size).toBe(zip.length);
    const entries = await zipEntries(zip);
    expect(entries.map((e) => [e.name, e.mode.toString(8)])).toEqual([['alloy-linux-arm64', '100644']]);
    expect(entries[0]!.data.equals(binary)).toBe(true);
    expect(host.requests.at(-1)).toEqual({
      method: 'GET',
      path: '/grafana/alloy/releases/download/v1.3.0/alloy-linux-arm64.zip',
      status: 200,
    });
  });

  it('builds identical zips in two hosts and can omit digests', async () => {
    const digests = [];
    for (const omitDigest of [false, false, true]) {
      const h = await startUpstreamHost({ releases: [{ version: '2.0.0', omitDigest }] });
      const rel = (await getJson(`${h.apiUrl}/repos/grafana/alloy/releases/tags/v2.0.0`)).body;
      digests.push(rel.assets.map((a: any) => a.digest));
      await h.stop();
    }
    expect(digests[0]).toEqual(digests[1]);
    expect(digests[0][0]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(digests[2]).toEqual([undefined, undefined]);
  });

  it('injects status failures a given number of times and truncated bodies', async () => {
    host = await startUpstreamHost({ releases: [{ version: '1.0.0' }] });
    host.fail({ path: /\/tags\//, status: 503, times: 2 });
    const url = `${host.apiUrl}/repos/grafana/alloy/releases/tags/v1.0.0`;
    expect((await fetch(url)).status).toBe(503);
    expect((await fetch(url)).status).toBe(503);
    expect((await fetch(url)).status).toBe(200);
    host.fail({ path: /download/, truncate: true });
    const dl = `${host.apiUrl}/grafana/alloy/releases/download/v1.0.0/alloy-linux-amd64.zip`;
    await expect(fetch(dl).then((r) => r.arrayBuffer())).rejects.toThrow();
    expect((await fetch(dl).then((r) => r.arrayBuffer())).byteLength).toBeGreaterThan(0);
    expect(host.requests.map((r) => [r.status, r.truncated ?? false])).toEqual([
      [503, false],
      [503, false],
      [200, false],
      [200, true],
      [200, false],
    ]);
  });

  it('adds releases while running and serves custom zips as given', async () => {
    host = await startUpstreamHost({ releases: [] });
    expect((await getJson(`${host.apiUrl}/repos/grafana/alloy/releases/latest`)).status).toBe(404);
    const zip = makeZip([{ name: '../evil', data: Buffer.from('x') }]);
    host.addRelease({ version: '1.1.0', arches: ['amd64'], assets: { amd64: zip } });
    const rel = (await getJson(`${host.apiUrl}/repos/grafana/alloy/releases/latest`)).body;
    const served = Buffer.from(await (await fetch(rel.assets[0].browser_download_url)).arrayBuffer());
    expect(served.equals(zip)).toBe(true);
  });
});

describe('release shapes beyond one zip', () => {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const download = async (url: string) => Buffer.from(await (await fetch(url)).arrayBuffer());

  it('docker/compose-like: plain binaries in its arch names, and checksums.txt that sha256sum -c accepts', async () => {
    host = await startUpstreamHost({ repo: 'docker/compose', releases: [{ version: '2.29.1', shape: COMPOSE_SHAPE }] });
    const rel = (await getJson(`${host.apiUrl}/repos/docker/compose/releases/tags/v2.29.1`)).body;
    expect(rel.assets.map((a: any) => a.name)).toEqual(['docker-compose-linux-x86_64', 'docker-compose-linux-aarch64', 'checksums.txt']);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'compose-shape-'));
    try {
      for (const a of rel.assets) {
        const bytes = await download(a.browser_download_url);
        expect(`sha256:${sha(bytes)}`).toBe(a.digest);
        await writeFile(path.join(dir, a.name), bytes);
      }
      expect((await readFile(path.join(dir, 'docker-compose-linux-aarch64'))).equals(makeSyntheticBinary('arm64', 64 * 1024))).toBe(true);
      const check = await execa('sha256sum', ['-c', 'checksums.txt'], { cwd: dir });
      expect(check.stdout.split('\n').sort()).toEqual(['docker-compose-linux-aarch64: OK', 'docker-compose-linux-x86_64: OK']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('node_exporter-like: a .tar.gz that GNU tar reads, holding <dir>/node_exporter, and sha256sums.txt', async () => {
    host = await startUpstreamHost({ repo: 'prometheus/node_exporter', releases: [{ version: '1.8.2', shape: NODE_EXPORTER_SHAPE }] });
    const rel = (await getJson(`${host.apiUrl}/repos/prometheus/node_exporter/releases/tags/v1.8.2`)).body;
    const names = rel.assets.map((a: any) => a.name);
    expect(names).toEqual(['node_exporter-1.8.2.linux-amd64.tar.gz', 'node_exporter-1.8.2.linux-arm64.tar.gz', 'sha256sums.txt']);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'node-exporter-shape-'));
    try {
      for (const a of rel.assets) await writeFile(path.join(dir, a.name), await download(a.browser_download_url));
      expect((await execa('sha256sum', ['-c', 'sha256sums.txt'], { cwd: dir })).stdout).toContain('linux-amd64.tar.gz: OK');
      const listing = await execa('tar', ['-tvzf', names[0]], { cwd: dir });
      expect(listing.stdout).toMatch(/^-rwxr-xr-x .* node_exporter-1\.8\.2\.linux-amd64\/node_exporter$/m);
      await execa('tar', ['-xzf', names[0]], { cwd: dir });
      const binary = await readFile(path.join(dir, 'node_exporter-1.8.2.linux-amd64/node_exporter'));
      expect(binary.equals(makeSyntheticBinary('amd64', 64 * 1024))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('makeSyntheticBinary', () => {
  it('is deterministic, an ELF64 for the right machine, and compressible but not trivially', () => {
    const a = makeSyntheticBinary('amd64', 256 * 1024);
    expect(a.equals(makeSyntheticBinary('amd64', 256 * 1024))).toBe(true);
    expect(a.subarray(0, 6).toString('latin1')).toBe('\x7fELF\x02\x01');
    expect(a.readUInt16LE(18)).toBe(62);
    expect(makeSyntheticBinary('arm64', 100).readUInt16LE(18)).toBe(183);
    const ratio = deflateSync(a).length / a.length;
    expect(ratio).toBeGreaterThan(0.2);
    expect(ratio).toBeLessThan(0.6);
  });
});
