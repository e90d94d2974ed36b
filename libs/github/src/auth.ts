// Names and secrets as GitHub wants them: `owner/name`, and a GitHub App private key in whatever form it was stored.
import { GitHubError } from './errors.js';

export function parseRepo(repo: string): { owner: string; repo: string } {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)\/([A-Za-z0-9._-]+)$/.exec(repo);
  if (!m || m[2] === '.' || m[2] === '..') throw new GitHubError(`repo ${JSON.stringify(repo)} is not "owner/name"`);
  return { owner: m[1]!, repo: m[2]! };
}

/** Accept a PEM, a PEM with literal "\n" (as often stored in env vars), or base64 of a PEM. Never echoes the key. */
export function normalizePrivateKey(key: string, label = 'GitHub App private key'): string {
  let k = key.trim();
  if (!k) throw new GitHubError(`${label} is empty (is the environment variable set?)`);
  if (!k.includes('-----BEGIN')) {
    const decoded = Buffer.from(k, 'base64').toString('utf8');
    if (decoded.includes('-----BEGIN')) k = decoded.trim();
    else throw new GitHubError(`${label} is neither a PEM ("-----BEGIN … PRIVATE KEY-----") nor base64 of one`);
  }
  if (k.includes('\\n')) k = k.replace(/\\n/g, '\n');
  return k + '\n';
}
