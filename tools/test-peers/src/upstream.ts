import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import semver from 'semver';
import { makeSyntheticBinary, type Arch } from './upstream-binary.js';
import { makeTarGz } from './upstream-tar.js';
import { makeZip } from './upstream-zip.js';
import { listenOnLoopback } from './listen.js';

export { makeSyntheticBinary, type Arch } from './upstream-binary.js';
export { makeTarGz, type TarEntry } from './upstream-tar.js';
export { makeZip, type ZipEntry } from './upstream-zip.js';

/**
 * How a project ships its binaries: the asset kind, names (`{arch}` in the project's own arch names, `{version}`), the
 * binary's path inside an archive, and a checksum file in sha256sum format (`{asset}` for one file per asset).
 */
export interface AssetShape {
  kind: 'zip' | 'tar.gz' | 'binary';
  asset: string;
  entry?: string;
  archNames?: Partial<Record<Arch, string>>;
  checksums?: string;
}

const DEFAULT_BINARY_BYTES = 64 * 1024;

/** Grafana Alloy: alloy-linux-amd64.zip holding alloy-linux-amd64, no checksum file (GitHub's asset digest only). */
export const ALLOY_SHAPE: AssetShape = { kind: 'zip', asset: 'alloy-linux-{arch}.zip', entry: 'alloy-linux-{arch}' };
/** docker/compose: the plain binary docker-compose-linux-x86_64, and checksums.txt (`<hex> *<name>` lines). */
export const COMPOSE_SHAPE: AssetShape = {
  kind: 'binary',
  asset: 'docker-compose-linux-{arch}',
  archNames: { amd64: 'x86_64', arm64: 'aarch64' },
  checksums: 'checksums.txt',
};
/** prometheus/node_exporter: node_exporter-<v>.linux-amd64.tar.gz holding <that name>/node_exporter, and sha256sums.txt. */
export const NODE_EXPORTER_SHAPE: AssetShape = {
  kind: 'tar.gz',
  asset: 'node_exporter-{version}.linux-{arch}.tar.gz',
  entry: 'node_exporter-{version}.linux-{arch}/node_exporter',
  checksums: 'sha256sums.txt',
};

/** A release the host serves, in `shape` (default ALLOY_SHAPE), built from `binaries` unless `assets` is given. */
export interface UpstreamRelease {
  version: string;
  prerelease?: boolean;
  draft?: boolean;
  arches?: Arch[];
  shape?: AssetShape;
  binaries?: Partial<Record<Arch, Buffer>>;
  /** Serve these exact asset bytes (for malformed or malicious archives); the digest is computed from them. */
  assets?: Partial<Record<Arch, Buffer>>;
  /** Serve these files as well, or instead of the generated checksum file of that name (e.g. one with a wrong line). */
  extraAssets?: Record<string, Buffer>;
  omitDigest?: boolean;
  body?: string;
}

/** The names and bytes of a release in `shape`: one asset per arch, then its checksum file(s). */
export function releaseAssets(release: UpstreamRelease): Array<{ name: string; bytes: Buffer }> {
  const shape = release.shape ?? ALLOY_SHAPE;
  const arches = release.arches ?? ['amd64', 'arm64'];
  const fill = (pattern: string, arch: Arch) =>
    pattern.replaceAll('{arch}', shape.archNames?.[arch] ?? arch).replaceAll('{version}', release.version);
  const assets = arches.map((arch) => {
    const name = fill(shape.asset, arch);
    const binary = release.binaries?.[arch] ?? makeSyntheticBinary(arch, DEFAULT_BINARY_BYTES);
    const entry = shape.entry ? fill(shape.entry, arch) : name;
    const bytes =
      release.assets?.[arch] ??
      (shape.kind === 'binary'
        ? binary
        : shape.kind === 'zip'
          ? makeZip([{ name: entry, data: binary, mode: 0o100644 }])
          : makeTarGz([
              { name: `${entry.split('/').slice(0, -1).join('/')}/`, type: 'dir' },
              { name: entry, data: binary, mode: 0o755 },
              { name: `${entry.split('/').slice(0, -1).join('/')}/LICENSE`, data: Buffer.from('Apache License 2.0\n') },
            ]));
    return { name, bytes };
  });
  const sums = new Map<string, string>();
  const line = (a: { name: string; bytes: Buffer }) =>
    `${createHash('sha256').update(a.bytes).digest('hex')} ${shape.kind === 'binary' ? '*' : ' '}${a.name}\n`;
  if (shape.checksums?.includes('{asset}')) {
    for (const a of assets) sums.set(shape.checksums.replaceAll('{asset}', a.name), line(a));
  } else if (shape.checksums) {
    sums.set(shape.checksums, assets.map(line).join(''));
  }
  const extra = { ...Object.fromEntries([...sums].map(([n, t]) => [n, Buffer.from(t)])), ...release.extraAssets };
  return [...assets, ...Object.entries(extra).map(([name, bytes]) => ({ name, bytes }))];
}

export interface UpstreamRequest {
  method: string;
  path: string;
  status: number;
  truncated?: boolean;
}

export interface UpstreamFault {
  path?: RegExp;
  status?: number;
  times?: number;
  /** Announce the full Content-Length, send half the body, then reset the connection. */
  truncate?: boolean;
}

export interface UpstreamHost {
  apiUrl: string;
  requests: UpstreamRequest[];
  addRelease(release: UpstreamRelease): void;
  fail(fault: UpstreamFault): void;
  stop(): Promise<void>;
}

