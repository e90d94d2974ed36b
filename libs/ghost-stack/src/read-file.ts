// Reading a consumer's file from GitHub whatever its size. The Contents API returns files up to 1 MB; bigger ones (up
// to 100 MB) only through the git blobs API, so those are located in their directory listing and read as a blob, up to
// MAX_CONSUMER_FILE_BYTES (a Butane file that large is a mistake, not something to load into memory and diff).
import { GitHubError, type GitHubClient } from './github.js';

/** The largest consumer file `pr` reads (10 MiB); documented in README. */
export const MAX_CONSUMER_FILE_BYTES = 10 * 1024 * 1024;

const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');

interface FileEntry {
  type?: string;
  sha?: string;
  size?: number;
  name?: string;
  encoding?: string;
  content?: string;
}

/** The text of `path` at `ref`; errors from GitHub propagate (the caller explains them). */
export async function readRepoFile(client: GitHubClient, at: { owner: string; repo: string; path: string; ref: string }): Promise<string> {
  return (await readRepoFileBytes(client, at)).content.toString('utf8');
}

/**
 * The one way this project reads a file from a GitHub repository: its bytes and blob sha (what the Contents API wants
 * back to update it). Errors from GitHub propagate (the caller explains them; a 404 means path or ref is missing).
 */
export async function readRepoFileBytes(
  client: GitHubClient,
  at: { owner: string; repo: string; path: string; ref: string },
): Promise<{ content: Buffer; sha: string }> {
  const { owner, repo, path, ref } = at;
  const where = `${path} in ${owner}/${repo}`;
  let data: FileEntry | FileEntry[];
  try {
    data = (await client.request(`GET /repos/{owner}/{repo}/contents/${enc(path)}`, { owner, repo, ref })).data as FileEntry | FileEntry[];
  } catch (e) {
    if (!isTooLarge(e)) throw e;
    return readLargeFile(client, at);
  }
  if (Array.isArray(data)) throw new GitHubError(`${where} is a directory, expected the Butane file`);
  if (data.type !== undefined && data.type !== 'file') throw new GitHubError(`${where} is a ${data.type}, expected the Butane file`);
  if (data.encoding === 'base64' && typeof data.content === 'string' && data.sha && (data.content || data.size === 0)) {
    return { content: Buffer.from(data.content, 'base64'), sha: data.sha };
  }
  return readLargeFile(client, at);
}

/** GitHub's answer to the Contents API for a file over 1 MB: 403 with errors[].code "too_large". */
function isTooLarge(e: unknown): boolean {
  const err = e as { status?: number; response?: { data?: { errors?: Array<{ code?: string }> } } };
  return err?.status === 403 && Boolean(err.response?.data?.errors?.some((x) => x.code === 'too_large'));
}

async function readLargeFile(
  client: GitHubClient,
  at: { owner: string; repo: string; path: string; ref: string },
): Promise<{ content: Buffer; sha: string }> {
  const { owner, repo, path, ref } = at;
  const slash = path.lastIndexOf('/');
  const dir = slash === -1 ? '' : path.slice(0, slash);
  const name = path.slice(slash + 1);
  const listing = (await client.request(`GET /repos/{owner}/{repo}/contents/${enc(dir)}`, { owner, repo, ref })).data as FileEntry[];
  const entry = Array.isArray(listing) ? listing.find((e) => e.name === name) : undefined;
  if (!entry?.sha || entry.type !== 'file')
    throw new GitHubError(`${path} in ${owner}/${repo} at ${ref}: not found in its directory listing, expected the Butane file`);
  if ((entry.size ?? 0) > MAX_CONSUMER_FILE_BYTES) {
    throw new GitHubError(
      `${path} in ${owner}/${repo} is ${entry.size} bytes, over the ${MAX_CONSUMER_FILE_BYTES / 1024 / 1024} MiB limit for a consumer file: is this the Butane file?`,
    );
  }
  const blob = (await client.request('GET /repos/{owner}/{repo}/git/blobs/{file_sha}', { owner, repo, file_sha: entry.sha }))
    .data as FileEntry;
  if (blob.encoding !== 'base64' || typeof blob.content !== 'string') {
    throw new GitHubError(
      `blob ${entry.sha} of ${path} in ${owner}/${repo} came back with encoding ${JSON.stringify(blob.encoding)}, expected base64`,
    );
  }
  return { content: Buffer.from(blob.content, 'base64'), sha: entry.sha };
}
