// The architectures this project builds, and the names other systems use for them.
export type Arch = 'amd64' | 'arm64';

export const ARCHES: readonly Arch[] = ['amd64', 'arm64'];

const SYSTEMD: Record<Arch, 'x86-64' | 'arm64'> = { amd64: 'x86-64', arm64: 'arm64' };
const ELF_MACHINE: Record<Arch, number> = { amd64: 62, arm64: 183 };

export function isArch(s: unknown): s is Arch {
  return typeof s === 'string' && (ARCHES as readonly string[]).includes(s);
}

export function parseArch(s: string): Arch {
  if (isArch(s)) return s;
  throw new Error(`arch "${s}" is not supported: expected one of ${ARCHES.join(', ')}`);
}

/** The name systemd uses in extension-release ARCHITECTURE= (it rejects `amd64`). */
export function systemdArchitecture(arch: Arch): 'x86-64' | 'arm64' {
  return SYSTEMD[parseArch(arch)];
}

/** ELF e_machine of binaries for `arch` (EM_X86_64, EM_AARCH64). */
export function elfMachine(arch: Arch): number {
  return ELF_MACHINE[parseArch(arch)];
}
