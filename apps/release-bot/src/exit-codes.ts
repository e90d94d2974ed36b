// Exit codes of release-bot: one table, shown by `--help` of every command and copied in the README's release bot section
// (apps/release-bot/test/help.test.ts compares them).
import { Help } from 'commander';
import { normalizeVersion } from '@alloy-sysext/common';

export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, CHAIN_FAILED: 3, VERIFY_FAILED: 4, BUCKET_BROKEN: 5, NEW_VERSION: 10 } as const;

/** What each exit code means, in the order help and README list them. */
export const EXIT_CODES: readonly { code: number; meaning: string }[] = [
  { code: EXIT.OK, meaning: 'success; check: the latest stable upstream release is already published' },
  { code: EXIT.NEW_VERSION, meaning: 'check: a new stable upstream release is not published yet (written to $GITHUB_OUTPUT)' },
  { code: EXIT.ERROR, meaning: 'error (network, GitHub, bucket, configuration, recipe, key files)' },
  { code: EXIT.USAGE, meaning: 'usage error: unknown command or option, missing or invalid value (e.g. --version 1.12)' },
  { code: EXIT.CHAIN_FAILED, meaning: 'release, finish: the Nx chain failed; nothing tagged, tracking issue left open' },
  { code: EXIT.VERIFY_FAILED, meaning: 'verify: at least one check failed (the table names each one)' },
  {
    code: EXIT.BUCKET_BROKEN,
    meaning:
      'check, status, finish: the bucket is broken (SHA256SUMS.gpg does not verify SHA256SUMS with a trusted key, SHA256SUMS is ' +
      'malformed, a listed object is missing, holds other bytes or cannot be read, e.g. a symlink in the local bucket, ' +
      'or the version set went backwards: a rollback or a revived version); repair: rerun publish for the newest ' +
      'version the bucket should serve, never a removed one (the command is printed, ' +
      'and the version written to $GITHUB_OUTPUT as repair_version)',
  },
];

/** The table as `--help` prints it, laid out the way commander lays out options (code, then the meaning wrapped). */
export function exitCodesHelp(width = 100): string {
  const help = new Help();
  help.helpWidth = width;
  return ['Exit codes:', ...EXIT_CODES.map((e) => help.formatItem(String(e.code), 2, e.meaning, help))].join('\n');
}

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
