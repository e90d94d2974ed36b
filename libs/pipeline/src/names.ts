// Published file names (their home is @alloy-sysext/common) and the default recipe path.
export { KEYRING, MANIFEST, MANIFEST_SIGNATURE } from '@alloy-sysext/common';
/** The recipe every command uses unless told otherwise, relative to the workspace root. */
export const DEFAULT_RECIPE = 'apps/alloy/sysext.json';
