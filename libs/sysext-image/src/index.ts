export { ARCHES, parseArch, systemdArchitecture, elfMachine, type Arch } from './arch.js';
export { normalizeVersion } from './version.js';
export { sha256File } from './hash.js';
export { fetchUpstream, type FetchUpstreamOptions, type FetchedArch, type UpstreamOptions } from './fetch-upstream.js';
export { extractBinary } from './extract.js';
export { getRelease, type Release, type ReleaseAsset } from './release.js';
export type { Progress } from './download.js';
export type { RetryOptions } from './retry.js';
export {
  buildImage,
  imageFileName,
  compatibilityFileName,
  type BuildImageOptions,
  type BuiltImage,
  type ImageOptions,
} from './build-image.js';
export { COMPRESSORS, DEFAULT_COMPRESSOR, FORMATS, type Compressor, type ImageFormat } from './formats.js';
export { EXTENSION_RELEASE_PATH, FIXED_TIME, expectedEntries, stageTree, type TreeOptions } from './tree.js';
export { validateImage, parseOsRelease, type ValidateExpectation } from './validate.js';
