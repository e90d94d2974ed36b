import { createCipheriv } from 'node:crypto';

export type Arch = 'amd64' | 'arm64';

const MACHINE: Record<Arch, number> = { amd64: 62, arm64: 183 };
const ELF_HEADER_BYTES = 64;
const CHUNK = 4096;
const VOCABULARY = 4096;
const LOCAL = 16;
const SNIPPET = 64;

/** Deterministic pseudo-random bytes: AES-CTR over zeros with a key derived from the seed. */
function keystream(seed: string, size: number): Buffer {
  const key = Buffer.alloc(16);
  key.write(seed.slice(0, 16), 'latin1');
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

/**
 * A deterministic stand-in for an Alloy binary: a valid ELF64 little-endian header for `arch`, then data that compresses
 * roughly like a Go binary: an eighth incompressible chunks (think compressed tables), the rest "code": each 4 KiB chunk
 * repeats a few snippets of its own from a large vocabulary, each followed by a random 4-byte immediate, so LZ matches
 * are local and entropy coding matters too, and compressor comparisons on it mean something.
 */
export function makeSyntheticBinary(arch: Arch, size: number): Buffer {
  if (!(arch in MACHINE)) throw new Error(`makeSyntheticBinary: arch "${arch}" is not amd64 or arm64`);
  if (!Number.isInteger(size) || size < ELF_HEADER_BYTES) {
    throw new Error(`makeSyntheticBinary: size ${size} must be an integer of at least ${ELF_HEADER_BYTES} bytes`);
  }
  const random = keystream(`alloy-${arch}`, size + CHUNK);
  const vocabulary = keystream(`vocab-${arch}`, VOCABULARY * SNIPPET);
  const out = Buffer.alloc(size + CHUNK + SNIPPET + 4);
  let at = 0;
  let r = 0; // read position in `random` for choices, independent of the output position
  while (at < size) {
    if (random[at]! < 32) {
      random.copy(out, at, at, at + CHUNK);
      at += CHUNK;
      continue;
    }
    const end = at + CHUNK;
    // like a function, a chunk reuses a few sequences of its own: redundancy stays local, as in real code
    const base = random.readUInt16LE(at + 1);
    while (at < end) {
      const index = (base + (Math.min(random[r]!, random[r + 1]!) % LOCAL) * 97) % VOCABULARY;
      const length = 12 + (random[r + 3]! % (SNIPPET - 12));
      vocabulary.copy(out, at, index * SNIPPET, index * SNIPPET + length);
      random.copy(out, at + length, r + 4, r + 8);
      at += length + 4;
      r = (r + 8) % (size - 8);
    }
  }
  const binary = out.subarray(0, size);
  writeElfHeader(binary, MACHINE[arch]);
  return binary;
}

function writeElfHeader(b: Buffer, machine: number): void {
  b.fill(0, 0, ELF_HEADER_BYTES);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = 2; // ELFCLASS64
  b[5] = 1; // little-endian
  b[6] = 1; // EV_CURRENT
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(machine, 18);
  b.writeUInt32LE(1, 20);
  b.writeUInt16LE(ELF_HEADER_BYTES, 52); // e_ehsize
}
