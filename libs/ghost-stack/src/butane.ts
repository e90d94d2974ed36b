// Located edit of a Flatcar Butane config (or a Terraform template of one): bump a sysext image's version and hash
// without touching any other byte. In the style of release-please's updaters: one class,
// a pure updateContent(text) → text.
//
// How it works: templates are not YAML, so the file is never parsed as a whole. The line scan of butane-scan.ts finds
// the block sequences `storage.files` and `storage.links` (lines that are only template directives such as
// `%{ for … ~}` or interpolations such as `${extra_files}` are transparent, wherever they sit) and parses each item on
// its own; only the exact substrings inside its scalars' source ranges are replaced (quoting style, comments and
// everything else stay as they were); the result is read back and the new values are confirmed.
import { ARCHES, imageFileName, normalizeVersion, parseOwnImageName, type Arch, type OwnImageName } from '@alloy-sysext/common';
import { isScalar, type Scalar } from 'yaml';
import {
  applyEdits,
  basename,
  ButaneError,
  editInScalar,
  escapeRe,
  getAll,
  getIn,
  lineOf,
  scalarString,
  sequenceItems,
  splitLines,
  type Edit,
  type Range,
} from './butane-scan.js';

export { ButaneError };

export type { Arch };

export interface ButaneUpdaterOptions {
  /** sysext name: images are <name>-<version>-<arch>.raw */
  name: string;
  version: string;
  sha256: string;
  arch: Arch;
  /** URL of the image for a file name. When given, `contents.source` becomes imageUrl(file) unless the current
   *  source is templated (contains `${`), in which case only the file name in it is swapped. */
  imageUrl?: (file: string) => string;
}

/** What a consumer file pins for one image. */
export interface Pinned {
  name: string;
  version: string;
  sha256: string;
  /** image file name, e.g. alloy-1.10.1-amd64.raw */
  file: string;
  arch: Arch;
  /** `storage.files[].path` */
  path: string;
  /** `contents.source` */
  source: string;
  /** `storage.links[]` paths whose target is this image */
  links: string[];
  /** 1-based line of the files entry */
  line: number;
}

const SHA256_RE = /^[0-9a-f]{64}$/;

type ImageName = OwnImageName;

interface Located {
  pinned: Pinned;
  image: ImageName;
  path: Range;
  source: Range;
  /** contents.source is a plain (unquoted) scalar */
  sourcePlain: boolean;
  hash: Range;
  links: Array<{ range: Range; target: string; path: string }>;
}

