// Located edit of the release key entry in a Butane file: the `storage.files[]` item at a known path whose contents are
// the public keys hosts verify SHA256SUMS.gpg with. Two forms exist: armored blocks in a literal block scalar
// (`inline: |`, as ghost-stack keeps /etc/systemd/alloy-sysext.gpg.pub) and a base64 data URL of a binary keyring
// (`source: data:;base64,…`, as the published snippet installs it). Adding a key appends it next to the others;
// removing one deletes exactly its lines (or bytes); every other byte of the file stays. The result is read back and
// its fingerprints confirmed, as ButaneUpdater confirms a pin.
import { armorPublicKeys, readKeyring, type KeyringKey } from '@alloy-sysext/signing';
import { isScalar, type Scalar } from 'yaml';
import {
  applyEdits,
  ButaneError,
  editInScalar,
  escapeRe,
  getIn,
  scalarString,
  sequenceItems,
  splitLines,
  type Edit,
  type Line,
  type Range,
} from './butane-scan.js';

/** The keys a consumer file installs at one path, in file order. */
export interface KeyEntry {
  /** `storage.files[].path` */
  path: string;
  /** 1-based line of the files entry */
  line: number;
  form: 'inline' | 'data-url';
  keys: KeyringKey[];
}

interface ArmorBlock {
  /** line indexes of `-----BEGIN …` and `-----END …` */
  begin: number;
  end: number;
  keys: KeyringKey[];
}

interface LocatedKeys {
  entry: KeyEntry;
  lines: Line[];
  /** inline form: the armored blocks, in order */
  blocks?: ArmorBlock[];
  /** data-url form: where the base64 payload sits */
  payload?: { range: Range; base64: string };
}

const BEGIN = '-----BEGIN PGP PUBLIC KEY BLOCK-----';
const END = '-----END PGP PUBLIC KEY BLOCK-----';
const DATA_URL = /^data:([^,]*?)(;base64)?,([\s\S]*)$/;

async function locateKeys(text: string, keyPath: string, label: string): Promise<LocatedKeys> {
  const lines = splitLines(text);
  const relevant = new RegExp(escapeRe(keyPath));
  const items = sequenceItems(text, lines, 'files', relevant, label).filter((i) => scalarString(getIn(i.item, 'path')) === keyPath);
  if (items.length === 0)
    throw new ButaneError(
      `${label}: no storage.files entry with path ${keyPath}; is that where this file installs the release keys (the consumer's keyPath)?`,
    );
  if (items.length > 1)
    throw new ButaneError(
      `${label}: ${items.length} storage.files entries with path ${keyPath} (lines ${items.map((i) => i.line).join(', ')})`,
    );
  const { item, range, line } = items[0]!;
  const where = `${label}: storage.files entry ${keyPath} at line ${line}`;
  const contents = getIn(item, 'contents');
  const inline = getIn(contents, 'inline');
  const source = getIn(contents, 'source');
  if (isScalar(inline) && typeof inline.value === 'string') {
    if (inline.type !== 'BLOCK_LITERAL')
      throw new ButaneError(`${where}: contents.inline is a ${inline.type} scalar; write the keys as a literal block (inline: |)`);
    const [start, end] = range(inline as Scalar);
    const first = lines.findIndex((l) => l.start > start);
    const content = lines.slice(first).filter((l) => l.start < end);
    const blocks: ArmorBlock[] = [];
    let open: number | undefined;
    for (const l of content) {
      const t = l.text.trim();
      if (t === BEGIN) open = l.number - 1;
      if (t === END && open !== undefined) {
        blocks.push({ begin: open, end: l.number - 1, keys: [] });
        open = undefined;
      }
    }
    if (blocks.length === 0) throw new ButaneError(`${where}: contents.inline holds no armored public key (${BEGIN})`);
    for (const block of blocks) {
      const armored = lines
        .slice(block.begin, block.end + 1)
        .map((l) => l.text.trim())
        .join('\n');
      block.keys = await readKeyring(armored, `${where}, the block at line ${block.begin + 1}`).catch((error: Error) => {
        throw new ButaneError(error.message);
      });
    }
    return { entry: { path: keyPath, line, form: 'inline', keys: blocks.flatMap((b) => b.keys) }, lines, blocks };
  }
  const url = isScalar(source) ? scalarString(source) : undefined;
  if (url === undefined) throw new ButaneError(`${where}: expected the keys in contents.inline (armored) or contents.source (a data: URL)`);
  const m = DATA_URL.exec(url);
  if (!m)
    throw new ButaneError(`${where}: contents.source ${JSON.stringify(url.slice(0, 60))} is not a data: URL, so it cannot be edited here`);
  if (!m[2]) throw new ButaneError(`${where}: contents.source is a data: URL without ;base64; expected data:;base64,<keyring>`);
  const base64 = m[3]!;
  const keys = await readKeyring(new Uint8Array(Buffer.from(base64, 'base64')), `${where}, its data: URL`).catch((error: Error) => {
    throw new ButaneError(error.message);
  });
  return { entry: { path: keyPath, line, form: 'data-url', keys }, lines, payload: { range: range(source as Scalar), base64 } };
}

