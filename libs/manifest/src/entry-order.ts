// Ordering of SHA256SUMS entries by the parsed image name (the parser itself lives in @alloy-sysext/common).
import { KNOWN_ARCHES, parseImageName } from '@alloy-sysext/common';

/** Byte-wise (code unit) comparison: locale-independent, so the same set always serializes to the same bytes. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A version already checked by parseImageName (strict semver, optional "v"), split once for comparison: numbers as
 * numbers, pre-release identifiers as written. Orders exactly as semver's `compare` (build
 * metadata ignored) without building a SemVer per entry, which dominated sorting a 10 000-entry manifest.
 */
export interface VersionKey {
  /** Normalized as semver's `.version`: no "v", no build metadata (e.g. "1.10.0-rc.1"). */
  version: string;
  major: number;
  minor: number;
  patch: number;
  pre: string[];
}

function versionKey(raw: string): VersionKey {
  const plus = raw.indexOf('+');
  const version = (plus < 0 ? raw : raw.slice(0, plus)).replace(/^v/, '');
  const dash = version.indexOf('-');
  const [major, minor, patch] = (dash < 0 ? version : version.slice(0, dash)).split('.').map(Number);
  return { version, major, minor, patch, pre: dash < 0 ? [] : version.slice(dash + 1).split('.') };
}

const NUMERIC = /^\d+$/;

/** semver's identifier order: numeric ids numerically (no leading zeros, so by length then digits), below alphanumeric ones. */
function compareIdentifiers(a: string, b: string): number {
  const an = NUMERIC.test(a);
  const bn = NUMERIC.test(b);
  if (an && bn) return a.length - b.length || compareStrings(a, b);
  return an ? -1 : bn ? 1 : compareStrings(a, b);
}

/** semver's `compare`: major, minor, patch; a pre-release sorts before its release; then identifier by identifier. */
export function compareVersionKeys(a: VersionKey, b: VersionKey): number {
  const main = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (main) return main < 0 ? -1 : 1;
  if (a.pre.length === 0 && b.pre.length === 0) return 0;
  if (a.pre.length === 0) return 1;
  if (b.pre.length === 0) return -1;
  for (let i = 0; i < Math.max(a.pre.length, b.pre.length); i++) {
    if (i >= a.pre.length) return -1;
    if (i >= b.pre.length) return 1;
    const c = compareIdentifiers(a.pre[i], b.pre[i]);
    if (c) return c < 0 ? -1 : 1;
  }
  return 0;
}

/** Precomputed sort key of one file name (parsing once per entry keeps sorting 10 000 entries cheap). */
export interface SortKey {
  file: string;
  stem: string;
  version?: VersionKey;
  /** The version as written in the name (e.g. with a leading "v"). */
  rawVersion?: string;
  arch?: string;
}

/**
 * The shape nearly every published name has, `<name>-<x.y.z>[-<arch>].raw|.img` with no "-<digit>" in the name: one
 * regex gives the same parse as parseImageName (its first candidate dash, an arch suffix winning) and the numbers.
 * Anything else (pre-releases, build metadata, "v", unparsable names) takes the general parser.
 */
const NUM = '(0|[1-9]\\d{0,14})';
const PLAIN_NAME = new RegExp(`^((?:[^-]|-(?!v?\\d))+)-${NUM}\\.${NUM}\\.${NUM}(?:-(${KNOWN_ARCHES.join('|')}))?\\.(?:raw|img)$`);

export function sortKey(file: string): SortKey {
  const m = PLAIN_NAME.exec(file);
  if (m) {
    const [, stem, major, minor, patch, arch] = m;
    const version = `${major}.${minor}.${patch}`;
    return { file, stem, version: { version, major: +major, minor: +minor, patch: +patch, pre: [] }, rawVersion: version, arch };
  }
  const p = parseImageName(file);
  return p ? { file, stem: p.name, version: versionKey(p.version), rawVersion: p.version, arch: p.arch } : { file, stem: file };
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
    (a.version && b.version ? compareVersionKeys(a.version, b.version) : a.version ? 1 : b.version ? -1 : 0) ||
    (a.arch === b.arch ? 0 : a.arch === undefined ? -1 : b.arch === undefined ? 1 : compareStrings(a.arch, b.arch)) ||
    compareStrings(a.file, b.file)
  );
}

export function compareFiles(a: string, b: string): number {
  return compareKeys(sortKey(a), sortKey(b));
}
