// The provenance's resolvedDependencies against the digest roots verify checks itself: every field of each upstream
// asset (name, uri, sha256, kind, entry, digest source, pinned) must be what the recipe and those roots give, and no
// asset the recipe does not build from may be listed.
import {
  releaseDownloadUrl,
  resolvedDependency,
  type DigestSource,
  type Recipe,
  type ResolvedDependency,
  type Statement,
  type VerifiedAsset,
} from '@alloy-sysext/pipeline';
import { fail, ok, type Check } from './check.js';

const ONLINE: readonly DigestSource[] = ['github-asset-digest', 'upstream-checksum-file'];
const OFFLINE: readonly DigestSource[] = ['zip-dir-sha256sums', 'asset-dir-checksum-file'];

/** One row per asset the rebuild used, and one for anything else the provenance lists. */
export function checkDependencies(opts: {
  statement: Statement;
  recipe: Recipe;
  version: string;
  /** The assets verify fetched now, each checked against the root verify found. */
  upstream: VerifiedAsset[];
  /** Verify ran from an asset directory: the release's own digests are out of reach. */
  offline: boolean;
}): Check[] {
  const recorded = opts.statement.predicate.buildDefinition.resolvedDependencies ?? [];
  const rows = opts.upstream.map((a) => {
    const listed = recorded.filter((d) => d?.name === a.root.asset.name);
    const check = `upstream ${a.root.asset.name}`;
    if (listed.length !== 1) return fail(check, `the provenance lists it ${listed.length} times, expected once`);
    const problems = dependencyProblems(listed[0]!, a, opts);
    return problems.problems.length ? fail(check, problems.problems.join('; ')) : ok(check, problems.evidence);
  });
  const names = new Set(opts.upstream.map((a) => a.root.asset.name));
  const extra = recorded.filter((d) => !names.has(d?.name)).map((d) => JSON.stringify(d?.name));
  if (extra.length)
    rows.push(fail('upstream dependencies', `the provenance lists ${extra.join(', ')}, which the recipe builds from no such asset`));
  return rows;
}

function dependencyProblems(
  dep: ResolvedDependency,
  a: VerifiedAsset,
  opts: { recipe: Recipe; version: string; offline: boolean },
): { problems: string[]; evidence: string } {
  const expected = resolvedDependency(a.root, a.sha256);
  const source = dep.annotations?.digestSource;
  const problems: string[] = [];
  const differs = (field: string, was: unknown, is: unknown) =>
    was !== is && problems.push(`${field}: the provenance records ${JSON.stringify(was)}, expected ${JSON.stringify(is)}`);
  differs('sha256', dep.digest?.sha256, a.sha256);
  differs('arch', dep.annotations?.arch, expected.annotations.arch);
  differs('kind', dep.annotations?.kind, expected.annotations.kind);
  differs('entry', dep.annotations?.entry, expected.annotations.entry);
  differs('pinned', dep.annotations?.pinned, expected.annotations.pinned);
  // Where the bytes came from follows from the source: the release's download URL, or an asset directory's file.
  const downloadUrl = opts.offline
    ? releaseDownloadUrl(opts.recipe.upstream.apiUrl, opts.recipe.upstream.repo, opts.version, a.root.asset.name)
    : a.root.uri;
  const local = `file:${a.root.asset.name}`;
  const uris = ONLINE.includes(source) ? [downloadUrl] : OFFLINE.includes(source) ? [local] : [downloadUrl, local];
  if (!uris.includes(dep.uri)) problems.push(`uri: the provenance records ${JSON.stringify(dep.uri)}, expected ${uris.join(' or ')}`);
  // Who vouched: a source verify checked now, or one out of its reach (said so), never one that is not there.
  const now = a.root.evidence.find((e) => e.source === source);
  let evidence: string;
  if (now) evidence = `${source}, re-checked against ${now.label}`;
  else if (ONLINE.includes(source) && opts.offline) evidence = `${source}, not re-checked: verify ran from an asset directory`;
  else if (OFFLINE.includes(source) && !opts.offline && a.root.sha256) {
    evidence = `${source} when built; ${a.root.label} vouches for the same sha256 now`;
  } else {
    problems.push(
      source === 'unverified'
        ? 'digestSource: "unverified": nothing vouched for this asset when it was built'
        : `digestSource: the provenance records ${JSON.stringify(source)}, which does not vouch for it now (${a.root.label})`,
    );
    evidence = '';
  }
  return { problems, evidence: `sha256 ${a.sha256} from ${dep.uri}, ${evidence}` };
}
