// What each consumer's Butane file pins on its base branch, read through the Contents API with the consumer's auth.
import {
  branchName,
  createGitHubClient,
  explainGitHubError,
  parseRepo,
  readPinned,
  readRepoFile,
  type GitHubClient,
  type Pinned,
} from '@alloy-sysext/ghost-stack';
import { githubApiUrl, toConsumer, type ConsumerRecipe } from '@alloy-sysext/pipeline';
import type { Ctx } from './context.js';

export interface ConsumerPin {
  name: string;
  repo: string;
  path: string;
  base: string;
  arch: string;
  pinned?: Pick<Pinned, 'version' | 'sha256' | 'file' | 'line'>;
  /** Why the pin could not be read (credentials, missing file, no alloy entry …). */
  error?: string;
}

/** A client for one consumer's repository with that consumer's credentials, and a reader of its Butane file at a ref. */
async function consumerReader(ctx: Ctx, entry: ConsumerRecipe) {
  const consumer = toConsumer(entry, ctx.env);
  const kind = consumer.auth.app ? 'app' : consumer.auth.token ? 'token' : 'none';
  const { owner, repo } = parseRepo(entry.repo);
  const client: GitHubClient = await createGitHubClient({
    auth: consumer.auth,
    repo: entry.repo,
    baseUrl: githubApiUrl(ctx.env),
    retry: ctx.octokit?.retry,
    throttle: ctx.octokit?.throttle,
    log: (line) => ctx.stderr.write(`${line}\n`),
    userAgent: 'alloy-sysext-release-bot',
  });
  const explain = (error: unknown, what: string, notFound?: string) =>
    explainGitHubError(error, what, {
      kind,
      appId: consumer.auth.app ? String(consumer.auth.app.id) : undefined,
      repo: entry.repo,
      notFound,
    });
  const pinnedAt = async (ref: string, refName: string): Promise<Pinned> => {
    let text: string;
    try {
      text = await readRepoFile(client, { owner, repo, path: entry.path, ref });
    } catch (error) {
      throw explain(error, `reading ${entry.path} on ${refName}`, `${entry.path} does not exist on branch ${refName}`);
    }
    return readPinned(text, { name: 'alloy', arch: entry.arch, label: `${entry.repo}:${entry.path}` });
  };
  return { client, owner, repo, explain, pinnedAt };
}

export async function readConsumerPin(ctx: Ctx, entry: ConsumerRecipe): Promise<ConsumerPin> {
  const row: ConsumerPin = { name: entry.name, repo: entry.repo, path: entry.path, base: entry.base, arch: entry.arch };
  try {
    const { pinnedAt } = await consumerReader(ctx, entry);
    const p = await pinnedAt(entry.base, entry.base);
    row.pinned = { version: p.version, sha256: p.sha256, file: p.file, line: p.line };
  } catch (error) {
    row.error = (error as Error).message;
  }
  return row;
}

/** What this consumer's open bot pull requests (branches feature/update-alloy-sysext-to-*) would pin once merged. */
export async function readOpenPullPins(
  ctx: Ctx,
  entry: ConsumerRecipe,
): Promise<Array<{ number: number; branch: string; version: string }>> {
  const { client, owner, repo, explain, pinnedAt } = await consumerReader(ctx, entry);
  const prefix = branchName('alloy', '');
  let pulls: Array<{ number: number; head: { ref: string; sha: string; repo: { full_name: string } | null } }>;
  try {
    pulls = await client.paginate(client.rest.pulls.list, { owner, repo, state: 'open', base: entry.base, per_page: 100 });
  } catch (error) {
    throw explain(error, `listing open pull requests of ${entry.repo}`);
  }
  const ours = pulls.filter(
    (p) => p.head.ref.startsWith(prefix) && (p.head.repo?.full_name ?? entry.repo).toLowerCase() === entry.repo.toLowerCase(),
  );
  const out = [];
  for (const pr of ours)
    out.push({ number: pr.number, branch: pr.head.ref, version: (await pinnedAt(pr.head.sha, `${pr.head.ref} (#${pr.number})`)).version });
  return out;
}
