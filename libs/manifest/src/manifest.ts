// The SHA256SUMS model. Immutable: every operation returns a new Manifest, so a compare-and-swap loop can retry from
// the remote text without undoing anything. Reading is strict and keeps the file's order, so an unchanged manifest
// serializes to the bytes it was read from; a manifest we change is written canonically (sorted by compareFiles,
// "<hash>  <file>\n"), so the same set of entries always yields the same bytes. What we could not write back
// unchanged (" *" markers, no final newline, names that are not UTF-8) is refused, never silently altered.
import semver from 'semver';
import { compareKeys, sortKey, type SortKey } from './entry-order.js';

export interface ManifestEntry {
  /** Bare file name, as in the bucket (no directories). */
  readonly file: string;
  /** 64 lowercase hex digits. */
  readonly sha256: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
/** NAME_MAX: systemd-sysupdate (filename_is_valid) refuses longer names. */
const MAX_NAME_BYTES = 255;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class Manifest {
  readonly entries: readonly ManifestEntry[];

  /** Parsed sort keys, parallel to `entries`: computed once, on first need, and handed on to derived manifests. */
  private sortKeys: SortKey[] | undefined;

  /** Entries (each already frozen, see `entry`) in the given order: a parse keeps the file's order; every change goes
   *  through `canonical`. */
  private constructor(entries: ManifestEntry[], keys?: SortKey[]) {
    this.entries = Object.freeze(entries);
    this.sortKeys = keys;
  }

  /** The canonical (sorted) manifest of these entries and their keys (sorting indices: no object per entry). */
  private static canonical(entries: ManifestEntry[], keys: SortKey[]): Manifest {
    const order = entries.map((_, i) => i);
    order.sort((a, b) => compareKeys(keys[a], keys[b]));
    return new Manifest(
      order.map((i) => entries[i]),
      order.map((i) => keys[i]),
    );
  }

  private keys(): SortKey[] {
    return (this.sortKeys ??= this.entries.map((e) => sortKey(e.file)));
  }

  static empty(): Manifest {
    return new Manifest([]);
  }

  /**
   * Strict parse of the bytes (or already decoded text): each line is `<64 lowercase hex><two spaces><file name>\n`;
   * the file ends in "\n"; no blank lines, no CR, no " *" binary markers, no paths, names valid UTF-8 of at most
   * 255 bytes, no duplicates. The file's order is kept. Errors name the line number.
   */
  static parse(input: string | Uint8Array): Manifest {
    const text = typeof input === 'string' ? input : decodeStrict(input);
    if (text === '') return new Manifest([]);
    const lines = text.split('\n');
    if (lines[lines.length - 1] !== '')
      throw new Error(`SHA256SUMS line ${lines.length}: the file ends without a final newline (truncated?); every line must end in "\\n"`);
    lines.pop();
    const seen = new Map<string, number>();
    const entries: ManifestEntry[] = new Array(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const n = i + 1;
      // Checked by hand rather than with one regex per line: a 10 000-line file parses in a few ms.
      if (!(line.length > 66 && isHex64(line) && line.charCodeAt(64) === 0x20 && line.charCodeAt(65) === 0x20)) {
        if (line.endsWith('\r')) throw new Error(`SHA256SUMS line ${n}: ends in a carriage return; expected "\\n" line endings`);
        if (/^[0-9a-f]{64} \*/.test(line))
          throw new Error(
            `SHA256SUMS line ${n}: uses the binary-mode marker " *"; expected the canonical "<64 lowercase hex>  <file name>" (two spaces)`,
          );
        throw new Error(`SHA256SUMS line ${n}: expected "<64 lowercase hex>  <file name>", got ${JSON.stringify(line.slice(0, 120))}`);
      }
      if (line.charCodeAt(line.length - 1) === 0x0d)
        throw new Error(`SHA256SUMS line ${n}: ends in a carriage return; expected "\\n" line endings`);
      const file = line.slice(66);
      // Line terminators other than "\n" inside a name: not a line of this format (as the strict line pattern read them).
      if (!isPlainName(file) && /[\r\u2028\u2029]/.test(file))
        throw new Error(`SHA256SUMS line ${n}: expected "<64 lowercase hex>  <file name>", got ${JSON.stringify(line.slice(0, 120))}`);
      checkFileName(file, `SHA256SUMS line ${n}`);
      const prev = seen.get(file);
      if (prev !== undefined) throw new Error(`SHA256SUMS line ${n}: ${file} is already listed on line ${prev}`);
      seen.set(file, n);
      entries[i] = entry(file, line.slice(0, 64));
    }
    return new Manifest(entries);
  }

  /** Adds or replaces entries by file name; the result is canonical, or this manifest itself when nothing changes. */
  upsert(entries: readonly { file: string; sha256: string }[]): Manifest {
    const index = new Map<string, number>();
    for (let i = 0; i < this.entries.length; i++) index.set(this.entries[i].file, i);
    const given = new Set<string>();
    const replaced = new Map<number, ManifestEntry>();
    const added: ManifestEntry[] = [];
    for (const e of entries) {
      checkFileName(e.file, 'upsert');
      if (!HEX64.test(e.sha256)) {
        throw new Error(`upsert ${e.file}: sha256 ${JSON.stringify(e.sha256)} is not 64 lowercase hex digits`);
      }
      if (given.has(e.file)) throw new Error(`upsert: ${e.file} is given twice`);
      given.add(e.file);
      const i = index.get(e.file);
      if (i === undefined) added.push(entry(e.file, e.sha256));
      else if (this.entries[i].sha256 !== e.sha256) replaced.set(i, entry(e.file, e.sha256));
    }
    if (added.length === 0 && replaced.size === 0) return this;
    const next = this.entries.map((e, i) => replaced.get(i) ?? e);
    const keys = [...this.keys()];
    for (const e of added) {
      next.push(e);
      keys.push(sortKey(e.file));
    }
    return Manifest.canonical(next, keys);
  }

  /** Removes every entry of image `name` at `version` (all arches, and the arch-less copy). */
  removeVersion(name: string, version: string): Manifest {
    const v = semver.valid(version);
    if (v === null) throw new Error(`removeVersion ${name}: version ${JSON.stringify(version)} is not semver`);
    return this.without((k) => cleanVersionOf(k, name) === v);
  }

  /** Keeps the newest `keep` versions of image `name` (semver order); other images' entries are untouched. */
  prune(name: string, keep: number): Manifest {
    if (!Number.isInteger(keep) || keep < 1) {
      throw new Error(`prune ${name}: keep must be a whole number >= 1, got ${keep}`);
    }
    const drop = new Set(
      this.versionKeys(name)
        .slice(0, -keep)
        .map(([clean]) => clean),
    );
    return this.without((k) => drop.has(cleanVersionOf(k, name) ?? ''));
  }

  /** Without the matching entries: canonical, or this manifest itself when none match. */
  private without(drop: (k: SortKey) => boolean): Manifest {
    const keys = this.keys();
    const kept = this.entries.map((_, i) => i).filter((i) => !drop(keys[i]));
    return kept.length === this.entries.length
      ? this
      : Manifest.canonical(
          kept.map((i) => this.entries[i]),
          kept.map((i) => keys[i]),
        );
  }

  /** Distinct versions of image `name`, oldest first (semver), as written in the file names. */
  versions(name: string): string[] {
    return this.versionKeys(name).map(([, raw]) => raw);
  }

  /** [normalized, as written] per distinct version of `name`, semver ascending (the first spelling in canonical order). */
  private versionKeys(name: string): [string, string][] {
    const keyed = this.keys().filter((k) => k.stem === name && k.version);
    keyed.sort(compareKeys);
    const byClean = new Map<string, string>();
    for (const k of keyed) if (!byClean.has(k.version!.version)) byClean.set(k.version!.version, k.rawVersion!);
    return [...byClean.entries()];
  }

  get(file: string): ManifestEntry | undefined {
    return this.entries.find((e) => e.file === file);
  }

  /** `sha256sum` format "<hash>  <file>\n" per entry, in this manifest's order (canonical after any change); "" when empty. */
  serialize(): string {
    return this.entries.map((e) => `${e.sha256}  ${e.file}\n`).join('');
  }
}

/** Entries are frozen when made, and shared between derived manifests along with their sort keys: upsert/prune on a
 *  10 000-entry manifest re-sorts without re-parsing every name. */
function entry(file: string, sha256: string): ManifestEntry {
  return Object.freeze({ file, sha256 });
}

/** The normalized semver of the entry keyed `k` if it is an image called `name`. */
function cleanVersionOf(k: SortKey, name: string): string | undefined {
  return k.stem === name ? k.version?.version : undefined;
}

/** A bare file name sysupdate can match: no directories, no control characters, no leading/trailing space, valid
 *  UTF-8 of at most 255 bytes (systemd's filename_is_valid and utf8_is_valid). */
function checkFileName(file: string, where: string): void {
  if (isPlainName(file)) return;
  if (file === '' || file === '.' || file === '..' || /[/\\\x00-\x1f\x7f]/.test(file) || file.trim() !== file) {
    throw new Error(
      `${where}: file name ${JSON.stringify(file)} must be a bare file name (no "/", "\\\\", control characters or surrounding spaces)`,
    );
  }
  if (LONE_SURROGATE.test(file) || file.includes('\uFFFD')) {
    throw new Error(
      `${where}: file name ${JSON.stringify(file)} is not valid UTF-8 (it holds U+FFFD or a lone surrogate: ` +
        `the bytes were not UTF-8, or were decoded lossily); expected a UTF-8 file name`,
    );
  }
  const bytes = Buffer.byteLength(file, 'utf8');
  if (bytes > MAX_NAME_BYTES)
    throw new Error(
      `${where}: file name ${JSON.stringify(file.slice(0, 40) + '…')} is ${bytes} bytes; at most ${MAX_NAME_BYTES} are allowed`,
    );
}

/** The common case, decided in one pass over the code units: printable ASCII, no "/" or "\\", no surrounding space,
 *  not "." or "..", at most 255 bytes. Any other name goes through checkFileName's full checks. */
function isPlainName(file: string): boolean {
  if (file === '' || file === '.' || file === '..' || file.length > MAX_NAME_BYTES) return false;
  const last = file.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = file.charCodeAt(i);
    if (c > 0x20 ? c >= 0x7f || c === 0x2f || c === 0x5c : c !== 0x20 || i === 0 || i === last) return false;
  }
  return true;
}

/** Whether the line starts with 64 lowercase hex digits. */
function isHex64(line: string): boolean {
  for (let i = 0; i < 64; i++) {
    const c = line.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** Decode the file's bytes as UTF-8, refusing (with the line number) any byte sequence that is not UTF-8. */
function decodeStrict(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && bytes[i] !== 0x0a) continue;
      try {
        utf8.decode(bytes.subarray(start, i));
      } catch {
        throw new Error(`SHA256SUMS line ${line}: is not valid UTF-8; expected a UTF-8 file name`, { cause });
      }
      line++;
      start = i + 1;
    }
    throw new Error('SHA256SUMS is not valid UTF-8', { cause });
  }
}
