// Fetch each arch's upstream asset (download it, or copy it from an asset directory), keep it only if it hashes to
// what its digest root says, and extract its binary. Which root vouches is the caller's decision (libs/pipeline
// upstream-trust.ts); this module only enforces it.
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File, tempPathFor, type Arch } from '@alloy-sysext/common';
import { download, type Progress } from './download.js';
import type { RetryOptions } from './retry.js';
import { extractUpstreamBinary } from './upstream-binary.js';
import { binaryFileName, type UpstreamAsset } from './upstream-asset.js';

/** One arch's asset to fetch: what it is, what it must hash to, and where its bytes are. */
export interface AssetToFetch {
  asset: UpstreamAsset;
  /** The sha256 its digest root gives; undefined only when nothing vouches for it (--allowUnverified). */
  sha256?: string;
  /** For logs: who gives that sha256, e.g. "the release's asset digest". */
  vouchedBy?: string;
  /** A download URL (with the size the release announces) or a local file. */
  from: { url: string; size?: number } | { path: string };
}

export interface FetchUpstreamOptions {
  assets: AssetToFetch[];
  /** dist/<name>/<version>/upstream: the assets. */
  outDir: string;
  /** Where `<arch>/<binary>` is extracted: the pipeline keeps binaries out of the cached outputs. */
  binariesDir: string;
  maxBinaryBytes: number;
  retry?: RetryOptions;
  log?: (line: string) => void;
  onProgress?: (p: Progress & { arch: Arch; asset: string }) => void;
}

export interface FetchedAsset {
  /** The asset under outDir. */
  file: string;
  sha256: string;
  binary: string;
  /** sha256 of the extracted binary, hashed as it was written. */
  binarySha256: string;
}

/**
 * Fetches and checks each asset, then extracts its binary. Outputs: `<outDir>/<asset>` and
 * `<binariesDir>/<arch>/<binary>`, each appearing under its final name only once checked.
 */
export async function fetchUpstream(opts: FetchUpstreamOptions): Promise<Partial<Record<Arch, FetchedAsset>>> {
  if (opts.assets.length === 0) throw new Error('fetchUpstream: no assets; expected one per arch');
  if (!Number.isSafeInteger(opts.maxBinaryBytes) || opts.maxBinaryBytes <= 0) {
    throw new Error(`upstream.maxBinaryBytes ${opts.maxBinaryBytes} must be a positive integer`);
  }
  await mkdir(opts.outDir, { recursive: true });
  const result: Partial<Record<Arch, FetchedAsset>> = {};
  for (const wanted of opts.assets) {
    const { asset } = wanted;
    const file = join(opts.outDir, asset.name);
    const sha256 =
      'url' in wanted.from ? await downloadAsset(wanted, wanted.from, file, opts) : await copyAsset(wanted, wanted.from, file, opts.log);
    const binary = join(opts.binariesDir, asset.arch, binaryFileName(asset));
    const { sha256: binarySha256 } = await extractUpstreamBinary({ file, asset, dest: binary, maxBytes: opts.maxBinaryBytes });
    const inside = asset.kind === 'binary' ? 'it is the binary' : `extracted ${asset.entry}`;
    opts.log?.(
      wanted.sha256
        ? `${asset.arch}: ${asset.name} sha256 ${sha256} verified against ${wanted.vouchedBy ?? 'its digest'}; ${inside}`
        : `${asset.arch}: ${asset.name} sha256 ${sha256} UNVERIFIED (checked against no digest); ${inside}`,
    );
    result[asset.arch] = { file, sha256, binary, binarySha256 };
  }
  return result;
}

async function downloadAsset(
  wanted: AssetToFetch,
  from: { url: string; size?: number },
  file: string,
  opts: FetchUpstreamOptions,
): Promise<string> {
  const { asset, sha256: expected } = wanted;
  if (!expected) throw new Error(`${asset.name}: a download needs a digest to be checked against`);
  if ((await stat(file).catch(() => undefined))?.isFile() && (await sha256File(file)) === expected) {
    opts.log?.(`${asset.arch}: ${asset.name} already downloaded and verified`);
    return expected;
  }
  const temp = tempPathFor(file);
  try {
    opts.log?.(`${asset.arch}: downloading ${from.url}${from.size === undefined ? '' : ` (${from.size} bytes)`}`);
    const { sha256 } = await download({
      url: from.url,
      dest: temp,
      expectedSize: Number.isSafeInteger(from.size) ? from.size : undefined,
      retry: opts.retry,
      log: opts.log,
      onProgress: opts.onProgress && ((p) => opts.onProgress!({ ...p, arch: asset.arch, asset: asset.name })),
    });
    if (sha256 !== expected) {
      throw new Error(
        `asset ${asset.name} for ${asset.arch}: downloaded sha256 ${sha256} does not match expected ${expected}; nothing was kept`,
      );
    }
    await rename(temp, file);
    return sha256;
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Copies a local asset, then hashes the copy (the bytes kept are the bytes checked). */
async function copyAsset(wanted: AssetToFetch, from: { path: string }, file: string, log?: (line: string) => void): Promise<string> {
  const temp = tempPathFor(file);
  try {
    log?.(`${wanted.asset.arch}: taking ${from.path} (no download)`);
    await copyFile(from.path, temp).catch((err: Error) => {
      throw new Error(`local asset ${from.path} cannot be read (${err.message})`);
    });
    const actual = await sha256File(temp);
    if (wanted.sha256 && actual !== wanted.sha256) {
      throw new Error(`local asset ${from.path} has sha256 ${actual}, but ${wanted.vouchedBy ?? 'its digest'} says ${wanted.sha256}`);
    }
    await rename(temp, file);
    return actual;
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
