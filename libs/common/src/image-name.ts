// Image file names: how they are built (`<name>-<version>-<arch>.raw`, compatibility name `<name>-<version>.raw`) and
// the one parser for names read back from SHA256SUMS, Butane files and buckets.
//
//   <name>-<version>[-<arch>]<suffix>
//
// - suffix: ".raw" or ".img" (what sysupdate transfers publish). Anything else does not parse.
// - The name ends at the FIRST "-" that is followed by a digit (or "v" and a digit) and after which the rest reads as
//   version[-arch]; so names may contain dashes ("docker-compose") but no "-<digit>" before the version.
// - arch: one of KNOWN_ARCHES, matched at the end, longest first ("x86-64" before "64"). Because semver pre-releases
//   may contain dashes, an arch suffix wins: "1.0.0-amd64" is version 1.0.0 for amd64, never pre-release "amd64".
// - version: strict semver (parseStrictVersion: an optional leading "v", build metadata allowed).
import { ARCHES, isArch, type Arch } from './arch.js';
import { parseStrictVersion } from './version.js';

export const KNOWN_ARCHES = ['amd64', 'arm64', 'x86-64', 'arm', 'ia32', 'x86', 'riscv64', 'loongarch64', 's390x', 'ppc64-le'] as const;
const ARCHES_LONGEST_FIRST = [...KNOWN_ARCHES].sort((a, b) => b.length - a.length);
const SUFFIXES = ['.raw', '.img'] as const;

/** Our image's file name; without `arch` the amd64 compatibility name's (the old pipeline's name). */
export function imageFileName(name: string, version: string, arch?: Arch): string {
  return arch ? `${name}-${version}-${arch}.raw` : `${name}-${version}.raw`;
}

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
    const arch = ARCHES_LONGEST_FIRST.find((a) => rest.endsWith(`-${a}`) && parseStrictVersion(rest.slice(0, -a.length - 1)) !== null);
    if (arch) return { name, version: rest.slice(0, -arch.length - 1), arch, suffix };
    if (parseStrictVersion(rest) !== null) return { name, version: rest, suffix };
  }
  return undefined;
}

export interface OwnImageName {
  version: string;
  arch: Arch;
  /** The arch-less amd64 compatibility name. */
  compat: boolean;
}

/** One of *our* images named `name` (`.raw`, an arch we build, version without "v"); anything else is undefined. */
export function parseOwnImageName(name: string, file: string): OwnImageName | undefined {
  const p = parseImageName(file);
  if (!p || p.name !== name || p.suffix !== '.raw' || !/^\d/.test(p.version)) return undefined;
  if (p.arch === undefined) return { version: p.version, arch: 'amd64', compat: true };
  return isArch(p.arch) && ARCHES.includes(p.arch) ? { version: p.version, arch: p.arch, compat: false } : undefined;
}
