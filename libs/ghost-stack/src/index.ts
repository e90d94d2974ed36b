// libs/ghost-stack: edit consumer Butane files through verified, idempotent pull requests.
//   ButaneUpdater / readPinned     — pure located edit of a sysext pin in a Butane file or .bu.tftpl template
//   KeyEntryUpdater / readKeyEntry — pure located edit of the release keys a consumer file installs
//   runConsumerFlow                — the GitHub flow for one consumer and one edit (versionBump, addKey, removeKey):
//                                    branch, git-data commit, marker, supersede, humans respected, dry run
//   updateConsumer                 — runConsumerFlow with versionBump
//   (the GitHub client is @alloy-sysext/github: one door for every GitHub call)
export { ButaneUpdater, ButaneError, readPinned } from './butane.js';
export type { Arch, Pinned, ButaneUpdaterOptions } from './butane.js';
export { KeyEntryUpdater, readKeyEntry } from './butane-key.js';
export type { KeyEntry } from './butane-key.js';
export { updateConsumer } from './consumer.js';
export type { Consumer, ConsumerStatus, UpdateConsumerOptions, UpdateConsumerResult } from './consumer.js';
export { runConsumerFlow } from './flow/run-consumer-flow.js';
export { readConsumer, type ConsumerState } from './flow/read-consumer.js';
export type { ConsumerFlowOptions, ConsumerFlowResult } from './flow/run-consumer-flow.js';
export { ConsumerRepo } from './consumer-repo.js';
export type { ConsumerEdit, EditDecision, Relation } from './edit.js';
export { versionBump } from './edits/version-bump.js';
export type { VersionBumpOptions } from './edits/version-bump.js';
export { addKey, removeKey } from './edits/key-change.js';
export { branchName, keyBranchName, keyBranchPrefix, prTitle, prBody, parseMarker, renderMarker, isKeyMarker } from './pr-body.js';
export type { Marker, VersionMarker, KeyMarker } from './pr-body.js';
export { readRepoFile, readRepoFileBytes, MAX_CONSUMER_FILE_BYTES } from './read-file.js';
