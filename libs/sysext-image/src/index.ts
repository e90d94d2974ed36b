// Verified upstream fetch, safe extraction, reproducible sysext images and their validation.
export { ARCHES, parseArch, systemdArchitecture, elfMachine, normalizeVersion, type Arch } from '@alloy-sysext/common';
export {
  extractUpstreamBinary,
  fetchUpstream,
  type FetchUpstreamOptions,
  type DigestOrigin,
  type DigestSource,
  type FetchedArch,
  type UpstreamOptions,
} from './fetch-upstream.js';
export { imageParameters, type ImageParameters } from './image-parameters.js';
export { toolVersions, type ToolVersions } from './tool-versions.js';
export { getRelease, listReleases, type Release, type ReleaseAsset, type ReleaseSource } from './release.js';
export { binaryEntrySha256, extractBinary } from './extract.js';
export type { Progress } from './download.js';
export type { RetryOptions } from './retry.js';
export {
  buildImage,
  buildSettings,
  imageFileName,
  type BuildImageOptions,
  type BuildSettings,
  type BuiltImage,
  type ImageOptions,
} from './build-image.js';
export { COMPRESSORS, DEFAULT_COMPRESSOR, FORMATS, type Compressor, type ImageFormat } from './formats.js';
export { EXTENSION_RELEASE_PATH, FIXED_TIME, expectedEntries, stageTree, type TreeOptions } from './tree.js';
export { imageTimes, type ImageTimes } from './inspect.js';
export { validateImage, parseOsRelease, type ValidateExpectation } from './validate.js';
