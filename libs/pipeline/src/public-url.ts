// The URL hosts download the bucket prefix from: what snippets, sysupdate transfers and consumer pull requests point at.
// With R2 it is the bucket's public URL (ALLOY_PUBLIC_URL or the recipe); without R2 it is the local bucket served by
// `npm run release-bot -- serve` on 127.0.0.1, so the embedded default serves what it publishes.
import { r2Configured } from '@alloy-sysext/r2';

/** Port of `release-bot serve` and of the default public URL without R2 (ALLOY_SERVE_PORT overrides). */
export const DEFAULT_SERVE_PORT = 8080;

export function servePort(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.ALLOY_SERVE_PORT?.trim();
  if (!text) return DEFAULT_SERVE_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new Error(`ALLOY_SERVE_PORT "${text}" is not a TCP port: expected 1 to 65535`);
  return port;
}

/** The URL of the local bucket's prefix as `release-bot serve` serves it. */
export function localPublicUrl(prefix: string, env: NodeJS.ProcessEnv = process.env): string {
  return `http://127.0.0.1:${servePort(env)}/${prefix.replace(/^\/+|\/+$/g, '')}`.replace(/\/+$/, '');
}

/** ALLOY_PUBLIC_URL, else with R2 the recipe's URL (undefined when it has none), else the local bucket's served URL. */
export function resolvePublicUrl(bucket: { prefix: string; publicUrl?: string }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = env.ALLOY_PUBLIC_URL?.trim() || (r2Configured(env) ? bucket.publicUrl : localPublicUrl(bucket.prefix, env));
  return url?.replace(/\/+$/, '');
}

/** The public URL, or a refusal before anything is uploaded: published snippets and PRs must point where hosts download. */
export function requirePublicUrl(recipe: { file: string; bucket: { publicUrl?: string } }): string {
  if (recipe.bucket.publicUrl) return recipe.bucket.publicUrl;
  throw new Error(
    `R2 is configured but no public URL is set: set ALLOY_PUBLIC_URL (or bucket.publicUrl in ${recipe.file}) to the URL hosts ` +
      'download the bucket prefix from; the sysupdate transfers, Butane snippets and consumer pull requests point there. Nothing was uploaded.',
  );
}
