// Git object model with real SHA-1 ids, so the shas a client sees behave like GitHub's (same content → same sha,
// a blob sha from the Contents API equals the one in the tree).
import { createHash } from 'node:crypto';

export interface GitIdentity {
  name: string;
  email: string;
  date: string;
}
export interface TreeEntry {
  name: string;
  mode: string;
  type: 'blob' | 'tree';
  sha: string;
}
export interface BlobObject {
  type: 'blob';
  sha: string;
  content: Buffer;
}
export interface TreeObject {
  type: 'tree';
  sha: string;
  entries: TreeEntry[];
}
export interface CommitObject {
  type: 'commit';
  sha: string;
  tree: string;
  parents: string[];
  message: string;
  author: GitIdentity;
  committer: GitIdentity;
  /** GitHub signs commits an App makes without a custom author; everything else here is unsigned. */
  verified: boolean;
  /** Login of whoever created the commit through the API (or the test, via seedRepo/commitAs). */
  createdBy: string;
}
export interface TagObject {
  type: 'tag';
  sha: string;
  tag: string;
  message: string;
  object: { sha: string; type: string };
  tagger: GitIdentity;
}
export type GitObject = BlobObject | TreeObject | CommitObject | TagObject;

/** A flattened tree: file path → blob sha + mode. */
export type FlatTree = Map<string, { sha: string; mode: string }>;

function hashObject(kind: string, body: Buffer): string {
  return createHash('sha1').update(`${kind} ${body.length}\0`).update(body).digest('hex');
}

function gitDate(iso: string): string {
  return `${Math.floor(Date.parse(iso) / 1000)} +0000`;
}

export class ObjectStore {
  readonly objects = new Map<string, GitObject>();

  get(sha: string): GitObject | undefined {
    return this.objects.get(sha.toLowerCase());
  }
  blob(sha: string): BlobObject | undefined {
    const o = this.get(sha);
    return o?.type === 'blob' ? o : undefined;
  }
  tree(sha: string): TreeObject | undefined {
    const o = this.get(sha);
    return o?.type === 'tree' ? o : undefined;
  }
  commit(sha: string): CommitObject | undefined {
    const o = this.get(sha);
    return o?.type === 'commit' ? o : undefined;
  }

  putBlob(content: Buffer): BlobObject {
    const sha = hashObject('blob', content);
    const blob: BlobObject = { type: 'blob', sha, content };
    this.objects.set(sha, blob);
    return blob;
  }

  putTree(entries: TreeEntry[]): TreeObject {
    // git sorts tree entries by name, comparing directories as if they ended in '/'.
    const key = (e: TreeEntry) => (e.type === 'tree' ? `${e.name}/` : e.name);
    const sorted = [...entries].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    const body = Buffer.concat(
      sorted.map((e) => Buffer.concat([Buffer.from(`${e.mode === '040000' ? '40000' : e.mode} ${e.name}\0`), Buffer.from(e.sha, 'hex')])),
    );
    const sha = hashObject('tree', body);
    const tree: TreeObject = { type: 'tree', sha, entries: sorted };
    this.objects.set(sha, tree);
    return tree;
  }

  putCommit(c: Omit<CommitObject, 'type' | 'sha'>): CommitObject {
    const text = [
      `tree ${c.tree}`,
      ...c.parents.map((p) => `parent ${p}`),
      `author ${c.author.name} <${c.author.email}> ${gitDate(c.author.date)}`,
      `committer ${c.committer.name} <${c.committer.email}> ${gitDate(c.committer.date)}`,
      '',
      c.message,
    ].join('\n');
    const sha = hashObject('commit', Buffer.from(text));
    const existing = this.commit(sha);
    if (existing) return existing;
    const commit: CommitObject = { type: 'commit', sha, ...c };
    this.objects.set(sha, commit);
    return commit;
  }

  putTag(t: Omit<TagObject, 'type' | 'sha'>): TagObject {
    const text = `object ${t.object.sha}\ntype ${t.object.type}\ntag ${t.tag}\ntagger ${t.tagger.name} <${t.tagger.email}> ${gitDate(t.tagger.date)}\n\n${t.message}`;
    const sha = hashObject('tag', Buffer.from(text));
    const tag: TagObject = { type: 'tag', sha, ...t };
    this.objects.set(sha, tag);
    return tag;
  }

  /** Every file under a tree, keyed by full path. */
  flatten(treeSha: string, prefix = '', out: FlatTree = new Map()): FlatTree {
    const tree = this.tree(treeSha);
    if (!tree) return out;
    for (const e of tree.entries) {
      const p = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.type === 'tree') this.flatten(e.sha, p, out);
      else out.set(p, { sha: e.sha, mode: e.mode });
    }
    return out;
  }

  /** Builds (and stores) the nested trees for a flat file map; returns the root tree. */
  buildTree(files: FlatTree): TreeObject {
    const root = new Map<string, FlatTree | { sha: string; mode: string }>();
    const dirs = new Map<string, FlatTree>();
    for (const [path, entry] of files) {
      const slash = path.indexOf('/');
      if (slash < 0) {
        root.set(path, entry);
        continue;
      }
      const dir = path.slice(0, slash);
      let sub = dirs.get(dir);
      if (!sub) {
        sub = new Map();
        dirs.set(dir, sub);
      }
      sub.set(path.slice(slash + 1), entry);
    }
    const entries: TreeEntry[] = [];
    for (const [name, e] of root) entries.push({ name, mode: (e as { mode: string }).mode, type: 'blob', sha: (e as { sha: string }).sha });
    for (const [name, sub] of dirs) entries.push({ name, mode: '040000', type: 'tree', sha: this.buildTree(sub).sha });
    return this.putTree(entries);
  }

  /** Resolves a path inside a tree to the entry (blob or subtree). */
  lookup(treeSha: string, path: string): TreeEntry | undefined {
    const parts = path.split('/').filter(Boolean);
    let current: TreeEntry = { name: '', mode: '040000', type: 'tree', sha: treeSha };
    for (const part of parts) {
      if (current.type !== 'tree') return undefined;
      const next = this.tree(current.sha)?.entries.find((e) => e.name === part);
      if (!next) return undefined;
      current = next;
    }
    return current;
  }

  /** Commits reachable from `sha` (inclusive), newest first by traversal order. */
  ancestors(sha: string): string[] {
    const seen = new Set<string>();
    const order: string[] = [];
    const queue = [sha];
    while (queue.length) {
      const s = queue.shift()!;
      if (seen.has(s)) continue;
      seen.add(s);
      order.push(s);
      const c = this.commit(s);
      if (c) queue.push(...c.parents);
    }
    return order;
  }
}
