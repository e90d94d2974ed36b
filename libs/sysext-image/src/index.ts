// Verified upstream fetch, safe extraction, reproducible sysext images and their validation.
export { ARCHES, parseArch, systemdArchitecture, elfMachine, normalizeVersion, type Arch } from '@alloy-sysext/common';
export {
  ASSET_KINDS,
  binaryFileName,
  entryMatches,
  upstreamArchName,
  upstreamAsset,
  type AssetKind,
  type UpstreamAsset,
  type UpstreamOptions,
} from './upstream-asset.js';
export { fetchUpstream, type AssetToFetch, type FetchedAsset, type FetchUpstreamOptions } from './fetch-upstream.js';
export { extractUpstreamBinary, upstreamBinarySha256 } from './upstream-binary.js';
export { TAR_OTHER_FILES_BYTES } from './extract-tar.js';
export { downloadText, type Progress } from './download.js';
export type { DownloadRetryOptions } from './retry.js';
export { imageParameters, type ImageParameters } from './image-parameters.js';
export { toolVersions, type ToolVersions } from './tool-versions.js';
export {
  buildImage,
  buildSettings,
  type BuildImageOptions,
  type BuildSettings,
  type BuiltImage,
  type ImageOptions,
} from './build-image.js';
export { COMPRESSORS, DEFAULT_COMPRESSOR, FORMATS, type Compressor, type ImageFormat } from './formats.js';
export { extensionReleasePath, FIXED_TIME, expectedEntries, stageTree, type TreeOptions } from './tree.js';
export { imageTimes, type ImageTimes } from './inspect.js';
export { validateImage, parseOsRelease, type ValidateExpectation } from './validate.js';
