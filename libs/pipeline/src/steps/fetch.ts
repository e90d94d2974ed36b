// Step `fetch`: download (or take from --zipDir) each arch's upstream release zip, verify it, extract the binary.
import path from 'node:path';
import { githubTokenFor } from '@alloy-sysext/common';
import { fetchUpstream, type Arch } from '@alloy-sysext/sysext-image';
import { writeFetchRecord } from '../fetch-record.js';
import { progressReporter } from '../progress.js';
import type { StepContext } from '../step.js';

export interface FetchStepOptions {
  /** Directory holding the release zips (air-gapped runs). */
  zipDir?: string;
  /** Where download progress goes (default stdout; `release-bot verify` keeps stdout for its table). */
  progress?: NodeJS.WriteStream;
}

export async function fetchStep({ recipe, version, layout, env, log }: StepContext, options: FetchStepOptions & { allowPrerelease?: boolean } = {}): Promise<void> {
  const localZips = options.zipDir
    ? (Object.fromEntries(
        recipe.arches.map((arch) => [arch, path.resolve(options.zipDir!, recipe.upstream.asset.replace('{arch}', arch))]),
      ) as Partial<Record<Arch, string>>)
    : undefined;
  const report = progressReporter({ stream: options.progress });
  const fetched = await fetchUpstream({
    version,
    allowPrerelease: options.allowPrerelease,
    arches: recipe.arches,
    upstream: recipe.upstream,
    outDir: layout.upstream,
    token: githubTokenFor(recipe.upstream.apiUrl, env.GITHUB_TOKEN, env),
    localZips,
    pinnedSha256: recipe.upstream.sha256?.[version],
    log,
    onProgress: (p) => report({ name: p.asset, done: p.received, total: p.total }),
  }).catch((error: Error) => {
    if (!localZips && /failed after \d+ attempts/.test(error.message)) {
      error.message += `\nThe upstream release could not be reached at ${recipe.upstream.apiUrl}. For air-gapped runs put the release zips in a directory and pass --zipDir=<dir>.`;
    }
    throw error;
  });
  for (const [arch, f] of Object.entries(fetched)) log(`${arch}: ${path.basename(f.zip)} sha256 ${f.zipSha256}`);
  await writeFetchRecord(layout.upstream, version, fetched);
}
