// Names of the files the bucket publishes beside the images (consumers and systemd-sysupdate depend on them).
export const MANIFEST = 'SHA256SUMS';
export const MANIFEST_SIGNATURE = 'SHA256SUMS.gpg';
/** The binary keyring systemd-sysupdate verifies SHA256SUMS.gpg with. */
export const KEYRING = 'import-pubring.gpg';
