// What follows a successful chain for one version, wherever the chain ran (`release` in one process, or the release
// workflow's jobs): the release tag `<name>-v<version>` created if missing and the tracking issue closed, both idempotent.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Manifest } from '@alloy-sysext/manifest';
import { fragmentKey, healthKeys, MANIFEST, signedByAny, versionLayout, type Recipe } from '@alloy-sysext/pipeline';
import { markdownTable } from './actions.js';
import { bucketFor, out, type Ctx } from './context.js';
import type { thisRepo } from './github.js';
import { ensureRelease, releaseTag, type TagStatus } from './release-tag.js';
import { closeTrackingIssue, findTrackingIssue } from './tracking-issue.js';

export interface Finished {
  tag: string;
  tagStatus: TagStatus | 'skipped';
  releaseUrl?: string;
  /** The tracking issue, as the summary shows it. */
  issueLine: string;
}

/** Creates the release (and tag) if missing and closes the version's tracking issue; with dryRun only says what it would do. */
export async function finishRelease(
  ctx: Ctx,
  opts: { recipe: Recipe; version: string; dryRun: boolean; target: Awaited<ReturnType<typeof thisRepo>> },
): Promise<Finished> {
  const { recipe, version, dryRun, target } = opts;
  const tag = releaseTag(recipe.name, version);
  const finished: Finished = { tag, tagStatus: 'skipped', issueLine: '—' };
  if (!target.ok) {
    out(ctx, `skipping release tag ${tag}: ${target.reason}`);
    return finished;
  }
  const { gh } = target;
  const result = await ensureRelease(gh, {
    tag,
    title: `${recipe.name} ${version}`,
    body: await releaseBody(ctx, recipe, version),
    target: ctx.env.GITHUB_SHA || undefined,
    dryRun,
  });
  finished.tagStatus = result.status;
  finished.releaseUrl = result.url;
  out(ctx, tagMessage(tag, gh.full, result.status, result.url));

  const issue = await findTrackingIssue(gh, recipe.name, version);
  if (!issue) {
    finished.issueLine = 'none';
    out(ctx, `no tracking issue for ${version} in ${gh.full}`);
  } else if (issue.state === 'closed') {
    finished.issueLine = `#${issue.number} (already closed)`;
    out(ctx, `tracking issue #${issue.number} is already closed`);
  } else if (dryRun) {
    finished.issueLine = `#${issue.number} (would be closed)`;
    out(ctx, `dry run: would comment on and close tracking issue #${issue.number}`);
  } else {
    const released = result.url ?? tag;
    await closeTrackingIssue(gh, issue, {
      name: recipe.name,
      version,
      text: `Released ${recipe.name} ${version}: ${released}. Images: ${recipe.bucket.publicUrl}/ (SHA256SUMS lists ${version}).`,
    });
    finished.issueLine = `[#${issue.number}](${issue.url}) (closed)`;
    out(ctx, `closed tracking issue #${issue.number}`);
  }
  if (dryRun) out(ctx, 'dry run: nothing was written on GitHub');
  return finished;
}

/** The job summary of a finished version. */
export function finishedSummary(recipe: Recipe, version: string, dryRun: boolean, f: Finished): string {
  return [
    `### ${recipe.name} ${version}: ${dryRun ? 'release dry run' : 'released'}`,
    '',
    markdownTable(
      ['', ''],
      [
        ['chain', `\`npx nx run ${recipe.name}:pr --version=${version}${dryRun ? ' --dryRun' : ''}\` succeeded`],
        ['release tag', f.releaseUrl ? `[${f.tag}](${f.releaseUrl}) (${f.tagStatus})` : `${f.tag} (${f.tagStatus})`],
        ['tracking issue', f.issueLine],
      ],
    ),
  ].join('\n');
}

function tagMessage(tag: string, repo: string, status: TagStatus, url?: string): string {
  switch (status) {
    case 'release-exists':
      return `release ${tag} already exists in ${repo}${url ? `: ${url}` : ''}`;
    case 'tag-exists':
      return `tag ${tag} already exists in ${repo} (without a GitHub release); left as is`;
    case 'would-create':
      return `dry run: would create release ${tag} in ${repo}`;
    case 'created':
      return `created release ${tag} in ${repo}: ${url}`;
  }
}

/**
 * This version's images and sha256 for the release notes: its manifest in dist/ when the chain ran here, else its signed
 * fragment in the bucket (the release workflow's finish job) when a trusted key's signature verifies it; else none.
 */
async function releaseEntries(ctx: Ctx, recipe: Recipe, version: string): Promise<Manifest['entries']> {
  const manifestFile = path.join(versionLayout(ctx.root, recipe, version).manifest, MANIFEST);
  const local = await readFile(manifestFile, 'utf8').catch(() => undefined);
  if (local !== undefined) return Manifest.parse(local).entries;
  const store = bucketFor(ctx, recipe);
  const [text, signature] = await Promise.all([store.get(fragmentKey(recipe, version)), store.get(`${fragmentKey(recipe, version)}.gpg`)]);
  const keys = await healthKeys(recipe, ctx.env, ctx.root);
  if (!text || !(await signedByAny(text.body, signature?.body.toString('utf8'), keys))) return [];
  return Manifest.parse(text.body.toString('utf8')).entries;
}

/** Release notes: where the images are and their sha256. */
async function releaseBody(ctx: Ctx, recipe: Recipe, version: string): Promise<string> {
  const entries = await releaseEntries(ctx, recipe, version).catch(() => []);
  const lines = [
    `${recipe.name} ${version} as a systemd-sysext for Flatcar, signed and published to ${recipe.bucket.publicUrl}/.`,
    '',
    `Upstream: https://github.com/${recipe.upstream.repo}/releases/tag/v${version}`,
    '',
  ];
  if (entries.length) {
    lines.push('| image | sha256 |', '| --- | --- |');
    for (const e of entries) lines.push(`| [${e.file}](${recipe.bucket.publicUrl}/${e.file}) | \`${e.sha256}\` |`);
    lines.push('');
  }
  lines.push(`Butane snippets: \`${recipe.bucket.publicUrl}/${recipe.name}-${version}-<arch>.bu\`.`, '');
  return lines.join('\n');
}
