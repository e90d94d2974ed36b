// What each consumer's Butane file pins on its base branch, read through the Contents API with the consumer's auth.
import { createGitHubClient, explainGitHubError, parseRepo, readPinned, type Pinned } from '@alloy-sysext/ghost-stack';
import { githubApiUrl, toConsumer } from '@alloy-sysext/pipeline';
import type { ConsumerRecipe } from '@alloy-sysext/pipeline';
import type { Ctx } from './context.js';
import { unreachable } from './github.js';

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

export async function readConsumerPin(ctx: Ctx, entry: ConsumerRecipe): Promise<ConsumerPin> {
  const row: ConsumerPin = { name: entry.name, repo: entry.repo, path: entry.path, base: entry.base, arch: entry.arch };
  try {
    const consumer = toConsumer(entry, ctx.env);
    const kind = consumer.auth.app ? 'app' : consumer.auth.token ? 'token' : 'none';
    const { owner, repo } = parseRepo(entry.repo);
    const client = await createGitHubClient({
      auth: consumer.auth,
      repo: entry.repo,
      baseUrl: githubApiUrl(ctx.env),
      retry: ctx.octokit?.retry,
      throttle: ctx.octokit?.throttle,
      log: (line) => ctx.stderr.write(`${line}\n`),
      userAgent: 'alloy-sysext-release-bot',
    });
    let text: string;
    try {
      const { data } = await client.rest.repos.getContent({ owner, repo, path: entry.path, ref: entry.base, mediaType: { format: 'raw' } });
      if (typeof data !== 'string') throw new Error(`${entry.path} on ${entry.base} is not a file`);
      text = data;
    } catch (error) {
      const what = `reading ${entry.path} on ${entry.base}`;
      throw unreachable(error, what, githubApiUrl(ctx.env)) ?? explainGitHubError(error, what, {
        kind,
        appId: consumer.auth.app ? String(consumer.auth.app.id) : undefined,
        repo: entry.repo,
        notFound: `${entry.path} does not exist on branch ${entry.base}`,
      });
    }
    const p = readPinned(text, { name: 'alloy', arch: entry.arch, label: `${entry.repo}:${entry.path}` });
    row.pinned = { version: p.version, sha256: p.sha256, file: p.file, line: p.line };
  } catch (error) {
    row.error = (error as Error).message;
  }
  return row;
}