/** The release keys a consumer file installs at `keyPath`. */
export async function readKeyEntry(text: string, opts: { keyPath: string; label?: string }): Promise<KeyEntry> {
  return (await locateKeys(text, opts.keyPath, opts.label ?? 'Butane file')).entry;
}

const newline = (text: string, line: Line) => (text.charCodeAt(line.end) === 13 ? '\r\n' : '\n');

/** The armored text of `keys` as lines of a block scalar indented `indent` (blank armor lines stay empty). */
function armorLines(keys: KeyringKey[], indent: string): string[] {
  const binary = Buffer.concat(keys.map((k) => k.binary));
  return armorPublicKeys(binary)
    .trimEnd()
    .split('\n')
    .map((l) => (l ? indent + l : ''));
}

/** Adds or removes one public key in a consumer file's key entry; a pure text → text edit, read back and confirmed. */
export class KeyEntryUpdater {
  constructor(private readonly keyPath: string) {}

  read(text: string, label?: string): Promise<KeyEntry> {
    return readKeyEntry(text, { keyPath: this.keyPath, label });
  }

  /** Appends `key` after the last key of the entry. */
  async addKey(text: string, key: KeyringKey, label = 'Butane file'): Promise<string> {
    const found = await locateKeys(text, this.keyPath, label);
    if (found.entry.keys.some((k) => k.fingerprint === key.fingerprint))
      throw new ButaneError(`${label}: ${this.keyPath} already holds key ${key.fingerprint}`);
    let edit: Edit;
    if (found.blocks) {
      const last = found.lines[found.blocks.at(-1)!.end]!;
      const indent = found.lines[found.blocks.at(-1)!.begin]!.text.match(/^\s*/)![0];
      const nl = newline(text, last);
      // an empty line, then the new block
      edit = { start: last.end, end: last.end, text: nl + nl + armorLines([key], indent).join(nl) };
    } else {
      const { range, base64 } = found.payload!;
      const bytes = Buffer.concat([Buffer.from(base64, 'base64'), key.binary]);
      edit = editInScalar(text, range, base64, bytes.toString('base64'), 'contents.source', label);
    }
    return this.confirm(applyEdits(text, [edit]), [...found.entry.keys.map((k) => k.fingerprint), key.fingerprint], label);
  }

  /** Removes the key with `fingerprint`; refuses to remove the last key (hosts would then trust none of ours). */
  async removeKey(text: string, fingerprint: string, label = 'Butane file'): Promise<string> {
    const found = await locateKeys(text, this.keyPath, label);
    const keep = found.entry.keys.filter((k) => k.fingerprint !== fingerprint);
    if (keep.length === found.entry.keys.length) throw new ButaneError(`${label}: ${this.keyPath} does not hold key ${fingerprint}`);
    if (keep.length === 0)
      throw new ButaneError(`${label}: ${fingerprint} is the only key in ${this.keyPath}; refusing to leave hosts without a release key`);
    let edits: Edit[];
    if (found.blocks) edits = this.removeBlock(text, found.lines, found.blocks, fingerprint);
    else {
      const { range, base64 } = found.payload!;
      const bytes = Buffer.concat(keep.map((k) => k.binary));
      edits = [editInScalar(text, range, base64, bytes.toString('base64'), 'contents.source', label)];
    }
    return this.confirm(
      applyEdits(text, edits),
      keep.map((k) => k.fingerprint),
      label,
    );
  }

  /** The lines of the block holding the key, and the empty lines that separated it from its neighbour. */
  private removeBlock(text: string, lines: Line[], blocks: ArmorBlock[], fingerprint: string): Edit[] {
    const at = blocks.findIndex((b) => b.keys.some((k) => k.fingerprint === fingerprint));
    const block = blocks[at]!;
    if (block.keys.length > 1) {
      // one armor holding several keys: write the others back as one armor in its place
      const indent = lines[block.begin]!.text.match(/^\s*/)![0];
      const rest = block.keys.filter((k) => k.fingerprint !== fingerprint);
      const nl = newline(text, lines[block.end]!);
      return [{ start: lines[block.begin]!.start, end: lines[block.end]!.end, text: armorLines(rest, indent).join(nl) }];
    }
    const blank = (i: number) => lines[i]!.kind === 'blank';
    let from = block.begin;
    let to = block.end;
    if (at + 1 < blocks.length) while (to + 1 < blocks[at + 1]!.begin && blank(to + 1)) to++;
    else while (from - 1 > blocks[at - 1]!.end && blank(from - 1)) from--;
    // whole lines, with the newline that ends the last one
    const end = to + 1 < lines.length ? lines[to + 1]!.start : lines[to]!.end;
    return [{ start: lines[from]!.start, end, text: '' }];
  }

  private async confirm(out: string, expected: string[], label: string): Promise<string> {
    let entry: KeyEntry;
    try {
      entry = await this.read(out, label);
    } catch (error) {
      throw new ButaneError(`${label}: the edited file does not read back: ${(error as Error).message}`);
    }
    const got = entry.keys.map((k) => k.fingerprint);
    if (got.join(' ') !== expected.join(' '))
      throw new ButaneError(
        `${label}: ${this.keyPath} reads back as keys ${got.join(', ')}, expected ${expected.join(', ')}; nothing was changed`,
      );
    return out;
  }
}
