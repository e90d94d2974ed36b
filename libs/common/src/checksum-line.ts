// The `<image>.sha256` checksum file: one `sha256sum` line, written and read only here.
/** `<64 hex>  <file>\n`, the canonical two-space (text mode) form sha256sum -c and systemd-sysupdate read. */
export function formatChecksumLine(sha256: string, file: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`sha256 "${sha256}" is not 64 lowercase hex digits`);
  if (!file || /[\n\r/\\]/.test(file)) throw new Error(`file name ${JSON.stringify(file)} cannot stand in a checksum line`);
  return `${sha256}  ${file}\n`;
}

/** The sha256 of a checksum file's one line, which must name `file` (`where` names the file in the error). */
export function parseChecksumLine(text: string, file: string, where: string): string {
  const match = /^([0-9a-f]{64}) [ *](.+)\n?$/.exec(text);
  if (!match || match[2] !== file) {
    throw new Error(`${where} is not a sha256sum line for ${file} (got ${JSON.stringify(text.slice(0, 100))})`);
  }
  return match[1]!;
}
