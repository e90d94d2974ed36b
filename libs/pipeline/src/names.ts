// Published file names and defaults that several modules (publish, release-bot, tests) must agree on.
export const MANIFEST = 'SHA256SUMS';
export const MANIFEST_SIGNATURE = 'SHA256SUMS.gpg';
export const KEYRING = 'import-pubring.gpg';
/** The recipe every command uses unless told otherwise, relative to the workspace root. */
export const DEFAULT_RECIPE = 'apps/alloy/sysext.json';
