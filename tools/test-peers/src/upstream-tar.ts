import { gzipSync } from 'node:zlib';

/** A tar entry: a regular file (default), a directory, or a symbolic or hard link to `linkname`. */
export interface TarEntry {
  name: string;
  data?: Buffer;
  mode?: number;
  type?: 'file' | 'dir' | 'symlink' | 'link';
  linkname?: string;
}

const TYPEFLAG = { file: '0', link: '1', symlink: '2', dir: '5' } as const;
const BLOCK = 512;

function field(header: Buffer, offset: number, length: number, value: string): void {
  header.write(value, offset, Math.min(length, Buffer.byteLength(value)), 'utf8');
}

const octal = (n: number, length: number) => `${n.toString(8).padStart(length - 1, '0')}\0`;

/**
 * A minimal deterministic ustar writer, gzip-compressed. Exists because the tests need entries no well-behaved writer
 * produces (`../` names, absolute paths, links named like the binary, duplicates) to prove the extractor refuses them.
 */
export function makeTarGz(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const data = type === 'file' ? (entry.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const header = Buffer.alloc(BLOCK);
    // names over 100 bytes go into the ustar prefix field, split at a '/'
    let name = entry.name;
    let prefix = '';
    if (Buffer.byteLength(name) > 100) {
      const cut = name.lastIndexOf('/', 155);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
    }
    field(header, 0, 100, name);
    field(header, 100, 8, octal(entry.mode ?? (type === 'dir' ? 0o755 : 0o644), 8));
    field(header, 108, 8, octal(0, 8));
    field(header, 116, 8, octal(0, 8));
    field(header, 124, 12, octal(data.length, 12));
    field(header, 136, 12, octal(0, 12));
    field(header, 148, 8, '        ');
    field(header, 156, 1, TYPEFLAG[type]);
    field(header, 157, 100, entry.linkname ?? '');
    field(header, 257, 6, 'ustar\0');
    field(header, 263, 2, '00');
    field(header, 345, 155, prefix);
    let sum = 0;
    for (const byte of header) sum += byte;
    field(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    parts.push(header, data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return gzipSync(Buffer.concat(parts), { level: 9 });
}
