import { normalizeVersion } from '@alloy-sysext/common';
/**
 * Exit codes of release-bot (documented in `release-bot --help` and the README's release bot section).
 *  0  success; for `check`: the latest stable upstream release is already published
 * 10  `check` only: a stable upstream release is not published yet (the version is printed and written to GITHUB_OUTPUT)
 *  1  error (network, GitHub, bucket, recipe, key files …)
 *  2  usage error: unknown command or option, missing or invalid value
 *  3  `release` only: the Nx chain (fetch → … → pr) failed; nothing was tagged and the tracking issue stays open
 *  4  `verify` only: at least one check failed (the table names each one)
 *  5  `check` and `status`: the bucket is broken (SHA256SUMS.gpg missing or not verifying SHA256SUMS, a listed
 *     object missing or with another sha256, or the version set went backwards: a rollback or a revived version);
 *     repair: rerun publish for the newest version the bucket should serve (never a removed one)
 */
export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, CHAIN_FAILED: 3, VERIFY_FAILED: 4, BUCKET_BROKEN: 5, NEW_VERSION: 10 } as const;

export const EXIT_CODES_HELP = `Exit codes:
  0   success (check: the latest stable upstream release is already published)
  10  check: a new stable upstream release is not published yet
  1   error
  2   usage error (unknown option, missing or invalid value)
  3   release: the Nx chain failed (nothing tagged)
  4   verify: at least one check failed (see the table)
  5   check, status: the bucket is broken (SHA256SUMS.gpg does not verify SHA256SUMS, a listed object is missing or
      differs, or the version set went backwards: a rollback, a revived version); repair: npx nx run alloy:publish
      --version=<newest version it should serve> (never a removed one)`;

/** A mistake in what the user typed; reported with exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The `--version` a command was given, normalized; a malformed one is a usage error naming it. */
export function versionOption(given: unknown): string {
  try {
    return normalizeVersion(String(given ?? ''));
  } catch (error) {
    throw new UsageError(`--version: ${(error as Error).message}`);
  }
}
