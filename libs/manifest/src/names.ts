// How a file name in SHA256SUMS is read as (name, version, arch). Used only for ordering and for selecting one image's
// versions; a name that does not parse is still a valid entry and is kept byte for byte.
//
//   <name>-<version>[-<arch>]<suffix>
//
// - suffix: ".raw" or ".img" (what sysupdate transfers publish). Anything else does not parse.
// - The name ends at the FIRST "-" that is followed by a digit (or "v" and a digit) and after which the rest reads as
//   version[-arch]; so names may contain dashes ("docker-compose") but no "-<digit>" before the version.
// - arch: one of KNOWN_ARCHES, matched at the end, longest first ("x86-64" before "64"). Because semver pre-releases
//   may contain dashes, an arch suffix wins: "1.0.0-amd64" is version 1.0.0 for amd64, never pre-release "amd64".
//   No arch (e.g. the amd64 compatibility copy "alloy-1.2.3.raw") sorts before any arch of the same version.
// - version: semver (strict, as `semver.valid` with an optional leading "v", build metadata allowed).
import semver from 'semver';

export const KNOWN_ARCHES = ['amd64', 'arm64', 'x86-64', 'arm', 'ia32', 'x86', 'riscv64', 'loongarch64', 's390x', 'ppc64-le'] as const;
const ARCHES_LONGEST_FIRST = [...KNOWN_ARCHES].sort((a, b) => b.length - a.length);
const SUFFIXES = ['.raw', '.img'] as const;

export interface ParsedName {
  name: string;
  /** As written in the file name (may carry a leading "v"). */
  version: string;
  arch?: string;
  suffix: string;
}

export function parseImageName(file: string): ParsedName | undefined {
  const suffix = SUFFIXES.find((s) => file.endsWith(s));
  if (!suffix) return undefined;
  const base = file.slice(0, -suffix.length);
  for (let i = base.indexOf('-'); i > 0; i = base.indexOf('-', i + 1)) {
    if (!/^v?\d/.test(base.slice(i + 1))) continue;
    const name = base.slice(0, i);
    const rest = base.slice(i + 1);
    const arch = ARCHES_LONGEST_FIRST.find((a) => rest.endsWith(`-${a}`) && isVersion(rest.slice(0, -a.length - 1)));
    if (arch) return { name, version: rest.slice(0, -arch.length - 1), arch, suffix };
    if (isVersion(rest)) return { name, version: rest, suffix };
  }
  return undefined;
}

// semver.org's reference pattern (same grammar as `semver.valid` without loose mode), plus an optional "v". A regex
// instead of semver.valid halves parse time on large manifests; numbers are capped at 15 digits so that
// `new SemVer` (which rejects unsafe integers) accepts everything this accepts.
const NUM = '(?:0|[1-9]\\d{0,14})';
const PRE_ID = '(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)';
const SEMVER = new RegExp(`^v?${NUM}\\.${NUM}\\.${NUM}(?:-${PRE_ID}(?:\\.${PRE_ID})*)?(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?$`);

function isVersion(v: string): boolean {
  return SEMVER.test(v);
}

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
