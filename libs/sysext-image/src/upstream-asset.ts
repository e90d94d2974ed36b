// What a recipe's upstream release asset is for one arch: its file name, its kind (a zip or a gzip-compressed tar
// holding the binary, or the binary itself), where the binary sits inside it, and the release's checksum file naming
// it. Names come from the recipe's patterns with `{arch}` (in the upstream's own arch names), `{version}`, `{asset}`.
import { posix } from 'node:path';
import { parseArch, type Arch } from '@alloy-sysext/common';

export const ASSET_KINDS = ['zip', 'tar.gz', 'binary'] as const;
export type AssetKind = (typeof ASSET_KINDS)[number];

export interface UpstreamOptions {
  /** owner/name of the GitHub repository, e.g. grafana/alloy. */
  repo: string;
  /** GitHub API base URL, e.g. https://api.github.com. */
  apiUrl: string;
  /** What the asset is (default zip). */
  kind?: AssetKind;
  /** Asset name pattern, e.g. alloy-linux-{arch}.zip. */
  asset: string;
  /**
   * The binary inside an archive, e.g. alloy-linux-{arch}: a name alone matches one entry of that name in any
   * directory; a path (node_exporter-{version}.linux-{arch}/node_exporter) matches exactly. Unused for kind binary.
   */
  binary?: string;
  /** The upstream's name for each arch where it differs from ours, e.g. { "amd64": "x86_64", "arm64": "aarch64" }. */
  archNames?: Partial<Record<Arch, string>>;
  /** The release's checksum file in sha256sum format, e.g. checksums.txt or {asset}.sha256. */
  checksums?: string;
  maxBinaryBytes: number;
}

export interface UpstreamAsset {
  arch: Arch;
  /** File name of the asset in the release (and in an asset directory). */
  name: string;
  kind: AssetKind;
  /** Archive kinds: the binary's path inside it (or its name, matched in any directory). */
  entry?: string;
  /** File name of the release's checksum file that lists this asset, if the recipe names one. */
  checksums?: string;
}

const PLAIN_NAME = /^[\w.+-]+$/;

function fill(pattern: string, values: Record<string, string>): string {
  return pattern.replace(/\{(arch|version|asset)\}/g, (whole, key: string) => values[key] ?? whole);
}

function plainName(value: string, field: string, pattern: string): string {
  if (!PLAIN_NAME.test(value) || value === '.' || value === '..') {
    throw new Error(`upstream.${field} "${pattern}" gives "${value}": expected a plain file name`);
  }
  return value;
}

/** A relative path of plain segments (no empty, `.` or `..` segment, no leading `/`). */
function entryPath(value: string, pattern: string): string {
  const segments = value.split('/');
  if (segments.some((s) => !PLAIN_NAME.test(s) || s === '.' || s === '..')) {
    throw new Error(`upstream.binary "${pattern}" gives "${value}": expected a relative path of plain names inside the archive`);
  }
  return value;
}

/** The upstream's name for `arch` in asset and entry names. */
export function upstreamArchName(upstream: Pick<UpstreamOptions, 'archNames'>, arch: Arch): string {
  return upstream.archNames?.[arch] ?? arch;
}

/** The asset of `arch` in release `version` (a version without `v`, as it appears in names). */
export function upstreamAsset(upstream: UpstreamOptions, arch: Arch, version: string): UpstreamAsset {
  const kind = upstream.kind ?? 'zip';
  const values = { arch: upstreamArchName(upstream, parseArch(arch)), version };
  const name = plainName(fill(upstream.asset, values), 'asset', upstream.asset);
  let entry: string | undefined;
  if (kind !== 'binary') {
    if (!upstream.binary) throw new Error(`upstream.binary is required for an asset of kind ${kind}: the binary's path inside it`);
    entry = entryPath(fill(upstream.binary, values), upstream.binary);
  }
  const checksums = upstream.checksums
    ? plainName(fill(upstream.checksums, { ...values, asset: name }), 'checksums', upstream.checksums)
    : undefined;
  return { arch, name, kind, ...(entry ? { entry } : {}), ...(checksums ? { checksums } : {}) };
}

/** The binary's file name when extracted: the entry's last segment, or the asset's name for kind binary. */
export function binaryFileName(asset: UpstreamAsset): string {
  return asset.entry ? asset.entry.split('/').at(-1)! : asset.name;
}

/** Whether an archive entry's path (`./` and a final `/` dropped) is the wanted entry: a path exactly, a name anywhere. */
export function entryMatches(path: string, wanted: string): boolean {
  const name = path.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  return wanted.includes('/') ? name === wanted : posix.basename(name) === wanted;
}
