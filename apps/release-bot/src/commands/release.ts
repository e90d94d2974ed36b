// `release --version X`: run the Nx chain for X, then tag the release and close the tracking issue (both idempotent).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Manifest } from '@alloy-sysext/manifest';
import { versionLayout, MANIFEST, type Recipe } from '@alloy-sysext/pipeline';
import { markdownTable, writeOutputs, writeSummary } from '../actions.js';
import { runNxChain, type ChainRunner } from '../chain.js';
import { logger, out, recipeFor, type Ctx } from '../context.js';
import { prune } from './prune.js';
import { EXIT, versionOption } from '../exit-codes.js';
import { thisRepo } from '../github.js';
import { ensureRelease, releaseTag, type TagStatus } from '../release-tag.js';
import { closeTrackingIssue, findTrackingIssue } from '../tracking-issue.js';

export interface ReleaseOptions {
  version: string;
  dryRun?: boolean;
  /** Default: `npx nx run alloy:pr --version=X` with inherited output. */
  runChain?: ChainRunner;
}

export async function release(ctx: Ctx, opts: ReleaseOptions): Promise<number> {
  const version = versionOption(opts.version);
  const dryRun = Boolean(opts.dryRun);
  const log = logger(ctx);
  const recipe = await recipeFor(ctx);
  const target = await thisRepo(ctx); // a malformed GITHUB_REPOSITORY fails here, before hours of work
  const tag = releaseTag(recipe.name, version);

  log(`running the Nx chain for ${recipe.name} ${version}${dryRun ? ' (dry run)' : ''}`);
  const code = await (opts.runChain ?? runNxChain)({ version, dryRun, root: ctx.root, env: ctx.env });
  if (code !== 0) {
    ctx.stderr.write(`release ${version}: the Nx chain failed with exit code ${code}; ${tag} not created, tracking issue left open\n`);
    await writeSummary(ctx.env, `### ${recipe.name} ${version}: release failed\n\nThe Nx chain (fetch → … → pr) exited with ${code}.\n`);
    return EXIT.CHAIN_FAILED;
  }

  let tagStatus: TagStatus | 'skipped' = 'skipped';
  let releaseUrl: string | undefined;
  let issueLine = '—';
  if (!target.ok) {
    out(ctx, `skipping release tag ${tag}: ${target.reason}`);
  } else {
    const { gh } = target;
    const result = await ensureRelease(gh, {
      tag,
      title: `${recipe.name} ${version}`,
      body: await releaseBody(ctx, recipe, version),
      target: ctx.env.GITHUB_SHA || undefined,
      dryRun,
    });
    tagStatus = result.status;
    releaseUrl = result.url;
    out(ctx, tagMessage(tag, gh.full, result.status, result.url));

    const issue = await findTrackingIssue(gh, recipe.name, version);
    if (!issue) {
      issueLine = 'none';
      out(ctx, `no tracking issue for ${version} in ${gh.full}`);
    } else if (issue.state === 'closed') {
      issueLine = `#${issue.number} (already closed)`;
      out(ctx, `tracking issue #${issue.number} is already closed`);
    } else if (dryRun) {
      issueLine = `#${issue.number} (would be closed)`;
      out(ctx, `dry run: would comment on and close tracking issue #${issue.number}`);
    } else {
      const released = releaseUrl ?? tag;
      await closeTrackingIssue(gh, issue, {
        name: recipe.name,
        version,
        text: `Released ${recipe.name} ${version}: ${released}. Images: ${recipe.bucket.publicUrl}/ (SHA256SUMS lists ${version}).`,
      });
      issueLine = `[#${issue.number}](${issue.url}) (closed)`;
      out(ctx, `closed tracking issue #${issue.number}`);
    }
  }
  if (dryRun) out(ctx, 'dry run: nothing was written on GitHub');
  // The recipe's retention, by the one rule: the newest bucket.keep versions and every version a consumer pins.
  if (recipe.bucket.keep) await prune(ctx, { keep: recipe.bucket.keep, dryRun });

  await writeOutputs(ctx.env, { version, tag, release_url: releaseUrl });
  await writeSummary(
    ctx.env,
    [
      `### ${recipe.name} ${version}: ${dryRun ? 'release dry run' : 'released'}`,
      '',
      markdownTable(
        ['', ''],
        [
          ['chain', `\`npx nx run alloy:pr -- --version=${version}${dryRun ? ' --dryRun' : ''}\` succeeded`],
          ['release tag', releaseUrl ? `[${tag}](${releaseUrl}) (${tagStatus})` : `${tag} (${tagStatus})`],
          ['tracking issue', issueLine],
        ],
      ),
    ].join('\n'),
  );
  return EXIT.OK;
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

/** Release notes: where the images are and their sha256 (from this version's manifest in dist/, when present). */
async function releaseBody(ctx: Ctx, recipe: Recipe, version: string): Promise<string> {
  const manifestFile = path.join(versionLayout(ctx.root, recipe, version).manifest, MANIFEST);
  const entries = await readFile(manifestFile, 'utf8')
    .then((text) => Manifest.parse(text).entries)
    .catch(() => []);
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
