// @alloy-sysext/manifest: the SHA256SUMS that systemd-sysupdate reads, its merge for concurrent publishers, its signature.
export { Manifest, type ManifestEntry } from './manifest.js';
export { mergeManifest } from './merge.js';
export { signManifest } from './sign.js';
export { imageEntries, type ImageEntriesOptions } from './entries.js';
export { compareFiles } from './entry-order.js';
export { planRetention, type Pin, type RetentionPlan } from './retention.js';
