// Who vouches for each upstream asset's sha256: the digest roots, chosen from this run's options and the recipe and
// checked in this run, never read from dist/ or a cache. Online: GitHub's asset digest and the release's own checksum
// file (fetched live), and the recipe pin. Air-gapped (an asset directory): the pin, a SHA256SUMS beside the assets and
// the release's checksum file beside them. Every source present must agree; the first is named in provenance.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseChecksumFile, type Arch } from '@alloy-sysext/common';
import { getReleaseByTag, releaseClient, type Release } from '@alloy-sysext/github';
import { downloadText, upstreamAsset, type UpstreamAsset } from '@alloy-sysext/sysext-image';
import type { StepContext } from './step.js';

/** The options of every step that touches upstream bytes (forwarded along the chain by `params: forward`). */
export interface UpstreamTrustOptions {
  /** Air-gapped runs: directory holding the release assets, with a checksum file beside them. */
  assetDir?: string;
  /** The same option under its first name (the assets were zips). */
  zipDir?: string;
  /** Accept assets nothing vouches for (no checksum file beside them, no pin). Logged loudly, never called verified. */
  allowUnverified?: boolean;
}

/**
 * What vouched for an asset's sha256. Names recorded in provenance (docs/build-type.md): `zip-dir-sha256sums` is a
 * SHA256SUMS beside the assets of an asset directory, whatever their kind.
 */
export type DigestSource =
  'github-asset-digest' | 'upstream-checksum-file' | 'recipe-pin' | 'zip-dir-sha256sums' | 'asset-dir-checksum-file' | 'unverified';

export const DIGEST_SOURCES: readonly DigestSource[] = [
  'github-asset-digest',
  'upstream-checksum-file',
  'recipe-pin',
  'zip-dir-sha256sums',
  'asset-dir-checksum-file',
  'unverified',
];

/** One source's word on an asset's sha256. */
export interface DigestEvidence {
  source: DigestSource;
  sha256: string;
  /** For messages: "the release's asset digest at https://…", "/assets/SHA256SUMS", … */
  label: string;
}

/** What one arch's asset must hash to, who says so, and where its bytes come from. */
export interface DigestRoot {
  asset: UpstreamAsset;
  /** Undefined only for `unverified`. */
  sha256?: string;
  /** The first (strongest) evidence's source, or `unverified`. */
  source: DigestSource;
  label: string;
  /** Every source that vouched, all agreeing. */
  evidence: DigestEvidence[];
  /** A recipe pin vouched too. */
  pinned: boolean;
  /** The release's download URL, or `file:<name>` for an asset directory. */
  uri: string;
  from: { url: string; size?: number } | { path: string };
}

/** The air-gapped directory's own checksum file, in sha256sum format. */
export const ASSET_DIR_SUMS = 'SHA256SUMS';
/** A checksum file is a few lines; anything larger is refused rather than read. */
const MAX_CHECKSUM_FILE_BYTES = 1024 * 1024;

export class UpstreamTrustError extends Error {
  override name = 'UpstreamTrustError';
}

/** The asset directory this run was given (--assetDir or its first name --zipDir), absolute; two different ones are an error. */
export function assetDirOption(options: UpstreamTrustOptions): string | undefined {
  const { assetDir, zipDir } = options;
  if (assetDir && zipDir && path.resolve(assetDir) !== path.resolve(zipDir)) {
    throw new UpstreamTrustError(`--assetDir ${assetDir} and --zipDir ${zipDir} differ: give the asset directory once`);
  }
  const dir = assetDir || zipDir;
  return dir ? path.resolve(dir) : undefined;
}

/** Each arch's asset of this version, as the recipe names it. */
export function upstreamAssets(ctx: Pick<StepContext, 'recipe' | 'version'>): UpstreamAsset[] {
  return ctx.recipe.arches.map((arch) => upstreamAsset(ctx.recipe.upstream, arch, ctx.version));
}

const pinLabel = (version: string, arch: Arch) => `the recipe pin upstream.sha256["${version}"].${arch}`;

