// The pr step: update every consumer the run selects. Each one is attempted (a failure does not stop the others) and
// gets a named outcome; the run ends with a table of them and fails if any consumer failed.
import { updateConsumer } from '@alloy-sysext/ghost-stack';
import { GitHubError } from '@alloy-sysext/github';
import { readChecksumFile, versionImages } from './artifacts.js';
import { credentialSource, githubApiUrl, toConsumer } from './consumers.js';
import type { versionLayout } from './layout.js';
import { requirePublicUrl } from './public-url.js';
import type { ConsumerRecipe, Recipe } from './recipe.js';
import { releaseInfo } from './release-info.js';

export interface ConsumerOutcome {
  consumer: string;
  /** updateConsumer's status, or 'failed' */
  status: string;
  /** PR URL, where a dry run wrote its diff, or the error (naming the consumer and its credential variables) */
  detail: string;
}

export async function updateConsumers(opts: {
  recipe: Recipe;
  version: string;
  layout: ReturnType<typeof versionLayout>;
  consumers: ConsumerRecipe[];
  dryRun?: boolean;
  log: (line: string) => void;
}): Promise<ConsumerOutcome[]> {
  const { recipe, version, layout, log } = opts;
  const publicUrl = requirePublicUrl(recipe);
  const images = versionImages(recipe, version, layout.images);
  const release = await releaseInfo({
    apiUrl: recipe.upstream.apiUrl,
    repo: recipe.upstream.repo,
    version,
    token: process.env.GITHUB_TOKEN,
    env: process.env,
    log,
  });
  const outcomes: ConsumerOutcome[] = [];
  for (const entry of opts.consumers) {
    try {
      const image = images.find((i) => i.arch === entry.arch && !i.compatibilityName);
      if (!image) throw new Error(`it wants arch ${entry.arch}, which the recipe does not build (${recipe.arches.join(', ')})`);
      const result = await updateConsumer({
        consumer: toConsumer(entry),
        version,
        sha256: await readChecksumFile(image),
        release,
        imageUrl: `${publicUrl}/${image.file}`,
        githubUrl: githubApiUrl(),
        dryRun: opts.dryRun,
        outDir: layout.pr,
        log,
      });
      const where = result.pr ? result.pr.url : result.diffFile ? `diff: ${result.diffFile}, body: ${result.bodyFile}` : '';
      const superseded = result.superseded?.length ? `; superseded #${result.superseded.join(', #')}` : '';
      log(`${entry.name}: ${result.status}${where ? ` ${where}` : ''}${superseded}`);
      outcomes.push({ consumer: entry.name, status: result.status, detail: `${where}${superseded}` || '—' });
    } catch (error) {
      const message = failureMessage(entry, error as Error, layout.pr);
      log(`${entry.name}: failed: ${message}`);
      outcomes.push({ consumer: entry.name, status: 'failed', detail: message });
    }
  }
  return outcomes;
}

/**
 * A consumer's failure, naming it and the variables its credentials came from; a network failure names neither
 * credentials (none is at fault) and says why nothing was written under dist/ (the change is made from the file read).
 */
function failureMessage(entry: ConsumerRecipe, error: Error, prDir: string): string {
  if (error instanceof GitHubError && error.kind === 'network') {
    return (
      `consumer ${entry.name} (${entry.repo}): ${error.message}. Nothing was written under ${prDir}: ` +
      `the change is made from ${entry.path} as GitHub holds it`
    );
  }
  return `consumer ${entry.name} (${entry.repo}, credentials: ${credentialSource(entry.auth)}): ${error.message}`;
}

export const failedConsumers = (outcomes: ConsumerOutcome[]) => outcomes.filter((o) => o.status === 'failed');

/** A plain-text table (aligned columns; the last one is not padded, so long errors stay readable). */
export function summaryTable(outcomes: ConsumerOutcome[]): string {
  const rows = [
    ['consumer', 'status', 'pull request or error'],
    ...outcomes.map((o) => [o.consumer, o.status, o.detail.replace(/\s*\n\s*/g, ' ')]),
  ];
  const width = [0, 1].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => `${r[0]!.padEnd(width[0]!)}  ${r[1]!.padEnd(width[1]!)}  ${r[2]}`.trimEnd()).join('\n');
}
