// The project's shared vocabulary, one home each: hashing, atomic writes, architectures, versions, image and
// published file names, the checksum line, network failures. Every other lib imports these instead of writing its own.
export { sha256File, sha256Bytes } from './hash.js';
export { commitAll, tempPathFor, writeFileAtomic } from './atomic.js';
export { ARCHES, isArch, parseArch, systemdArchitecture, elfMachine, type Arch } from './arch.js';
export { normalizeVersion } from './version.js';
export { KNOWN_ARCHES, imageFileName, parseImageName, parseOwnImageName, type OwnImageName, type ParsedName } from './image-name.js';
export { formatChecksumLine, parseChecksumFile, parseChecksumLine } from './checksum-line.js';
export { KEYRING, MANIFEST, MANIFEST_SIGNATURE } from './names.js';
export { describeNetworkError, networkErrorCode } from './network-error.js';