/** The root of each arch's asset (see the module comment); refused when sources disagree or none vouches. */
export async function digestRoots(ctx: StepContext, options: UpstreamTrustOptions): Promise<Record<Arch, DigestRoot>> {
  const dir = assetDirOption(options);
  return dir ? directoryRoots(ctx, await assetDirectory(options, dir), Boolean(options.allowUnverified)) : releaseRoots(ctx);
}

/** The asset directory, checked to be one: a missing one is named as such, not as assets without a digest. */
async function assetDirectory(options: UpstreamTrustOptions, dir: string): Promise<string> {
  const typed = options.assetDir ? `--assetDir ${options.assetDir}` : `--zipDir ${options.zipDir}`;
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new UpstreamTrustError(`${typed}: the directory ${dir} does not exist`);
  if (!st.isDirectory()) throw new UpstreamTrustError(`${typed}: ${dir} is not a directory`);
  return dir;
}

/** Evidence → root: every sha256 must agree; the first source is the one named. */
function agreeing(asset: UpstreamAsset, version: string, evidence: DigestEvidence[]) {
  const differing = evidence.find((e) => e.sha256 !== evidence[0]!.sha256);
  if (differing) {
    throw new UpstreamTrustError(
      `${asset.name} of v${version}: ${evidence[0]!.label} says sha256 ${evidence[0]!.sha256}, but ${differing.label} says ` +
        `${differing.sha256}: refusing both`,
    );
  }
  const first = evidence[0]!;
  return {
    sha256: first.sha256,
    source: first.source,
    label: first.label,
    evidence,
    pinned: evidence.some((e) => e.source === 'recipe-pin'),
  };
}

async function releaseRoots(ctx: StepContext): Promise<Record<Arch, DigestRoot>> {
  const { recipe, version, env, log } = ctx;
  const { apiUrl, repo } = recipe.upstream;
  const pins = recipe.upstream.sha256?.[version] ?? {};
  const client = await releaseClient({ apiUrl, repo, token: env.GITHUB_TOKEN, env, log });
  const release = await getReleaseByTag(client, repo, `v${version}`);
  const checksumFiles = new Map<string, Promise<Map<string, string>>>();
  const roots = {} as Record<Arch, DigestRoot>;
  for (const asset of upstreamAssets(ctx)) {
    const published = releaseAsset(release, asset, version, repo);
    const evidence: DigestEvidence[] = [];
    if (published.digest) {
      const m = /^sha256:([0-9a-f]{64})$/.exec(published.digest);
      if (!m) throw new UpstreamTrustError(`asset ${asset.name} of v${version} has digest "${published.digest}": expected sha256:<64 hex>`);
      evidence.push({ source: 'github-asset-digest', sha256: m[1]!, label: `the release's asset digest at ${apiUrl}` });
    }
    if (asset.checksums) {
      const file = releaseAsset(release, { ...asset, name: asset.checksums }, version, repo);
      if (!checksumFiles.has(file.name)) {
        const where = `${file.name} of v${version} (${file.browser_download_url})`;
        const text = downloadText({ url: file.browser_download_url, maxBytes: MAX_CHECKSUM_FILE_BYTES, log });
        checksumFiles.set(
          file.name,
          text.then((t) => parseChecksumFile(t, where)),
        );
      }
      const listed = (await checksumFiles.get(file.name)!).get(asset.name);
      if (!listed) {
        throw new UpstreamTrustError(`the release's checksum file ${file.name} of v${version} does not list ${asset.name}`);
      }
      evidence.push({ source: 'upstream-checksum-file', sha256: listed, label: `the release's ${file.name}` });
    }
    const pin = pins[asset.arch];
    if (pin) evidence.push({ source: 'recipe-pin', sha256: pin, label: pinLabel(version, asset.arch) });
    if (evidence.length === 0) {
      throw new UpstreamTrustError(
        `${asset.name} of v${version} has no published sha256 digest at ${apiUrl}` +
          `${asset.checksums ? '' : ' and the recipe names no checksum file (upstream.checksums)'} and no pin: ` +
          `pin upstream.sha256["${version}"].${asset.arch} in ${recipe.file}`,
      );
    }
    const url = published.browser_download_url;
    roots[asset.arch] = { asset, ...agreeing(asset, version, evidence), uri: url, from: { url, size: published.size } };
  }
  return roots;
}

