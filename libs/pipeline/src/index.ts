// The release steps as plain functions over a recipe, a version and a layout, and what they share (recipe loading,
// published names and snippets, signing-key loading, the mirror). No Nx here: tools/src/executors call these.
export * from './artifacts.js';
export * from './bucket-health.js';
export * from './consumers.js';
export * from './layout.js';
export * from './mirror.js';
export * from './names.js';
export * from './progress.js';
export * from './publish.js';
export * from './recipe.js';
export * from './release-info.js';
export * from './reproduce.js';
export * from './signing-key.js';
export * from './snippets.js';
export * from './step.js';
export * from './upstream-trust.js';
export * from './verify-artifacts.js';
export * from './version.js';
export * from './vouch.js';
export { fetchStep, type FetchStepOptions } from './steps/fetch.js';
export { imageStep, imageSettings, type ImageStepOptions } from './steps/image.js';
export { signStep } from './steps/sign.js';
export { manifestStep } from './steps/manifest.js';
export { publishStep, type PublishStepOptions } from './steps/publish.js';
export { prStep, type PrStepOptions } from './steps/pr.js';
