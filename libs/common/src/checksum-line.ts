// Checksum files in `sha256sum` format, written and read only here: an image's `<image>.sha256` (one line), and the
// many-line files upstream releases and air-gapped asset directories carry (SHA256SUMS, checksums.txt, sha256sums.txt).
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

/**
 * The sha256 of each file a many-line sha256sum file lists (`<hex>  <name>` or `<hex> *<name>`, a directory part ignored).
 * A malformed line is an error naming it, and so is a name listed twice: no line may silently outweigh another.
 */
export function parseChecksumFile(text: string, where: string): Map<string, string> {
  const sums = new Map<string, { sha256: string; line: number }>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new Error(`${where} line ${i + 1} "${line.slice(0, 100)}" is not a sha256sum line (<64 hex>  <file name>)`);
    const name = m[2]!.split('/').at(-1)!;
    const sha256 = m[1]!.toLowerCase();
    const seen = sums.get(name);
    if (seen) {
      throw new Error(
        `${where} lists ${name} twice: line ${seen.line} (sha256 ${seen.sha256}) and line ${i + 1} (sha256 ${sha256}); ` +
          'refusing both: keep only the line you checked against the release',
      );
    }
    sums.set(name, { sha256, line: i + 1 });
  });
  return new Map([...sums].map(([name, { sha256 }]) => [name, sha256]));
}