function releaseAsset(release: Release, asset: Pick<UpstreamAsset, 'name' | 'arch'>, version: string, repo: string) {
  const found = release.assets.find((a) => a.name === asset.name);
  if (!found) {
    const names = release.assets.map((a) => a.name).join(', ') || 'none';
    throw new UpstreamTrustError(`release v${version} of ${repo} has no asset "${asset.name}" for ${asset.arch} (assets: ${names})`);
  }
  return found;
}

async function directoryRoots(ctx: StepContext, dir: string, allowUnverified: boolean): Promise<Record<Arch, DigestRoot>> {
  const { recipe, version } = ctx;
  const pins = recipe.upstream.sha256?.[version] ?? {};
  const files = new Map<string, Map<string, string> | undefined>();
  const sumsIn = async (name: string) => {
    if (!files.has(name)) {
      const file = path.join(dir, name);
      const text = await readFile(file, 'utf8').catch(() => undefined);
      files.set(name, text === undefined ? undefined : parseChecksumFile(text, file));
    }
    return files.get(name);
  };
  const roots = {} as Record<Arch, DigestRoot>;
  for (const asset of upstreamAssets(ctx)) {
    const evidence: DigestEvidence[] = [];
    const pin = pins[asset.arch];
    if (pin) evidence.push({ source: 'recipe-pin', sha256: pin, label: pinLabel(version, asset.arch) });
    const sums = (await sumsIn(ASSET_DIR_SUMS))?.get(asset.name);
    if (sums) evidence.push({ source: 'zip-dir-sha256sums', sha256: sums, label: path.join(dir, ASSET_DIR_SUMS) });
    if (asset.checksums && asset.checksums !== ASSET_DIR_SUMS) {
      const listed = (await sumsIn(asset.checksums))?.get(asset.name);
      if (listed) evidence.push({ source: 'asset-dir-checksum-file', sha256: listed, label: path.join(dir, asset.checksums) });
    }
    const local = path.join(dir, asset.name);
    const where = { uri: `file:${asset.name}`, from: { path: local } };
    if (evidence.length) {
      roots[asset.arch] = { asset, ...agreeing(asset, version, evidence), ...where };
    } else if (allowUnverified) {
      const label = 'nothing (--allowUnverified)';
      roots[asset.arch] = { asset, source: 'unverified', label, evidence, pinned: false, ...where };
    } else {
      const besides = [ASSET_DIR_SUMS, asset.checksums].filter((n, i, all) => n && all.indexOf(n) === i).join(' or ');
      throw new UpstreamTrustError(
        `${local} has no digest to be verified against: put a ${besides} in sha256sum format listing ${asset.name} beside the ` +
          `assets (${path.join(dir, ASSET_DIR_SUMS)}), or pin upstream.sha256["${version}"].${asset.arch} in ${recipe.file}, ` +
          `or pass --allowUnverified to build from it anyway (the logs then say UNVERIFIED).`,
      );
    }
  }
  return roots;
}

/**
 * Where GitHub serves a release asset (`browser_download_url`): the API's origin without its `api.` host prefix
 * (https://api.github.com → https://github.com; GitHub Enterprise and loopback hosts serve both on one origin), then
 * `/<owner>/<name>/releases/download/v<version>/<asset>`. What verify expects when it cannot ask the API.
 */
export function releaseDownloadUrl(apiUrl: string, repo: string, version: string, asset: string): string {
  const url = new URL(apiUrl);
  const host = url.hostname.replace(/^api\./, '');
  return `${url.protocol}//${host}${url.port ? `:${url.port}` : ''}/${repo}/releases/download/v${encodeURIComponent(version)}/${encodeURIComponent(asset)}`;
}