interface Stored {
  release: UpstreamRelease;
  id: number;
  assets: Array<{ id: number; name: string; bytes: Buffer; digest: string }>;
  publishedAt: string;
}

/**
 * A loopback stand-in for GitHub's release API and download host for one repository, shaped like the real responses
 * (`digest: "sha256:…"` on assets, downloads at /{owner}/{repo}/releases/download/{tag}/{asset}).
 */
export async function startUpstreamHost(opts: { repo?: string; releases: UpstreamRelease[] }): Promise<UpstreamHost> {
  const repo = opts.repo ?? 'grafana/alloy';
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new Error(`startUpstreamHost: repo "${repo}" is not owner/name`);
  const stored: Stored[] = [];
  const faults: Array<Required<Pick<UpstreamFault, 'times'>> & UpstreamFault> = [];
  const requests: UpstreamRequest[] = [];
  let nextId = 1000;
  let base = '';

  const addRelease = (release: UpstreamRelease): void => {
    if (!semver.valid(release.version)) throw new Error(`addRelease: version "${release.version}" is not semver`);
    const assets = releaseAssets(release).map(({ name, bytes }) => {
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      return { id: nextId++, name, bytes, digest };
    });
    const publishedAt = new Date(Date.UTC(2024, 0, 1) + stored.length * 86_400_000).toISOString().replace('.000', '');
    stored.push({ release, id: nextId++, assets, publishedAt });
  };
  opts.releases.forEach(addRelease);

  const visible = (): Stored[] =>
    stored.filter((s) => !s.release.draft).sort((a, b) => semver.rcompare(a.release.version, b.release.version));

  const toJson = (s: Stored) => {
    const tag = `v${s.release.version}`;
    return {
      url: `${base}/repos/${repo}/releases/${s.id}`,
      html_url: `${base}/${repo}/releases/tag/${tag}`,
      id: s.id,
      tag_name: tag,
      name: tag,
      draft: Boolean(s.release.draft),
      prerelease: Boolean(s.release.prerelease),
      created_at: s.publishedAt,
      published_at: s.publishedAt,
      body: s.release.body ?? `Release ${tag}`,
      assets: s.assets.map((a) => ({
        url: `${base}/repos/${repo}/releases/assets/${a.id}`,
        id: a.id,
        name: a.name,
        content_type: a.name.endsWith('.zip') ? 'application/zip' : 'application/octet-stream',
        state: 'uploaded',
        size: a.bytes.length,
        ...(s.release.omitDigest ? {} : { digest: a.digest }),
        browser_download_url: `${base}/${repo}/releases/download/${tag}/${a.name}`,
      })),
    };
  };

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const bytes = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': bytes.length, ...headers });
    res.end(bytes);
    return status;
  };
  const notFound = (res: ServerResponse) =>
    json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });

  const route = (req: IncomingMessage, res: ServerResponse, url: URL, truncate: boolean): number => {
    const p = url.pathname;
    const api = `/repos/${repo}/releases`;
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { message: 'Method Not Allowed' });
    if (p === api) {
      const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 30) || 30, 1), 100);
      const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1);
      const all = visible();
      const last = Math.max(Math.ceil(all.length / perPage), 1);
      const links = [];
      if (page < last) links.push(`<${base}${api}?per_page=${perPage}&page=${page + 1}>; rel="next"`);
      if (page < last) links.push(`<${base}${api}?per_page=${perPage}&page=${last}>; rel="last"`);
      const slice = all.slice((page - 1) * perPage, page * perPage).map(toJson);
      return json(res, 200, slice, links.length ? { link: links.join(', ') } : {});
    }
    if (p === `${api}/latest`) {
      const latest = visible().find((s) => !s.release.prerelease);
      return latest ? json(res, 200, toJson(latest)) : notFound(res);
    }
    if (p.startsWith(`${api}/tags/`)) {
      const tag = decodeURIComponent(p.slice(`${api}/tags/`.length));
      const found = visible().find((s) => `v${s.release.version}` === tag);
      return found ? json(res, 200, toJson(found)) : notFound(res);
    }
    const download = p.match(new RegExp(`^/${repo}/releases/download/([^/]+)/([^/]+)$`));
    if (download) {
      const found = visible().find((s) => `v${s.release.version}` === decodeURIComponent(download[1]!));
      const asset = found?.assets.find((a) => a.name === decodeURIComponent(download[2]!));
      if (!asset) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
        return 404;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': asset.bytes.length });
      if (truncate) {
        res.write(asset.bytes.subarray(0, Math.floor(asset.bytes.length / 2)), () => res.destroy());
      } else {
        res.end(req.method === 'HEAD' ? undefined : asset.bytes);
      }
      return 200;
    }
    return notFound(res);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    const fault = faults.find((f) => f.times > 0 && (!f.path || f.path.test(url.pathname)));
    if (fault) fault.times--;
    if (fault && !fault.truncate) {
      const status = fault.status ?? 500;
      requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, status });
      json(res, status, { message: `injected failure ${status}` });
      return;
    }
    const truncate = Boolean(fault?.truncate);
    const status = route(req, res, url, truncate);
    requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, status, ...(truncate ? { truncated: true } : {}) });
  });
  base = `http://127.0.0.1:${await listenOnLoopback(server)}`;

  return {
    apiUrl: base,
    requests,
    addRelease,
    fail(fault) {
      faults.push({ ...fault, times: fault.times ?? 1 });
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