function locateAll(text: string, name: string, label: string): Located[] {
  const lines = splitLines(text);
  const found: Located[] = [];
  // only an item that names our image has to be readable; anything else is the template's business
  const relevant = new RegExp(`${escapeRe(name)}-[0-9]`);
  for (const { item, range, line } of sequenceItems(text, lines, 'files', relevant, label)) {
    const pathNode = getIn(item, 'path');
    const contents = getIn(item, 'contents');
    const sourceNode = getIn(contents, 'source');
    const path = scalarString(pathNode);
    const source = scalarString(sourceNode);
    const fromPath = path !== undefined ? parseOwnImageName(name, basename(path)) : undefined;
    const fromSource = source !== undefined ? parseOwnImageName(name, basename(source)) : undefined;
    if (!fromPath && !fromSource) continue;
    const image = (fromPath ?? fromSource)!;
    const where = `${label}: storage.files entry at line ${line}`;
    if (!fromPath || !isScalar(pathNode))
      throw new ButaneError(
        `${where}: contents.source names ${name} image ${basename(source!)} but path ${JSON.stringify(path ?? null)} does not`,
      );
    if (!fromSource || !isScalar(sourceNode))
      throw new ButaneError(
        `${where}: path names ${name} image ${basename(path!)} but contents.source ${JSON.stringify(source ?? null)} does not; expected a URL ending in ${basename(path!)}`,
      );
    if (fromPath.version !== fromSource.version || fromPath.arch !== fromSource.arch)
      throw new ButaneError(
        `${where}: path names ${basename(path!)} but contents.source names ${basename(source!)}; they must name the same image`,
      );
    const hashNode = getIn(getIn(contents, 'verification'), 'hash');
    const hash = scalarString(hashNode);
    if (hash === undefined || !isScalar(hashNode))
      throw new ButaneError(
        `${where} (${basename(path!)}) has no contents.verification.hash; expected "sha256-<64 hex>" so Ignition verifies the image`,
      );
    const m = /^sha256-([0-9a-f]{64})$/.exec(hash);
    if (!m)
      throw new ButaneError(
        `${where} (${basename(path!)}): contents.verification.hash ${JSON.stringify(hash)} is not "sha256-<64 lowercase hex>"`,
      );
    found.push({
      image,
      path: range(pathNode as Scalar),
      source: range(sourceNode as Scalar),
      sourcePlain: (sourceNode as Scalar).type === 'PLAIN',
      hash: range(hashNode as Scalar),
      links: [],
      pinned: {
        name,
        version: image.version,
        sha256: m[1]!,
        file: basename(path!),
        arch: image.arch,
        path: path!,
        source: source!,
        links: [],
        line,
      },
    });
  }
  for (const { item, range } of sequenceItems(text, lines, 'links', relevant, label)) {
    // A template may hold several `target:` keys in one entry (one per `%{ if }` branch): consider each.
    for (const targetNode of getAll(item, 'target')) {
      const target = scalarString(targetNode);
      if (target === undefined || !isScalar(targetNode)) continue;
      const image = parseOwnImageName(name, basename(target));
      if (!image) continue;
      const linkPath = scalarString(getIn(item, 'path')) ?? '';
      const targetRange = range(targetNode as Scalar);
      const line = lineOf(text, targetRange[0]);
      const owner = found.find((f) => f.pinned.file === basename(target));
      if (!owner) {
        const sameArch = found.filter((f) => f.image.arch === image.arch);
        if (sameArch.length > 0)
          throw new ButaneError(
            `${label}: storage.links target at line ${line} targets ${target} but the ${name} ${image.arch} image in storage.files is ${sameArch.map((f) => f.pinned.path).join(', ')}; fix the link target first`,
          );
        continue;
      }
      owner.links.push({ range: targetRange, target, path: linkPath });
      owner.pinned.links.push(linkPath);
    }
  }
  return found;
}

function pick<T extends { image: ImageName; pinned: Pinned }>(found: T[], name: string, arch: Arch | undefined, label: string): T {
  const candidates = arch ? found.filter((f) => f.image.arch === arch) : found;
  if (candidates.length === 0) {
    const others = found.map((f) => `${f.pinned.file} (line ${f.pinned.line})`).join(', ');
    throw new ButaneError(
      `${label}: no storage.files entry for the ${name}${arch ? ` ${arch}` : ''} image (path and contents.source naming ${imageFileName(name, '<version>', arch ?? 'amd64')})` +
        (others ? `; found only ${others}` : ''),
    );
  }
  if (candidates.length > 1)
    throw new ButaneError(
      `${label}: ambiguous: ${candidates.length} storage.files entries for the ${name}${arch ? ` ${arch}` : ''} image: ` +
        candidates.map((f) => `${f.pinned.file} (line ${f.pinned.line})`).join(', ') +
        (arch ? '; keep exactly one' : '; pass the arch'),
    );
  return candidates[0]!;
}

/** What the file pins for the image (exactly one entry for the arch, or exactly one entry overall when arch is omitted). */
export function readPinned(text: string, opts: { name?: string; arch?: Arch; label?: string } = {}): Pinned {
  const name = opts.name ?? 'alloy';
  const label = opts.label ?? 'Butane file';
  const found = pick(locateAll(text, name, label), name, opts.arch, label);
  return found.pinned;
}

export class ButaneUpdater {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly arch: Arch;
  private readonly imageUrl?: (file: string) => string;

