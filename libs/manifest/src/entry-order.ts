// The order of SHA256SUMS entries, by the parsed image name (the parser lives in @alloy-sysext/common).
import { parseImageName, parseStrictVersion } from '@alloy-sysext/common';
import type { SemVer } from 'semver';

/** Byte-wise (code unit) comparison: locale-independent, so the same set always serializes to the same bytes. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Precomputed sort key of one file name (parsing once per entry keeps sorting 10 000 entries cheap). */
export interface SortKey {
  file: string;
  stem: string;
  /** Its `.version` is the normalized one: no "v", no build metadata (e.g. "1.10.0-rc.1"). */
  version?: Readonly<SemVer>;
  /** The version as written in the name (e.g. with a leading "v"). */
  rawVersion?: string;
  arch?: string;
}

export function sortKey(file: string): SortKey {
  const p = parseImageName(file);
  if (!p) return { file, stem: file };
  return { file, stem: p.name, version: parseStrictVersion(p.version)!, rawVersion: p.version, arch: p.arch };
}

/**
 * Total order used by serialization:
 * 1. image name stem (the parsed name; for unparsed entries the whole file name), byte-wise;
 * 2. parsed entries by semver ascending (1.9.0 < 1.10.0; pre-releases before their release), unparsed ones have no
 *    version and come first among equal stems;
 * 3. no arch before arch, then arch byte-wise; 4. the full file name byte-wise (tie-break, e.g. "v1.0.0" vs "1.0.0").
 * Unparsed names thus sit where their full name sorts among the stems: deterministic, never dropped or rewritten.
 */
export function compareKeys(a: SortKey, b: SortKey): number {
  return (
    compareStrings(a.stem, b.stem) ||
    compareVersions(a.version, b.version) ||
    (a.arch === b.arch ? 0 : a.arch === undefined ? -1 : b.arch === undefined ? 1 : compareStrings(a.arch, b.arch)) ||
    compareStrings(a.file, b.file)
  );
}

/** semver order; parsed versions are shared per text, so equal ones are mostly the same object. No version first. */
function compareVersions(a: Readonly<SemVer> | undefined, b: Readonly<SemVer> | undefined): number {
  if (a === b) return 0;
  return a && b ? a.compare(b as SemVer) : a ? 1 : -1;
}

export function compareFiles(a: string, b: string): number {
  return compareKeys(sortKey(a), sortKey(b));
}
