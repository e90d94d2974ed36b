// GET /search/issues with the qualifiers a bot uses to find its own issues/PRs (repo:, is:, state:, label:, author:,
// head:, base:, in:title) plus free text matched against title and body.
import { HttpError, paginate, type Routes } from '../http.js';
import { issue } from '../shapes.js';
import type { IssueRec, RepoRec } from '../state.js';

function tokenize(q: string): string[] {
  return [...q.matchAll(/(\S+:"[^"]*"|"[^"]*"|\S+)/g)].map((m) => m[1]!);
}

export const searchRoutes: Routes = {
  'GET /search/issues': (ctx) => {
    const q = ctx.query['q'] ?? '';
    const terms = tokenize(q);
    const quals: Array<[string, string]> = [];
    const words: string[] = [];
    for (const t of terms) {
      const m = /^(-?\w+):(.*)$/.exec(t);
      if (m) quals.push([m[1]!.toLowerCase(), m[2]!.replace(/^"|"$/g, '')]);
      else words.push(t.replace(/^"|"$/g, '').toLowerCase());
    }
    const repos = quals.filter(([k]) => k === 'repo').map(([, v]) => v.toLowerCase());
    // GitHub refuses searches it cannot scope; the double only searches explicitly named repositories.
    if (!repos.length)
      throw new HttpError(422, 'Validation Failed', {
        errors: [
          { resource: 'Search', field: 'q', code: 'invalid', message: 'The double only supports searches scoped with repo:owner/name' },
        ],
      });
    const visible: RepoRec[] = [];
    for (const full of repos) {
      const [owner, name] = full.split('/');
      const r = ctx.state.repo(owner ?? '', name ?? '');
      if (!r) continue;
      const a = ctx.actor;
      if (r.private && a.kind === 'none') continue;
      if (a.kind === 'installation' && a.installation.owner.toLowerCase() !== r.owner.toLowerCase()) continue;
      visible.push(r);
    }
    const inTitleOnly = quals.some(([k, v]) => k === 'in' && v === 'title');
    const match = (i: IssueRec): boolean =>
      quals.every(([k, v]) => {
        const lv = v.toLowerCase();
        switch (k) {
          case 'repo':
          case 'in':
          case 'sort':
            return true;
          case 'is':
            return lv === 'pr' ? !!i.pull : lv === 'issue' ? !i.pull : lv === 'open' || lv === 'closed' ? i.state === lv : true;
          case 'type':
            return lv === 'pr' ? !!i.pull : lv === 'issue' ? !i.pull : true;
          case 'state':
            return i.state === lv;
          case 'label':
            return i.labels.some((l) => l.toLowerCase() === lv);
          case '-label':
            return !i.labels.some((l) => l.toLowerCase() === lv);
          case 'author':
            return (
              i.user.toLowerCase() === lv ||
              i.user.toLowerCase() === `${lv}[bot]` ||
              (lv.startsWith('app/') && i.user.toLowerCase() === `${lv.slice(4)}[bot]`)
            );
          case 'assignee':
            return i.assignees.some((x) => x.toLowerCase() === lv);
          case 'head':
            return !!i.pull && i.pull.head === v;
          case 'base':
            return !!i.pull && i.pull.base === v;
          default:
            return true;
        }
      }) && words.every((w) => i.title.toLowerCase().includes(w) || (!inTitleOnly && (i.body ?? '').toLowerCase().includes(w)));
    const items = visible.flatMap((r) =>
      r.issues.filter(match).map((i) => ({ ...issue(ctx.baseUrl, r, i), body: i.body ?? '', score: 1 })),
    );
    const page = paginate(ctx, items);
    return { ...page, body: { total_count: items.length, incomplete_results: false, search_type: 'lexical', items: page.body } };
  },
};
