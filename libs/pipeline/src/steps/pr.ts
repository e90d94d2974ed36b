// Step `pr`: one pull request per configured consumer bumping the pinned version and hash in its Butane file.
import { updateConsumer } from '@alloy-sysext/ghost-stack';
import { readChecksumFile, versionImages } from '../artifacts.js';
import { githubApiUrl, toConsumer } from '../consumers.js';
import { releaseInfo } from '../release-info.js';
import type { StepContext } from '../step.js';

export interface PrStepOptions {
  /** Only this consumer (a recipe `consumers[].name`). */
  consumer?: string;
  dryRun?: boolean;
}

export async function prStep({ recipe, version, layout, env, log }: StepContext, options: PrStepOptions = {}): Promise<void> {
  const consumers = recipe.consumers.filter((c) => !options.consumer || c.name === options.consumer);
  if (options.consumer && consumers.length === 0) {
    throw new Error(`no consumer named "${options.consumer}" in ${recipe.file}; expected one of: ${recipe.consumers.map((c) => c.name).join(', ')}`);
  }
  const images = versionImages(recipe, version, layout.images);
  const release = await releaseInfo({ apiUrl: recipe.upstream.apiUrl, repo: recipe.upstream.repo, version, token: env.GITHUB_TOKEN, env, log });
  for (const entry of consumers) {
    const image = images.find((i) => i.arch === entry.arch && !i.compatibilityCopy);
    if (!image) throw new Error(`consumer ${entry.name} wants arch ${entry.arch}, which the recipe does not build (${recipe.arches.join(', ')})`);
    const result = await updateConsumer({
      consumer: toConsumer(entry, env),
      version,
      sha256: await readChecksumFile(image),
      release,
      imageUrl: `${recipe.bucket.publicUrl}/${image.file}`,
      githubUrl: githubApiUrl(env),
      dryRun: options.dryRun,
      outDir: layout.pr,
      log,
    });
    const where = result.pr ? ` ${result.pr.url}` : result.diffFile ? ` (diff: ${result.diffFile}, body: ${result.bodyFile})` : '';
    log(`${entry.name}: ${result.status}${where}${result.superseded?.length ? `; superseded #${result.superseded.join(', #')}` : ''}`);
  }
}
