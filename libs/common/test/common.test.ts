import { describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  formatChecksumLine,
  imageFileName,
  parseChecksumFile,
  parseChecksumLine,
  parseImageName,
  parseOwnImageName,
  sha256Bytes,
  sha256File,
  writeFileAtomic,
} from '../src/index.js';

const SHA = 'a'.repeat(64);

describe('checksum line', () => {
  it('writes the canonical two-space form and reads back what it wrote', () => {
    const line = formatChecksumLine(SHA, 'alloy-1.10.2-amd64.raw');
    expect(line).toBe(`${SHA}  alloy-1.10.2-amd64.raw\n`);
    expect(parseChecksumLine(line, 'alloy-1.10.2-amd64.raw', 'x.sha256')).toBe(SHA);
  });
  it('refuses a line naming another file, or no sha256, naming the file it read', () => {
    expect(() => parseChecksumLine(`${SHA}  alloy-9.9.9-amd64.raw\n`, 'alloy-1.10.2-amd64.raw', 'a.sha256')).toThrow(
      /a\.sha256 is not a sha256sum line for alloy-1\.10\.2-amd64\.raw/,
    );
    expect(() => parseChecksumLine('nope  alloy-1.10.2-amd64.raw\n', 'alloy-1.10.2-amd64.raw', 'a.sha256')).toThrow(/not a sha256sum line/);
    expect(() => formatChecksumLine('ABC', 'x.raw')).toThrow(/64 lowercase hex/);
    expect(() => formatChecksumLine(SHA, 'a\nb')).toThrow(/cannot stand in a checksum line/);
  });
});

describe('checksum files (SHA256SUMS, checksums.txt, sha256sums.txt)', () => {
  const B = 'B'.repeat(64);
  it('reads text and binary mode lines, CRLF and a directory part, by file name', () => {
    const text = `${SHA}  docker-compose-linux-x86_64\r\n${B} *./dist/docker-compose-linux-aarch64\n\n`;
    expect([...parseChecksumFile(text, 'checksums.txt')]).toEqual([
      ['docker-compose-linux-x86_64', SHA],
      ['docker-compose-linux-aarch64', 'b'.repeat(64)],
    ]);
  });
  it('refuses a malformed line, and one name listed twice (even with the same digest), naming the lines', () => {
    expect(() => parseChecksumFile(`${SHA}  a\nSHA256 (b) = ${SHA}\n`, '/d/SHA256SUMS')).toThrow(
      `/d/SHA256SUMS line 2 "SHA256 (b) = ${SHA}" is not a sha256sum line (<64 hex>  <file name>)`,
    );
    expect(() => parseChecksumFile(`${SHA}  a\n${B}  x/a\n`, 'sums')).toThrow(
      `sums lists a twice: line 1 (sha256 ${SHA}) and line 2 (sha256 ${'b'.repeat(64)}); refusing both`,
    );
    expect(() => parseChecksumFile(`${SHA}  a\n${SHA} *a\n`, 'sums')).toThrow('sums lists a twice: line 1');
  });
});

describe('image names', () => {
  it('builds per-arch and compatibility names and parses them back', () => {
    expect(imageFileName('alloy', '1.10.2', 'arm64')).toBe('alloy-1.10.2-arm64.raw');
    expect(imageFileName('alloy', '1.10.2')).toBe('alloy-1.10.2.raw');
    expect(parseOwnImageName('alloy', 'alloy-1.10.2-arm64.raw')).toEqual({ version: '1.10.2', arch: 'arm64', compat: false });
    expect(parseOwnImageName('alloy', 'alloy-1.10.2.raw')).toEqual({ version: '1.10.2', arch: 'amd64', compat: true });
  });
  it('is not fooled by other names, arches or suffixes', () => {
    expect(parseOwnImageName('alloy', 'other-1.10.2-amd64.raw')).toBeUndefined();
    expect(parseOwnImageName('alloy', 'alloy-1.10.2-riscv64.raw')).toBeUndefined();
    expect(parseOwnImageName('alloy', 'alloy-1.10.2-amd64.img')).toBeUndefined();
    expect(parseOwnImageName('alloy', 'alloy-v1.10.2-amd64.raw')).toBeUndefined();
    expect(parseImageName('docker-compose-2.0.0-x86-64.raw')).toEqual({
      name: 'docker-compose',
      version: '2.0.0',
      arch: 'x86-64',
      suffix: '.raw',
    });
  });
});

describe('hashing and atomic writes', () => {
  it('hashes files and bytes alike, and writes atomically with the given mode, leaving no temp file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'common-'));
    try {
      const file = path.join(dir, 'f');
      await writeFileAtomic(file, 'hello\n', 0o600);
      expect(await readFile(file, 'utf8')).toBe('hello\n');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await sha256File(file)).toBe(sha256Bytes('hello\n'));
      expect(sha256Bytes('hello\n')).toBe('5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03');
      expect(await readdir(dir)).toEqual(['f']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('hashes files across read boundaries and empty files (one reused buffer)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'common-hash-'));
    try {
      const bytes = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32LE(i, i); // every 4 KiB differs: reused stale bytes would show
      await writeFile(path.join(dir, 'big'), bytes);
      await writeFile(path.join(dir, 'empty'), '');
      expect(await sha256File(path.join(dir, 'big'))).toBe(sha256Bytes(bytes));
      expect(await sha256File(path.join(dir, 'empty'))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
