// Fetch each arch's upstream release zip, verify it against the published digest (or a pin), and extract its binary.
import { parseArch, type Arch, tempPathFor, sha256File, normalizeVersion } from '@alloy-sysext/common';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { download, type Progress } from './download.js';
import { assertElfFor } from './elf.js';
import { extractBinary } from './extract.js';
import { getRelease, type ReleaseAsset } from './release.js';
import type { RetryOptions } from './retry.js';

export interface UpstreamOptions {
  /** owner/name of the GitHub repository, e.g. grafana/alloy. */
  repo: string;
  /** GitHub API base URL, e.g. https://api.github.com. */
  apiUrl: string;
  /** Asset name pattern, `{arch}` replaced: alloy-linux-{arch}.zip. */
  asset: string;
  /** Binary name inside the zip, `{arch}` replaced: alloy-linux-{arch}. */
  binary: string;
  maxBinaryBytes: number;
}

export interface FetchUpstreamOptions {
  version: string;
  /** Accept a prerelease version such as 1.11.0-rc.1 (default false). */
  allowPrerelease?: boolean;
  arches: Arch[];
  upstream: UpstreamOptions;
  /** dist/alloy/<version>/upstream: the zips. */
  outDir: string;
  /** Where `<arch>/<binary>` is extracted (default outDir): the pipeline keeps binaries out of the cached outputs. */
  binariesDir?: string;
  token?: string;
  /** Air-gapped runs: use these zips instead of the network (verified against pinnedSha256 when given). */
  localZips?: Partial<Record<Arch, string>>;
  /** sha256 hex per arch from the recipe; must match, and then the API digest must match too when present. */
  pinnedSha256?: Partial<Record<Arch, string>>;
  /**
   * Local zips: where each pinnedSha256 value comes from, for messages and the record (default: the recipe pin). A
   * SHA256SUMS beside the zips is no pin: its lines are named as such.
   */
  pinOrigin?: Partial<Record<Arch, DigestOrigin>>;
  retry?: RetryOptions;
  log?: (line: string) => void;
  onProgress?: (p: Progress & { arch: Arch; asset: string }) => void;
}

export interface FetchedArch {
  zip: string;
  zipSha256: string;
  binary: string;
  /** sha256 of the extracted binary, hashed as it was inflated. */
  binarySha256: string;
  /** Where the zip came from: the asset's download URL, or `file:<name>` for a local zip. */
  uri: string;
  /** What the sha256 was checked against (recorded in provenance). */
  digestSource: DigestSource;
  /** A recipe pin matched too. */
  pinned: boolean;
}

/**
 * What vouched for an upstream zip's sha256, strongest first: GitHub's asset digest fetched live, a `SHA256SUMS` in
 * sha256sum format beside local zips, a recipe pin, or nothing (a local zip without a pin).
 */
export type DigestSource = 'github-asset-digest' | 'zip-dir-sha256sums' | 'recipe-pin' | 'unverified';

/** Who vouches for an expected sha256, and how messages name it ("/zips/SHA256SUMS", "the recipe pin …"). */
export interface DigestOrigin {
  source: DigestSource;
  label: string;
}

const RECIPE_PIN: DigestOrigin = { source: 'recipe-pin', label: 'the recipe pin' };

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Fetch and verify the upstream zip of each arch, then extract its binary. Outputs: `<outDir>/<asset>` and
 * `<binariesDir>/<arch>/<binary>`, each appearing under its final name only once verified.
 */
export async function fetchUpstream(opts: FetchUpstreamOptions): Promise<Record<Arch, FetchedArch>> {
  const version = normalizeVersion(opts.version, { allowPrerelease: opts.allowPrerelease });
  const arches = opts.arches.map(parseArch);
  if (arches.length === 0) throw new Error('fetchUpstream: arches is empty; expected at least one of amd64, arm64');
  for (const [arch, pin] of Object.entries(opts.pinnedSha256 ?? {})) {
    if (pin !== undefined && !HEX64.test(pin)) throw new Error(`pinned sha256 for ${arch} "${pin}" is not 64 lowercase hex characters`);
  }
  const { upstream, log } = opts;
  if (!Number.isSafeInteger(upstream.maxBinaryBytes) || upstream.maxBinaryBytes <= 0) {
    throw new Error(`upstream.maxBinaryBytes ${upstream.maxBinaryBytes} must be a positive integer`);
  }
  const needsApi = arches.some((a) => !opts.localZips?.[a]);
  const release = needsApi
    ? await getRelease({ apiUrl: upstream.apiUrl, repo: upstream.repo, version, token: opts.token, retry: opts.retry, log })
    : undefined;
  await mkdir(opts.outDir, { recursive: true });

  const result = {} as Record<Arch, FetchedArch>;
  for (const arch of arches) {
    const assetName = fileName(upstream.asset, arch, 'upstream.asset');
    const binaryName = fileName(upstream.binary, arch, 'upstream.binary');
    const zip = join(opts.outDir, assetName);
    const pinned = opts.pinnedSha256?.[arch];
    const origin = (pinned && opts.pinOrigin?.[arch]) || RECIPE_PIN;
    let zipSha256: string;
    let uri = `file:${assetName}`;
    let digestSource: DigestSource = pinned ? origin.source : 'unverified';
    const local = opts.localZips?.[arch];
    if (local) {
      zipSha256 = await placeLocalZip(local, zip, pinned ? { sha256: pinned, ...origin } : undefined, log);
    } else {
      const asset = release!.assets.find((a) => a.name === assetName);
      if (!asset) {
        const names = release!.assets.map((a) => a.name).join(', ') || 'none';
        throw new Error(`release v${version} of ${upstream.repo} has no asset "${assetName}" for ${arch} (assets: ${names})`);
      }
      const expected = expectedDigest(asset, pinned, version);
      zipSha256 = await fetchAsset(asset, zip, expected, arch, opts);
      uri = asset.browser_download_url;
      if (asset.digest) digestSource = 'github-asset-digest';
    }
    const binary = join(opts.binariesDir ?? opts.outDir, arch, binaryName);
    const { sha256: binarySha256 } = await extractUpstreamBinary({
      zip,
      binary: binaryName,
      dest: binary,
      arch,
      maxBytes: upstream.maxBinaryBytes,
    });
    // A local zip without a pin was not checked against anything: say so once (placeLocalZip warned), never "verified".
    const against =
      digestSource === 'github-asset-digest'
        ? "matches the release's asset digest"
        : digestSource === 'unverified'
          ? 'checked against NO digest'
          : `matches ${origin.label}`;
    log?.(
      `${arch}: ${assetName} sha256 ${zipSha256} ${digestSource === 'unverified' ? 'unverified' : 'verified'}, extracted ${binaryName} (${against})`,
    );
    result[arch] = { zip, zipSha256, binary, binarySha256, uri, digestSource, pinned: pinned !== undefined };
  }
  return result;
}

