import { normalizeVersion } from '@alloy-sysext/sysext-image';

export class VersionError extends Error {
  override name = 'VersionError';
}

/** The version a target runs for: its `version` option, checked before any work starts. */
export function resolveVersion(option: unknown, opts: { allowPrerelease?: boolean; project?: string } = {}): string {
  if (option === undefined || option === null || option === '' || option === true) {
    const project = opts.project ?? '<project>';
    throw new VersionError(
      `no version given. Run e.g. \`npx nx run ${project}:publish --version=1.10.2\` ` +
        `(or \`nx run ${project}:publish --sysextVersion=1.10.2\` when nx is not started through npx).`,
    );
  }
  try {
    return normalizeVersion(String(option), opts);
  } catch (error) {
    const message = (error as Error).message;
    throw new VersionError(/is a prerelease/.test(message) ? `${message}, or pass --allowPrerelease to build it` : message);
  }
}
