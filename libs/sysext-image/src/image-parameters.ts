// What an image file itself says about how it was made (filesystem and squashfs compressor), read from its superblock.
import type { Compressor, ImageFormat } from './formats.js';
import { detectFormat, readHead } from './inspect.js';

export interface ImageParameters {
  format: ImageFormat;
  /** squashfs only: the compressor recorded in the superblock. */
  compressor?: Compressor;
}

// squashfs 4.0 superblock: u16 compression id at byte 20 (squashfs_fs.h: 1 gzip, 2 lzma, 3 lzo, 4 xz, 5 lz4, 6 zstd).
const SQUASHFS_COMPRESSORS: Record<number, Compressor> = { 1: 'gzip', 4: 'xz', 6: 'zstd' };

/** Format and compressor of a built image; an image with a compressor this project never uses is an error. */
export async function imageParameters(image: string): Promise<ImageParameters> {
  const format = await detectFormat(image);
  if (format !== 'squashfs') return { format };
  const head = await readHead(image, 22);
  const id = head.readUInt16LE(20);
  const compressor = SQUASHFS_COMPRESSORS[id];
  if (!compressor) throw new Error(`squashfs image ${image} uses compression id ${id}: expected gzip (1), xz (4) or zstd (6)`);
  return { format, compressor };
}
