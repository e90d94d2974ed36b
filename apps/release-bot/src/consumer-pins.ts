// What each consumer's Butane file pins on its base branch, and which release keys it trusts there, read through the
// Contents API with the consumer's auth.
import { branchName, readKeyEntry, readPinned, readRepoFile, type Pinned } from '@alloy-sysext/ghost-stack';
import { createGitHubClient, explainGitHubError, parseRepo, type GitHubClient } from '@alloy-sysext/github';
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
  /** The release keys the file trusts (asked for with `keyPath`): fingerprints in file order, or why they cannot be read. */
  keys?: { path: string; fingerprints?: string[]; error?: string };
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
      baseUrl: githubApiUrl(ctx.env),
    });
  const fileAt = async (ref: string, refName: string): Promise<string> => {
    try {
      return await readRepoFile(client, { owner, repo, path: entry.path, ref });
    } catch (error) {
      throw explain(error, `reading ${entry.path} on ${refName}`, `${entry.path} does not exist on branch ${refName}`);
    }
  };
  const label = `${entry.repo}:${entry.path}`;
  const pinnedAt = async (ref: string, refName: string): Promise<Pinned> =>
    readPinned(await fileAt(ref, refName), { name: 'alloy', arch: entry.arch, label });
  return { client, owner, repo, explain, fileAt, pinnedAt, label };
}

/** The pin on the base branch; with `keyPath`, also the release keys the same file trusts there. */
export async function readConsumerPin(ctx: Ctx, entry: ConsumerRecipe, keyPath?: string): Promise<ConsumerPin> {
  const row: ConsumerPin = { name: entry.name, repo: entry.repo, path: entry.path, base: entry.base, arch: entry.arch };
  let text: string;
  let label: string;
  try {
    const reader = await consumerReader(ctx, entry);
    [text, label] = [await reader.fileAt(entry.base, entry.base), reader.label];
  } catch (error) {
    row.error = (error as Error).message;
    return row;
  }
  try {
    const p = readPinned(text, { name: 'alloy', arch: entry.arch, label });
    row.pinned = { version: p.version, sha256: p.sha256, file: p.file, line: p.line };
  } catch (error) {
    row.error = (error as Error).message;
  }
  if (keyPath)
    row.keys = await readKeyEntry(text, { keyPath, label }).then(
      (e) => ({ path: keyPath, fingerprints: e.keys.map((k) => k.fingerprint) }),
      (error: Error) => ({ path: keyPath, error: error.message }),
    );
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
