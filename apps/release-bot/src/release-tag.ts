// The GitHub release (and with it the tag) `<name>-v<version>` in this repository, created only when missing.
import semver from 'semver';
import { explainGitHubError } from '@alloy-sysext/github';
import { call, isStatus, type ThisRepo } from './github.js';

export type TagStatus = 'release-exists' | 'tag-exists' | 'created' | 'would-create';

export function releaseTag(name: string, version: string): string {
  return `${name}-v${version}`;
}

/**
 * Idempotent: an existing release with the tag, or an existing tag without a release (someone tagged by hand), is left
 * as it is and nothing is written. Otherwise a release is created, which creates the tag at `target` (default branch
 * when omitted). Two runs racing for the same tag: the loser sees 422 and reports the winner's release.
 */
export async function ensureRelease(
  gh: ThisRepo,
  opts: { tag: string; title: string; body: string; target?: string; dryRun?: boolean },
): Promise<{ status: TagStatus; url?: string }> {
  const existing = await releaseByTag(gh, opts.tag);
  if (existing) return { status: 'release-exists', url: existing };
  const tagged = await call(gh, `looking up tag ${opts.tag} in ${gh.full}`, () =>
    gh.client.rest.git.getRef({ owner: gh.owner, repo: gh.repo, ref: `tags/${opts.tag}` }).then(
      () => true,
      (error) => (isStatus(error, 404) ? false : Promise.reject(error)),
    ),
  );
  if (tagged) return { status: 'tag-exists' };
  if (opts.dryRun) return { status: 'would-create' };
  try {
    const { data } = await gh.client.rest.repos.createRelease({
      owner: gh.owner,
      repo: gh.repo,
      tag_name: opts.tag,
      name: opts.title,
      body: opts.body,
      ...(opts.target ? { target_commitish: opts.target } : {}),
    });
    return { status: 'created', url: data.html_url };
  } catch (error) {
    if (isStatus(error, 422)) {
      const raced = await releaseByTag(gh, opts.tag);
      if (raced) return { status: 'release-exists', url: raced };
    }
    const what = `creating release ${opts.tag} in ${gh.full}`;
    throw explainGitHubError(error, what, { kind: 'token', repo: gh.full, baseUrl: gh.baseUrl });
  }
}

async function releaseByTag(gh: ThisRepo, tag: string): Promise<string | undefined> {
  return call(gh, `looking up release ${tag} in ${gh.full}`, () =>
    gh.client.rest.repos.getReleaseByTag({ owner: gh.owner, repo: gh.repo, tag }).then(
      ({ data }) => data.html_url,
      (error) => (isStatus(error, 404) ? undefined : Promise.reject(error)),
    ),
  );
}

/** Versions with a release tag `<name>-v<version>` in this repository: a witness of what was released (history.ts). */
export async function taggedVersions(gh: ThisRepo, name: string): Promise<string[]> {
  const prefix = `tags/${releaseTag(name, '')}`;
  const refs = await call(gh, `listing release tags ${releaseTag(name, '*')} in ${gh.full}`, () =>
    gh.client.rest.git.listMatchingRefs({ owner: gh.owner, repo: gh.repo, ref: prefix }).then(({ data }) => data),
  );
  return refs.map((r) => r.ref.slice(`refs/${prefix}`.length)).filter((v) => semver.valid(v) === v);
}
