// The mirror: the published SHA256SUMS and SHA256SUMS.gpg committed into a git repository through the Contents API.
import { readRepoFileBytes } from '@alloy-sysext/ghost-stack';
import { createGitHubClient, explainGitHubError, parseRepo, type GitHubAuth } from '@alloy-sysext/github';

export interface MirrorFile {
  /** Path in the repository. */
  path: string;
  content: Buffer;
}

/**
 * Copies the published SHA256SUMS and SHA256SUMS.gpg into a git repository through the Contents API, as the old
 * pipeline did, so the manifest's history is reviewable. A file that already has these bytes is not touched; a stale
 * `sha` (someone committed meanwhile) is re-read and retried.
 */
export async function mirrorFiles(opts: {
  repo: string;
  branch: string;
  files: MirrorFile[];
  auth: GitHubAuth;
  message: string;
  githubUrl?: string;
  log: (line: string) => void;
  retry?: { retryAfterBaseValue?: number };
}): Promise<{ written: string[] }> {
  const { owner, repo } = parseRepo(opts.repo);
  const client = await createGitHubClient({ auth: opts.auth, repo: opts.repo, baseUrl: opts.githubUrl, retry: opts.retry, log: opts.log });
  const written: string[] = [];
  for (const file of opts.files) {
    for (let attempt = 1; ; attempt++) {
      const current = await readFile(client, owner, repo, opts.branch, file.path).catch((e) => {
        throw explainGitHubError(e, `mirror: reading ${file.path} on ${opts.repo}@${opts.branch}`, {
          repo: opts.repo,
          notFound: `branch ${opts.branch} is missing`,
        });
      });
      if (current && current.content.equals(file.content)) {
        opts.log(`mirror: ${opts.repo}/${file.path} already up to date`);
        break;
      }
      try {
        await client.rest.repos.createOrUpdateFileContents({
          owner,
          repo,
          branch: opts.branch,
          path: file.path,
          message: opts.message,
          content: file.content.toString('base64'),
          ...(current ? { sha: current.sha } : {}),
        });
        written.push(file.path);
        opts.log(`mirror: committed ${file.path} to ${opts.repo}@${opts.branch}`);
        break;
      } catch (e) {
        if ((e as { status?: number }).status === 409 && attempt < 5) continue;
        throw explainGitHubError(e, `mirror: writing ${file.path} to ${opts.repo}@${opts.branch}`, { repo: opts.repo });
      }
    }
  }
  return { written };
}

/** One file at the head of the mirror's branch, or undefined when it is not there (a witness read: see witnesses.ts). */
export async function readMirrorFile(opts: {
  repo: string;
  branch: string;
  path: string;
  auth: GitHubAuth;
  githubUrl?: string;
  log: (line: string) => void;
  retry?: { retryAfterBaseValue?: number };
}): Promise<Buffer | undefined> {
  const { owner, repo } = parseRepo(opts.repo);
  const client = await createGitHubClient({ auth: opts.auth, repo: opts.repo, baseUrl: opts.githubUrl, retry: opts.retry, log: opts.log });
  const found = await readFile(client, owner, repo, opts.branch, opts.path).catch((e) => {
    throw explainGitHubError(e, `mirror: reading ${opts.path} on ${opts.repo}@${opts.branch}`, {
      repo: opts.repo,
      notFound: `branch ${opts.branch} is missing`,
    });
  });
  return found?.content;
}

async function readFile(
  client: Awaited<ReturnType<typeof createGitHubClient>>,
  owner: string,
  repo: string,
  ref: string,
  path: string,
): Promise<{ content: Buffer; sha: string } | undefined> {
  try {
    return await readRepoFileBytes(client, { owner, repo, ref, path });
  } catch (e) {
    if ((e as { status?: number }).status === 404) {
      // A missing branch must not look like a missing file (we would then try to create it on a branch that isn't there).
      await client.rest.repos.getBranch({ owner, repo, branch: ref });
      return undefined;
    }
    throw e;
  }
}
