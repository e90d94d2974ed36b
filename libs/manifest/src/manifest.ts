// The SHA256SUMS model. Immutable: every operation returns a new Manifest, so a compare-and-swap loop can retry from
// the remote text without undoing anything. Serialization is canonical (sorted by compareFiles, "\n" line ends), so the
// same set of entries always yields the same bytes, whatever order they were read or added in.
import semver from 'semver';
import { compareKeys, sortKey, type SortKey } from './names.js';

export interface ManifestEntry {
  /** Bare file name, as in the bucket (no directories). */
  readonly file: string;
  /** 64 lowercase hex digits. */
  readonly sha256: string;
  /** `sha256sum` binary-mode marker ("<hash> *<file>"): kept as read for entries we did not write. */
  readonly binary?: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;
const LINE = /^([0-9a-f]{64}) ([ *])(.+)$/;

export class Manifest {
  readonly entries: readonly ManifestEntry[];

  private constructor(entries: ManifestEntry[]) {
    const keyed = entries.map((e) => ({ e: Object.freeze(e), k: keyOf(e) }));
    keyed.sort((a, b) => compareKeys(a.k, b.k));
    this.entries = Object.freeze(keyed.map(({ e }) => e));
  }

  static empty(): Manifest {
    return new Manifest([]);
  }

  /**
   * Strict parse: each line is `<64 lowercase hex><two spaces | space-asterisk><file name>`, lines end in "\n" (a missing
   * final newline is tolerated), no blank lines, no CR, no paths, no duplicate names. Errors name the line number.
   */
  static parse(text: string): Manifest {
    if (text === '') return new Manifest([]);
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const seen = new Map<string, number>();
    const entries = lines.map((line, i) => {
      const n = i + 1;
      if (line.endsWith('\r')) throw new Error(`SHA256SUMS line ${n}: ends in a carriage return; expected "\\n" line endings`);
      const m = LINE.exec(line);
      if (!m) {
        throw new Error(`SHA256SUMS line ${n}: expected "<64 lowercase hex>  <file name>", got ${JSON.stringify(line.slice(0, 120))}`);
      }
      const [, sha256, mode, file] = m;
      checkFileName(file, `SHA256SUMS line ${n}`);
      const prev = seen.get(file);
      if (prev !== undefined) throw new Error(`SHA256SUMS line ${n}: ${file} is already listed on line ${prev}`);
      seen.set(file, n);
      return mode === '*' ? { file, sha256, binary: true } : { file, sha256 };
    });
    return new Manifest(entries);
  }

  /** Adds or replaces entries by file name; replaced entries take the two-space (text-mode) form. */
  upsert(entries: readonly { file: string; sha256: string }[]): Manifest {
    const byFile = new Map(this.entries.map((e) => [e.file, e] as const));
    const added = new Set<string>();
    for (const e of entries) {
      checkFileName(e.file, 'upsert');
      if (!HEX64.test(e.sha256)) {
        throw new Error(`upsert ${e.file}: sha256 ${JSON.stringify(e.sha256)} is not 64 lowercase hex digits`);
      }
      if (added.has(e.file)) throw new Error(`upsert: ${e.file} is given twice`);
      added.add(e.file);
      byFile.set(e.file, { file: e.file, sha256: e.sha256 });
    }
    return new Manifest([...byFile.values()]);
  }

  /** Removes every entry of image `name` at `version` (all arches, and the arch-less copy). */
  removeVersion(name: string, version: string): Manifest {
    const v = semver.valid(version);
    if (v === null) throw new Error(`removeVersion ${name}: version ${JSON.stringify(version)} is not semver`);
    return new Manifest(this.entries.filter((e) => cleanVersionOf(e, name) !== v));
  }

  /** Keeps the newest `keep` versions of image `name` (semver order); other images' entries are untouched. */
  prune(name: string, keep: number): Manifest {
    if (!Number.isInteger(keep) || keep < 1) {
      throw new Error(`prune ${name}: keep must be a whole number >= 1, got ${keep}`);
    }
    const drop = new Set(this.versionKeys(name).slice(0, -keep).map(([clean]) => clean));
    return new Manifest(this.entries.filter((e) => !drop.has(cleanVersionOf(e, name) ?? '')));
  }

  /** Distinct versions of image `name`, oldest first (semver), as written in the file names. */
  versions(name: string): string[] {
    return this.versionKeys(name).map(([, raw]) => raw);
  }

  /** [normalized, as written] per distinct version of `name`, semver ascending. Entries are already in that order. */
  private versionKeys(name: string): [string, string][] {
    const byClean = new Map<string, string>();
    for (const e of this.entries) {
      const k = keyOf(e);
      if (k.stem === name && k.version && !byClean.has(k.version.version)) byClean.set(k.version.version, k.rawVersion!);
    }
    return [...byClean.entries()];
  }

  get(file: string): ManifestEntry | undefined {
    return this.entries.find((e) => e.file === file);
  }

  /** `sha256sum` format, canonical order, "\n" after every line; "" when empty. */
  serialize(): string {
    return this.entries.map((e) => `${e.sha256} ${e.binary ? '*' : ' '}${e.file}\n`).join('');
  }
}

// Entries are frozen and shared between derived manifests, so their parsed sort keys can be cached: upsert/prune on a
// 10 000-entry manifest then re-sorts without re-parsing every name.
const keys = new WeakMap<ManifestEntry, SortKey>();
function keyOf(e: ManifestEntry): SortKey {
  let k = keys.get(e);
  if (!k) keys.set(e, (k = sortKey(e.file)));
  return k;
}

/** The normalized semver of `e` if it is an image called `name`. */
function cleanVersionOf(e: ManifestEntry, name: string): string | undefined {
  const k = keyOf(e);
  return k.stem === name ? k.version?.version : undefined;
}

/** A bare file name sysupdate can match: no directories, no control characters, no leading/trailing space. */
function checkFileName(file: string, where: string): void {
  if (file === '' || file === '.' || file === '..' || /[/\\\x00-\x1f\x7f]/.test(file) || file.trim() !== file) {
    throw new Error(`${where}: file name ${JSON.stringify(file)} must be a bare file name (no "/", "\\\\", control characters or surrounding spaces)`);
  }
}
