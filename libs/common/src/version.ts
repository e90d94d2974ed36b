// The one strict-semver rule for versions that become paths, URLs and object keys.
import semver from 'semver';

/**
 * `1.10.2` or `v1.10.2` → `1.10.2`. Strict semver only: the result is used to build paths and URLs, so anything else is
 * refused here, before any I/O.
 */
export function normalizeVersion(input: string, opts: { allowPrerelease?: boolean } = {}): string {
  const raw = typeof input === 'string' ? input.trim() : '';
  const stripped = raw.startsWith('v') ? raw.slice(1) : raw;
  const parsed = semver.parse(stripped, { loose: false });
  if (!raw || !parsed || parsed.version !== stripped || parsed.build.length > 0) {
    throw new Error(`version "${String(input)}" is not a strict semver version: expected MAJOR.MINOR.PATCH such as 1.10.2 or v1.10.2`);
  }
  if (parsed.prerelease.length > 0 && !opts.allowPrerelease) {
    throw new Error(`version "${input}" is a prerelease: expected a stable MAJOR.MINOR.PATCH (prereleases need allowPrerelease)`);
  }
  return parsed.version;
}
