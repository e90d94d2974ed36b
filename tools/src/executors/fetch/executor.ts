import path from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { fetchUpstream, type Arch } from '@alloy-sysext/sysext-image';
import { progressReporter } from '../../pipeline/progress.js';
import { runStep, type StepOptions } from '../run-step.js';

export interface FetchOptions extends StepOptions {
  zipDir?: string;
}

export default async function fetchExecutor(options: FetchOptions, context: ExecutorContext) {
  return runStep('fetch', options, context, async ({ recipe, version, layout, log }) => {
    const localZips = options.zipDir
      ? (Object.fromEntries(
          recipe.arches.map((arch) => [arch, path.resolve(options.zipDir!, recipe.upstream.asset.replace('{arch}', arch))]),
        ) as Partial<Record<Arch, string>>)
      : undefined;
    const report = progressReporter();
    const fetched = await fetchUpstream({
      version,
      allowPrerelease: options.allowPrerelease,
      arches: recipe.arches,
      upstream: recipe.upstream,
      outDir: layout.upstream,
      // GITHUB_TOKEN is GitHub's: not for an upstream API pointed elsewhere (a mirror, a test host).
      token: new URL(recipe.upstream.apiUrl).hostname === 'api.github.com' ? process.env.GITHUB_TOKEN || undefined : undefined,
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
  });
}