/**
 * Extracts `binary` from a verified `zip` to `dest` (its directory created), hashed as it is inflated. It appears under
 * its final name only once whole and an ELF executable for `arch`: what `image` would refuse is never kept as fetched.
 */
export async function extractUpstreamBinary(opts: {
  zip: string;
  binary: string;
  dest: string;
  arch: Arch;
  maxBytes: number;
}): Promise<{ sha256: string }> {
  await mkdir(dirname(opts.dest), { recursive: true });
  const temp = tempPathFor(opts.dest);
  try {
    const extracted = await extractBinary({ zip: opts.zip, binary: opts.binary, dest: temp, maxBytes: opts.maxBytes });
    await assertElfFor(temp, opts.arch, `${opts.binary} in ${basename(opts.zip)}`);
    await rename(temp, opts.dest);
    return extracted;
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

function fileName(pattern: string, arch: Arch, field: string): string {
  const name = pattern.replaceAll('{arch}', arch);
  if (!/^[\w.+-]+$/.test(name) || name === '.' || name === '..') {
    throw new Error(`${field} "${pattern}" gives "${name}" for ${arch}: expected a plain file name`);
  }
  return name;
}

function expectedDigest(asset: ReleaseAsset, pinned: string | undefined, version: string): string {
  const published = asset.digest ?? undefined;
  if (published !== undefined) {
    const m = /^sha256:([0-9a-f]{64})$/.exec(published);
    if (!m) throw new Error(`asset ${asset.name} of v${version} has digest "${published}": expected sha256:<64 hex>`);
    if (pinned && pinned !== m[1]) {
      throw new Error(`asset ${asset.name} of v${version}: published digest sha256:${m[1]} differs from the pinned sha256 ${pinned}`);
    }
    return m[1]!;
  }
  if (pinned) return pinned;
  throw new Error(
    `asset ${asset.name} of v${version} has no published digest and no sha256 is pinned: refusing to use an unverified download (pin the sha256 in the recipe)`,
  );
}

async function fetchAsset(asset: ReleaseAsset, zip: string, expected: string, arch: Arch, opts: FetchUpstreamOptions): Promise<string> {
  if ((await stat(zip).catch(() => undefined))?.isFile() && (await sha256File(zip)) === expected) {
    opts.log?.(`${arch}: ${asset.name} already downloaded and verified`);
    return expected;
  }
  const temp = tempPathFor(zip);
  try {
    opts.log?.(`${arch}: downloading ${asset.browser_download_url} (${asset.size} bytes)`);
    const { sha256 } = await download({
      url: asset.browser_download_url,
      dest: temp,
      expectedSize: Number.isSafeInteger(asset.size) ? asset.size : undefined,
      retry: opts.retry,
      log: opts.log,
      onProgress: opts.onProgress && ((p) => opts.onProgress!({ ...p, arch, asset: asset.name })),
    });
    if (sha256 !== expected) {
      throw new Error(`asset ${asset.name} for ${arch}: downloaded sha256 ${sha256} does not match expected ${expected}; nothing was kept`);
    }
    await rename(temp, zip);
    return sha256;
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

async function placeLocalZip(
  local: string,
  zip: string,
  expected: (DigestOrigin & { sha256: string }) | undefined,
  log?: (line: string) => void,
): Promise<string> {
  const actual = await sha256File(local).catch((err: Error) => {
    throw new Error(`local zip ${local} cannot be read (${err.message})`);
  });
  if (expected && actual !== expected.sha256) {
    throw new Error(`local zip ${local} has sha256 ${actual}, but ${expected.label} says ${expected.sha256}`);
  }
  if (!expected) log?.(`warning: local zip ${local} is checked against no digest (sha256 ${actual})`);
  else log?.(`taking ${local} (no download)`);
  const temp = tempPathFor(zip);
  try {
    await copyFile(local, temp);
    await rename(temp, zip);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  return actual;
}
