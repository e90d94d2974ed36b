// The line scan under every located edit of a Butane file (or a Terraform template of one, which is not YAML): find a
// block sequence under `storage` by indentation, parse each `- …` item on its own with `yaml` (template lines blanked),
// and map its scalars' source ranges back to the original text, so an edit replaces exactly those bytes.
import { parseDocument, isMap, isSeq, isScalar, type Scalar, type Node as YamlNode } from 'yaml';

export class ButaneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ButaneError';
  }
}

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function basename(s: string): string {
  const noQuery = s.replace(/[?#].*$/, '');
  return noQuery.slice(noQuery.lastIndexOf('/') + 1);
}

/** A line of the file: its offsets in the original text (end excludes `\r\n`), text, indent and kind. */
export interface Line {
  start: number;
  end: number;
  text: string;
  indent: number;
  /** template: only Terraform directives/interpolations (`%{ for … ~}`, `${extra}`); transparent to the structure */
  kind: 'blank' | 'comment' | 'template' | 'content';
  /** 1-based */
  number: number;
}

const TEMPLATE_LINE_RE = /^[ \t]*(?:(?:%|\$)\{.*?\}[ \t]*)+$/;

export function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  for (let number = 1; start <= text.length; number++) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    const line = text.slice(start, end);
    const trimmed = line.trimStart();
    const kind = trimmed === '' ? 'blank' : trimmed.startsWith('#') ? 'comment' : TEMPLATE_LINE_RE.test(line) ? 'template' : 'content';
    lines.push({ start, end, text: line, indent: line.length - trimmed.length, kind, number });
    start = nl + 1;
  }
  return lines;
}

export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export type Range = [start: number, end: number];

export function getIn(node: unknown, key: string): YamlNode | undefined {
  if (!isMap(node)) return undefined;
  return node.get(key, true) as YamlNode | undefined;
}

export function getAll(node: unknown, key: string): YamlNode[] {
  if (!isMap(node)) return [];
  return node.items.filter((p) => isScalar(p.key) && p.key.value === key && p.value).map((p) => p.value as YamlNode);
}

export function scalarString(node: unknown): string | undefined {
  return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
}

/** The lines below a block key `<key>:` (indexes [from, to)): up to the next content line at or left of the key,
 *  except `- ` items at the key's own indent (a compact sequence). Blank, comment and template lines never end it. */
function blockBody(lines: Line[], keyIdx: number, to: number): [number, number] {
  const key = lines[keyIdx]!;
  let i = keyIdx + 1;
  for (; i < to; i++) {
    const l = lines[i]!;
    if (l.kind !== 'content' || l.indent > key.indent) continue;
    if (l.indent === key.indent && /^-(?:\s|$)/.test(l.text.slice(l.indent))) continue;
    break;
  }
  return [keyIdx + 1, i];
}

/** The line index of the block key `<key>:` among the least-indented content lines of [from, to), if any. */
function findKey(lines: Line[], from: number, to: number, key: string, label: string, what: string): number | undefined {
  let indent = Infinity;
  for (let i = from; i < to; i++) if (lines[i]!.kind === 'content') indent = Math.min(indent, lines[i]!.indent);
  const re = new RegExp(`^${key}:(?:\\s+(.*?))?\\s*$`);
  for (let i = from; i < to; i++) {
    const l = lines[i]!;
    if (l.kind !== 'content' || l.indent !== indent) continue;
    const m = re.exec(l.text.slice(l.indent).replace(/\s+#.*$/, ''));
    if (!m) continue;
    const inline = m[1] ?? '';
    if (inline === '') return i;
    if (inline === '[]' || inline === '{}' || inline === '~' || inline === 'null') return undefined;
    throw new ButaneError(
      `${label}: ${what} at line ${l.number} is written inline (${JSON.stringify(inline.slice(0, 40))}); only a block sequence ("- …" items) can be edited in place`,
    );
  }
  return undefined;
}

/** One `- …` item of a block sequence, parsed on its own: template lines become empty lines, so a directive at
 *  column 0 inside a `|` block scalar cannot end it, and nothing outside the item has to be YAML. */
export function parseItem(text: string, lines: Line[], from: number, to: number, relevant: RegExp, label: string) {
  const masked: string[] = [];
  const maskedStart: number[] = [];
  let at = 0;
  for (let i = from; i < to; i++) {
    const l = lines[i]!;
    const t = l.kind === 'template' ? '' : l.text;
    maskedStart.push(at);
    masked.push(t);
    at += t.length + 1;
  }
  const source = masked.join('\n');
  const toOriginal = (offset: number): number => {
    let k = maskedStart.length - 1;
    while (k > 0 && maskedStart[k]! > offset) k--;
    return lines[from + k]!.start + (offset - maskedStart[k]!);
  };
  const doc = parseDocument(source, { uniqueKeys: false, keepSourceTokens: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    // Only an item the edit is about has to be readable; anything else is the template's business.
    if (!relevant.test(text.slice(lines[from]!.start, lines[to - 1]!.end))) return undefined;
    const e = doc.errors[0]!;
    const line = e.pos ? lineOf(text, toOriginal(e.pos[0])) : lines[from]!.number;
    throw new ButaneError(`${label}: not readable as Butane YAML at line ${line}: ${e.message.split('\n')[0]}`);
  }
  const seq = doc.contents;
  const item = isSeq(seq) && seq.items.length === 1 ? seq.items[0] : undefined;
  const range = (node: Scalar): Range => [toOriginal(node.range![0]), toOriginal(node.range![1])];
  return { item, range };
}

/** The `- …` items of the block sequence under `storage.<key>`, each parsed on its own. */
/** The `- …` items of the block sequence under `storage.<key>`, each parsed on its own; an unreadable item is skipped
 *  unless its text matches `relevant`. */
export function sequenceItems(text: string, lines: Line[], key: 'files' | 'links', relevant: RegExp, label: string) {
  const storageKey = findKey(lines, 0, lines.length, 'storage', label, 'storage');
  if (storageKey === undefined) return [];
  const [sFrom, sTo] = blockBody(lines, storageKey, lines.length);
  const seqKey = findKey(lines, sFrom, sTo, key, label, `storage.${key}`);
  if (seqKey === undefined) return [];
  const [from, to] = blockBody(lines, seqKey, sTo);
  const starts: number[] = [];
  let itemIndent: number | undefined;
  for (let i = from; i < to; i++) {
    const l = lines[i]!;
    if (l.kind !== 'content') continue;
    itemIndent ??= l.indent;
    if (l.indent === itemIndent && /^-(?:\s|$)/.test(l.text.slice(l.indent))) starts.push(i);
  }
  const items = [];
  for (let k = 0; k < starts.length; k++) {
    const parsed = parseItem(text, lines, starts[k]!, starts[k + 1] ?? to, relevant, label);
    if (parsed) items.push({ ...parsed, line: lines[starts[k]!]!.number });
  }
  return items;
}

export interface Edit {
  start: number;
  end: number;
  text: string;
}

/** Replace exactly one occurrence of `from` inside the scalar's source range (the last, for file names in URLs/paths). */
export function editInScalar(text: string, [start, end]: Range, from: string, to: string, what: string, label: string): Edit {
  const raw = text.slice(start, end);
  const at = raw.lastIndexOf(from);
  if (at < 0)
    throw new ButaneError(
      `${label}: cannot locate ${JSON.stringify(from)} in the source text of ${what} (line ${lineOf(text, start)}); is it escaped?`,
    );
  return { start: start + at, end: start + at + from.length, text: to };
}

/** Applies edits (non-overlapping ranges of the original text) from the end, so earlier offsets stay valid. */
export function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
