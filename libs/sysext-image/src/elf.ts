// What a binary is, from its first bytes: the one check (at fetch and again at image) that it is an ELF executable
// for the image's arch, with errors that say what the file is instead.
import { elfMachine, type Arch } from '@alloy-sysext/common';
import { open } from 'node:fs/promises';

const MACHINE_NAMES: Record<number, string> = { 3: 'x86', 40: 'arm', 62: 'x86-64', 183: 'aarch64' };
const ELF_TYPES: Record<number, string> = {
  0: 'of no type',
  1: 'relocatable object',
  2: 'executable',
  3: 'shared object or PIE executable',
  4: 'core dump',
};
const HEADER_BYTES = 64;

/** A short description of a file that is not ELF, for error messages. */
function describeNonElf(header: Buffer): string {
  if (header.length === 0) return 'an empty file';
  if (header.toString('latin1', 0, 2) === '#!') {
    const line = header.toString('utf8').split('\n')[0]!.slice(0, 60);
    return `a script starting ${JSON.stringify(line)}`;
  }
  if (header.toString('latin1', 0, 4) === 'PK\x03\x04') return 'a zip archive';
  return `it starts with bytes ${header
    .subarray(0, 8)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ')}`;
}

/** Check from its header that `path` is a 64-bit little-endian ELF executable for `arch`; throws naming what differs. */
export async function assertElfFor(path: string, arch: Arch, what = path): Promise<void> {
  const fh = await open(path, 'r');
  let header: Buffer;
  try {
    header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(header, 0, HEADER_BYTES, 0);
    header = header.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const expected = elfMachine(arch);
  const wanted = `an ELF executable for ${MACHINE_NAMES[expected]} (${arch})`;
  if (header.length < 20 || header.toString('latin1', 0, 4) !== '\x7fELF') {
    throw new Error(`${what} is not an ELF binary (${describeNonElf(header)}): expected the upstream binary, ${wanted}`);
  }
  if (header[4] !== 2 || header[5] !== 1) {
    throw new Error(`${what} is not a 64-bit little-endian ELF (class ${header[4]}, data ${header[5]}): expected ${wanted}`);
  }
  const machine = header.readUInt16LE(18);
  if (machine !== expected) {
    throw new Error(
      `${what} is an ELF for machine ${machine} (${MACHINE_NAMES[machine] ?? 'unknown'}), expected ${expected} (${MACHINE_NAMES[expected]}) for ${arch}`,
    );
  }
  const type = header.readUInt16LE(16);
  // ET_EXEC (Go's default) or ET_DYN (a position-independent executable)
  if (type !== 2 && type !== 3) {
    throw new Error(`${what} is an ELF ${ELF_TYPES[type] ?? `of type ${type}`}, expected ${wanted}`);
  }
}
