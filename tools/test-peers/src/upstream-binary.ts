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
export function makeSyntheticBinary(arch: Arch, size: number, opts: { prints?: string } = {}): Buffer {
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
  if (opts.prints !== undefined) makeRunnable(binary, arch, opts.prints);
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

const LOAD_ADDRESS = 0x400000n;
const PROGRAM_HEADER_BYTES = 56;
const CODE_OFFSET = ELF_HEADER_BYTES + PROGRAM_HEADER_BYTES;

/**
 * Turns the synthetic binary into a static executable that writes `message` to stdout and exits 0, as `alloy --version`
 * prints its version (the host check runs the merged binary): one PT_LOAD segment mapping the whole file, then
 * write(1, message) and exit(0) as raw system calls, hand-assembled for x86-64 and AArch64 Linux.
 */
function makeRunnable(b: Buffer, arch: Arch, message: string): void {
  const text = Buffer.from(message, 'latin1');
  const code = arch === 'amd64' ? amd64Code(text.length) : arm64Code(text.length);
  if (CODE_OFFSET + code.length + text.length > b.length) throw new Error(`makeSyntheticBinary: ${b.length} bytes cannot hold the code`);
  b.writeBigUInt64LE(LOAD_ADDRESS + BigInt(CODE_OFFSET), 24); // e_entry
  b.writeBigUInt64LE(BigInt(ELF_HEADER_BYTES), 32); // e_phoff
  b.writeUInt16LE(PROGRAM_HEADER_BYTES, 54); // e_phentsize
  b.writeUInt16LE(1, 56); // e_phnum
  const ph = ELF_HEADER_BYTES;
  b.writeUInt32LE(1, ph); // PT_LOAD
  b.writeUInt32LE(5, ph + 4); // PF_R | PF_X
  b.writeBigUInt64LE(0n, ph + 8); // p_offset
  b.writeBigUInt64LE(LOAD_ADDRESS, ph + 16); // p_vaddr
  b.writeBigUInt64LE(LOAD_ADDRESS, ph + 24); // p_paddr
  b.writeBigUInt64LE(BigInt(b.length), ph + 32); // p_filesz
  b.writeBigUInt64LE(BigInt(b.length), ph + 40); // p_memsz
  b.writeBigUInt64LE(0x10000n, ph + 48); // p_align
  code.copy(b, CODE_OFFSET);
  text.copy(b, CODE_OFFSET + code.length);
}

/** mov eax,1; mov edi,1; lea rsi,[rip+16]; mov edx,len; syscall; mov eax,60; xor edi,edi; syscall — the text follows. */
function amd64Code(length: number): Buffer {
  const c = Buffer.from([
    0xb8, 1, 0, 0, 0, 0xbf, 1, 0, 0, 0, 0x48, 0x8d, 0x35, 16, 0, 0, 0, 0xba, 0, 0, 0, 0, 0x0f, 0x05, 0xb8, 60, 0, 0, 0, 0x31, 0xff, 0x0f,
    0x05,
  ]);
  c.writeUInt32LE(length, 18);
  return c;
}

/** movz x0,#1; adr x1,text; movz x2,#len; movz x8,#64 (write); svc 0; movz x0,#0; movz x8,#93 (exit); svc 0. */
function arm64Code(length: number): Buffer {
  if (length >= 1 << 16) throw new Error('makeSyntheticBinary: message too long for one movz');
  const words = [0xd2800020, 0x100000e1, 0xd2800002 | (length << 5), 0xd2800808, 0xd4000001, 0xd2800000, 0xd2800ba8, 0xd4000001];
  const c = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => c.writeUInt32LE(w >>> 0, i * 4));
  return c;
}
