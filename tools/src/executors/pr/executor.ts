import type { ExecutorContext } from '@nx/devkit';
import { updateConsumer } from '@alloy-sysext/ghost-stack';
import { readChecksumFile, versionImages } from '../../pipeline/artifacts.js';
import { githubApiUrl, toConsumer } from '../../pipeline/consumers.js';
import { releaseInfo } from '../../pipeline/release-info.js';
import { runStep, type StepOptions } from '../run-step.js';

export interface PrOptions extends StepOptions {
  consumer?: string;
  dryRun?: boolean;
}

export default async function prExecutor(options: PrOptions, context: ExecutorContext) {
  return runStep('pr', options, context, async ({ recipe, version, layout, log }) => {
    const consumers = recipe.consumers.filter((c) => !options.consumer || c.name === options.consumer);
    if (options.consumer && consumers.length === 0) {
      throw new Error(`no consumer named "${options.consumer}" in ${recipe.file}; expected one of: ${recipe.consumers.map((c) => c.name).join(', ')}`);
    }
    const images = versionImages(recipe, version, layout.images);
    const release = await releaseInfo({ apiUrl: recipe.upstream.apiUrl, repo: recipe.upstream.repo, version, token: process.env.GITHUB_TOKEN, log });
    for (const entry of consumers) {
      const image = images.find((i) => i.arch === entry.arch && !i.compatibilityCopy);
      if (!image) throw new Error(`consumer ${entry.name} wants arch ${entry.arch}, which the recipe does not build (${recipe.arches.join(', ')})`);
      const result = await updateConsumer({
        consumer: toConsumer(entry),
        version,
        sha256: await readChecksumFile(image),
        release,
        imageUrl: `${recipe.bucket.publicUrl}/${image.file}`,
        githubUrl: githubApiUrl(),
        dryRun: options.dryRun,
        outDir: layout.pr,
        log,
      });
      const where = result.pr ? ` ${result.pr.url}` : result.diffFile ? ` (diff: ${result.diffFile}, body: ${result.bodyFile})` : '';
      log(`${entry.name}: ${result.status}${where}${result.superseded?.length ? `; superseded #${result.superseded.join(', #')}` : ''}`);
    }
  });
}
