// This repository on GitHub (tracking issues, release tags): GITHUB_REPOSITORY with ALLOY_GITHUB_TOKEN or GITHUB_TOKEN,
// API base ALLOY_GITHUB_API_URL (the GitHub double in tests).
import { createGitHubClient, explainGitHubError, parseRepo, type GitHubClient } from '@alloy-sysext/github';
import { githubApiUrl } from '@alloy-sysext/pipeline';
import type { Ctx } from './context.js';
import { UsageError } from './exit-codes.js';

export interface ThisRepo {
  client: GitHubClient;
  owner: string;
  repo: string;
  /** owner/name */
  full: string;
  baseUrl?: string;
}

export type ThisRepoResult = { ok: true; gh: ThisRepo } | { ok: false; reason: string };

/** GITHUB_REPOSITORY as set (trimmed), refused as a usage error when it is not owner/name; checked before any work. */
export function checkThisRepoName(env: NodeJS.ProcessEnv): string | undefined {
  const full = env.GITHUB_REPOSITORY?.trim();
  if (!full) return undefined;
  try {
    parseRepo(full);
  } catch {
    throw new UsageError(`GITHUB_REPOSITORY ${JSON.stringify(full)} is not "owner/name"`);
  }
  return full;
}

/**
 * The GitHub client for this repository, or why there is none (GitHub steps are then skipped, with that reason).
 * A GITHUB_REPOSITORY that is not owner/name is an error, not a skip.
 */
export async function thisRepo(ctx: Ctx): Promise<ThisRepoResult> {
  const full = checkThisRepoName(ctx.env);
  const token = (ctx.env.ALLOY_GITHUB_TOKEN || ctx.env.GITHUB_TOKEN)?.trim();
  if (!full && !token) return { ok: false, reason: 'no GITHUB_REPOSITORY and no ALLOY_GITHUB_TOKEN/GITHUB_TOKEN set' };
  if (!full) return { ok: false, reason: 'GITHUB_REPOSITORY (owner/name of this repository) is not set' };
  if (!token) return { ok: false, reason: 'neither ALLOY_GITHUB_TOKEN nor GITHUB_TOKEN is set' };
  const { owner, repo } = parseRepo(full);
  const baseUrl = githubApiUrl(ctx.env);
  const client = await createGitHubClient({
    auth: { token },
    repo: full,
    baseUrl,
    retry: ctx.octokit?.retry,
    throttle: ctx.octokit?.throttle,
    log: (line) => ctx.stderr.write(`${line}\n`),
    userAgent: 'alloy-sysext-release-bot',
  });
  return { ok: true, gh: { client, owner, repo, full, baseUrl } };
}

export function isStatus(error: unknown, status: number): boolean {
  return (error as { status?: unknown })?.status === status;
}

/** Runs one GitHub call; failures become errors that say what was attempted and what to check (never the token). */
export async function call<T>(gh: ThisRepo, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw explainGitHubError(error, what, { kind: 'token', repo: gh.full, baseUrl: gh.baseUrl });
  }
}
