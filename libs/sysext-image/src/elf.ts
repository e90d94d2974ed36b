import { elfMachine, type Arch } from '@alloy-sysext/common';
import { open } from 'node:fs/promises';

const MACHINE_NAMES: Record<number, string> = { 3: 'x86', 40: 'arm', 62: 'x86-64', 183: 'aarch64' };

/** Check from its header that `path` is a 64-bit little-endian ELF for `arch`; throws naming what differs. */
export async function assertElfFor(path: string, arch: Arch, what = path): Promise<void> {
  const fh = await open(path, 'r');
  let header: Buffer;
  try {
    header = Buffer.alloc(20);
    const { bytesRead } = await fh.read(header, 0, 20, 0);
    header = header.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (header.length < 20 || header.toString('latin1', 0, 4) !== '\x7fELF') {
    throw new Error(`${what} is not an ELF binary (no \\x7fELF header): expected the Alloy binary for ${arch}`);
  }
  if (header[4] !== 2 || header[5] !== 1) {
    throw new Error(`${what} is not a 64-bit little-endian ELF (class ${header[4]}, data ${header[5]}): expected one for ${arch}`);
  }
  const machine = header.readUInt16LE(18);
  const expected = elfMachine(arch);
  if (machine !== expected) {
    throw new Error(
      `${what} is an ELF for machine ${machine} (${MACHINE_NAMES[machine] ?? 'unknown'}), expected ${expected} (${MACHINE_NAMES[expected]}) for ${arch}`,
    );
  }
}
