// Release versions: the one strict-semver parser (semver's grammar, nothing trimmed or coerced) and the normalizer
// every typed or read version goes through.
import semver, { type SemVer } from 'semver';

/**
 * `text` as a strict semver version, or null: semver's grammar without loose mode (one optional leading "v",
 * pre-release and build metadata allowed). semver trims its input; this refuses surrounding whitespace instead.
 */
export function parseStrictVersion(text: string): Readonly<SemVer> | null {
  if (typeof text !== 'string') return null;
  let parsed = parsedVersions.get(text);
  if (parsed === undefined) {
    const version = text.trim() === text ? semver.parse(text) : null;
    parsed = version && Object.freeze(version);
    if (parsedVersions.size >= MAX_PARSED) parsedVersions.clear();
    parsedVersions.set(text, parsed);
  }
  return parsed;
}

// A manifest names each version three times or more (per arch, the compatibility name), and parseImageName and the
// sort key ask for the same text: parsing each text once keeps sorting 10 000 entries near a regex's cost. Frozen, as
// the results are shared.
const MAX_PARSED = 100_000;
const parsedVersions = new Map<string, Readonly<SemVer> | null>();

/**
 * `1.10.2` or `v1.10.2` → `1.10.2`. Strict semver only: the result is used to build paths and URLs, so anything else
 * is refused here, before any I/O. Untrusted text is not trimmed: `"1.10.2\n"` and `" 1.10.2"` are refused, naming
 * the value.
 */
export function normalizeVersion(input: string, opts: { allowPrerelease?: boolean } = {}): string {
  const parsed = parseStrictVersion(input);
  if (!parsed || parsed.build.length > 0) {
    const shown = typeof input === 'string' ? JSON.stringify(input) : String(input);
    const space = typeof input === 'string' && input.trim() !== input ? ' (surrounding whitespace is not removed)' : '';
    throw new Error(`version ${shown} is not a strict semver version${space}: expected MAJOR.MINOR.PATCH such as 1.10.2 or v1.10.2`);
  }
  if (parsed.prerelease.length > 0 && !opts.allowPrerelease) {
    // the caller says how its user accepts one (the targets' --allowPrerelease); release-bot takes stable versions only
    throw new Error(`version ${JSON.stringify(input)} is a prerelease: expected a stable MAJOR.MINOR.PATCH`);
  }
  return parsed.version;
}
