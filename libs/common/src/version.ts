// The one parser of a release version as typed or read: strict semver, refused (never cleaned) otherwise.
import semver from 'semver';

/**
 * `1.10.2` or `v1.10.2` → `1.10.2`. Strict semver only: the result is used to build paths and URLs, so anything else is
 * refused here, before any I/O. Untrusted text is not trimmed: `"1.10.2\n"` and `" 1.10.2"` are refused, naming the value.
 */
export function normalizeVersion(input: string, opts: { allowPrerelease?: boolean } = {}): string {
  const raw = typeof input === 'string' ? input : '';
  const stripped = raw.startsWith('v') ? raw.slice(1) : raw;
  const parsed = semver.parse(stripped, { loose: false });
  if (!raw || !parsed || parsed.version !== stripped || parsed.build.length > 0) {
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