  constructor(opts: ButaneUpdaterOptions) {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(opts.name))
      throw new ButaneError(`sysext name ${JSON.stringify(opts.name)} is not a valid image name`);
    if (!isPlainVersion(opts.version))
      throw new ButaneError(`version ${JSON.stringify(opts.version)} is not a semantic version like 1.10.1 (no leading "v")`);
    if (!SHA256_RE.test(opts.sha256)) throw new ButaneError(`sha256 ${JSON.stringify(opts.sha256)} is not 64 lowercase hex digits`);
    if (!ARCHES.includes(opts.arch)) throw new ButaneError(`arch ${JSON.stringify(opts.arch)} is not one of ${ARCHES.join(', ')}`);
    this.name = opts.name;
    this.version = opts.version;
    this.sha256 = opts.sha256;
    this.arch = opts.arch;
    this.imageUrl = opts.imageUrl;
  }

  readPinned(text: string, label?: string): Pinned {
    return readPinned(text, { name: this.name, arch: this.arch, label });
  }

  /** The file name the updated entry will use (keeps the compatibility form if the consumer uses it). */
  targetFile(current: Pinned): string {
    const compat = parseOwnImageName(this.name, current.file)?.compat ?? false;
    return imageFileName(this.name, this.version, compat ? undefined : this.arch);
  }

  updateContent(text: string, label = 'Butane file'): string {
    const found = pick(locateAll(text, this.name, label), this.name, this.arch, label);
    const old = found.pinned;
    const newFile = this.targetFile(old);
    const edits: Edit[] = [];
    if (old.file !== newFile) edits.push(editInScalar(text, found.path, old.file, newFile, 'storage.files[].path', label));
    const sourceBase = basename(old.source);
    if (this.imageUrl && !old.source.includes('${')) {
      const url = this.imageUrl(newFile);
      if (basename(url) !== newFile) throw new ButaneError(`imageUrl(${newFile}) returned ${url}, which does not end in ${newFile}`);
      if (url !== old.source) {
        const [start, end] = found.source;
        const raw = text.slice(start, end);
        const at = raw.indexOf(old.source);
        if (at < 0)
          throw new ButaneError(
            `${label}: cannot locate contents.source ${JSON.stringify(old.source)} literally (line ${lineOf(text, start)})`,
          );
        if (found.sourcePlain && /[:#]\s|\s#|^[-?:,[\]{}#&*!|>'"%@`]/.test(url))
          throw new ButaneError(`imageUrl ${url} cannot be written as a plain YAML scalar; quote contents.source in the consumer file`);
        edits.push({ start: start + at, end: start + at + old.source.length, text: url });
      }
    } else if (sourceBase !== newFile) {
      edits.push(editInScalar(text, found.source, sourceBase, newFile, 'contents.source', label));
    }
    if (old.sha256 !== this.sha256)
      edits.push(editInScalar(text, found.hash, old.sha256, this.sha256, 'contents.verification.hash', label));
    if (old.file !== newFile)
      for (const link of found.links) edits.push(editInScalar(text, link.range, old.file, newFile, 'storage.links[].target', label));

    const out = applyEdits(text, edits);

    // Read back and confirm (Renovate style): the entry now names the new image and hash, links follow it,
    // and the file still has exactly one entry for this arch.
    let check: Pinned;
    try {
      check = this.readPinned(out, label);
    } catch (e) {
      throw new ButaneError(`${label}: the edited file does not read back: ${(e as Error).message}`);
    }
    const expectLinks = old.links.length;
    if (check.version !== this.version || check.sha256 !== this.sha256 || check.file !== newFile || check.links.length !== expectLinks)
      throw new ButaneError(
        `${label}: the edited file reads back as ${check.file} sha256-${check.sha256} with ${check.links.length} link(s), ` +
          `expected ${newFile} sha256-${this.sha256} with ${expectLinks} link(s); nothing was changed`,
      );
    return out;
  }
}

/** A version as image names carry it: strict semver, no leading "v". */
function isPlainVersion(version: string): boolean {
  try {
    return normalizeVersion(version, { allowPrerelease: true }) === version;
  } catch {
    return false;
  }
}
