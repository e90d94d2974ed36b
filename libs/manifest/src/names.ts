// Ordering of SHA256SUMS entries by the parsed image name (the parser itself lives in @alloy-sysext/common).
import semver from 'semver';
import { parseImageName } from '@alloy-sysext/common';

/** Byte-wise (code unit) comparison: locale-independent, so the same set always serializes to the same bytes. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Precomputed sort key of one file name (parsing once per entry keeps sorting 10 000 entries cheap). */
export interface SortKey {
  file: string;
  stem: string;
  version?: semver.SemVer;
  /** The version as written in the name (e.g. with a leading "v"). */
  rawVersion?: string;
  arch?: string;
}

export function sortKey(file: string): SortKey {
  const p = parseImageName(file);
  return p ? { file, stem: p.name, version: new semver.SemVer(p.version), rawVersion: p.version, arch: p.arch } : { file, stem: file };
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
    (a.version && b.version ? a.version.compare(b.version) : a.version ? 1 : b.version ? -1 : 0) ||
    (a.arch === b.arch ? 0 : a.arch === undefined ? -1 : b.arch === undefined ? 1 : compareStrings(a.arch, b.arch)) ||
    compareStrings(a.file, b.file)
  );
}

export function compareFiles(a: string, b: string): number {
  return compareKeys(sortKey(a), sortKey(b));
}
