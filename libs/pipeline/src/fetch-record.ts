// What `fetch` knows about each upstream zip (URL, sha256, what vouched for it), kept beside the zips for provenance.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256File, writeFileAtomic } from '@alloy-sysext/common';
import { restoreMissing, type BlobStore } from './blobs.js';
import { type DigestSource, type FetchedArch } from '@alloy-sysext/sysext-image';
import type { Arch } from './recipe.js';

/** File name of the record under dist/<name>/<version>/upstream/. */
export const FETCH_RECORD = 'fetched.json';

export interface FetchedZip {
  arch: Arch;
  /** The zip's file name under upstream/. */
  name: string;
  uri: string;
  sha256: string;
  digestSource: DigestSource;
  pinned: boolean;
}

export interface FetchRecord {
  version: string;
  zips: FetchedZip[];
}

const DIGEST_SOURCES: readonly DigestSource[] = ['github-asset-digest', 'zip-dir-sha256sums', 'recipe-pin', 'unverified'];

/**
 * Writes the record (deterministic: arch order, no times) atomically. `sources` overrides what fetchUpstream knew (the
 * step knows when a pin really came from a SHA256SUMS beside the zips).
 */
export async function writeFetchRecord(
  upstreamDir: string,
  version: string,
  fetched: Partial<Record<Arch, FetchedArch>>,
  sources: Partial<Record<Arch, DigestSource>> = {},
): Promise<void> {
  const zips: FetchedZip[] = Object.entries(fetched)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([arch, f]) => ({
      arch: arch as Arch,
      name: path.basename(f!.zip),
      uri: f!.uri,
      sha256: f!.zipSha256,
      digestSource: sources[arch as Arch] ?? f!.digestSource,
      pinned: f!.pinned,
    }));
  await writeFileAtomic(path.join(upstreamDir, FETCH_RECORD), `${JSON.stringify({ version, zips } satisfies FetchRecord, null, 2)}\n`);
}

/** The record as fetch left it, without checking it against the zips (verifyFetched compares it; it is never trusted). */
export async function readFetchRecordAsIs(upstreamDir: string): Promise<FetchRecord> {
  return JSON.parse(await readFile(path.join(upstreamDir, FETCH_RECORD), 'utf8')) as FetchRecord;
}

/**
 * Reads the record and re-hashes each zip it names: dist/ may come from a cache, so the record is only believed where the
 * bytes beside it still match it.
 */
export async function readFetchRecord(
  upstreamDir: string,
  version: string,
  arches: Arch[],
  /** Where a zip the record names comes from when a cache restored the record alone (blobs.ts). */
  blobs?: { blobs?: BlobStore; log: (line: string) => void },
): Promise<FetchRecord> {
  const file = path.join(upstreamDir, FETCH_RECORD);
  const text = await readFile(file, 'utf8').catch(() => {
    throw new Error(`${file} is missing: run the fetch target for ${version} again (it records what vouched for each upstream zip)`);
  });
  let record: FetchRecord;
  try {
    record = JSON.parse(text) as FetchRecord;
  } catch (error) {
    throw new Error(`${file} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (record?.version !== version || !Array.isArray(record.zips)) {
    throw new Error(`${file} does not describe version ${version} (got ${JSON.stringify(record?.version)})`);
  }
  for (const arch of arches) {
    const zip = record.zips.find((z) => z.arch === arch);
    if (!zip) throw new Error(`${file} has no zip for ${arch}`);
    if (
      !/^[0-9a-f]{64}$/.test(zip.sha256) ||
      !DIGEST_SOURCES.includes(zip.digestSource) ||
      typeof zip.uri !== 'string' ||
      path.basename(zip.name) !== zip.name
    ) {
      throw new Error(
        `${file}: the ${arch} entry is malformed (expected name, uri, 64-hex sha256, digestSource one of ${DIGEST_SOURCES.join(', ')})`,
      );
    }
    const restored = blobs ? await restoreMissing(blobs, path.join(upstreamDir, zip.name), zip.sha256) : false;
    const actual = restored
      ? zip.sha256
      : await sha256File(path.join(upstreamDir, zip.name)).catch((error: Error) => {
          throw new Error(`${path.join(upstreamDir, zip.name)} is missing: run the fetch target for ${version} again`, { cause: error });
        });
    if (actual !== zip.sha256) {
      throw new Error(
        `${path.join(upstreamDir, zip.name)} has sha256 ${actual} but ${file} records ${zip.sha256}: delete dist and fetch again`,
      );
    }
  }
  return { version, zips: record.zips.filter((z) => arches.includes(z.arch)) };
}
