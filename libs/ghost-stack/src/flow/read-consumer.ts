// Step 1 of the flow: the consumer's state on its base branch (head commit, tree, the Butane file's text).
import type { ConsumerRepo } from '../consumer-repo.js';

export interface ConsumerState {
  base: { sha: string; tree: string };
  text: string;
  /** `owner/name:path@base`, naming the file in every message about it */
  label: string;
}

export async function readConsumer(repo: ConsumerRepo): Promise<ConsumerState> {
  const { path, base: branch } = repo.consumer;
  const base = await repo.baseHead();
  const text = await repo.fileAt(
    base.sha,
    `reading ${path} on ${branch} of ${repo.full}`,
    `${path} does not exist on branch "${branch}" of ${repo.full} (check the consumer's path and base)`,
  );
  return { base, text, label: `${repo.full}:${path}@${branch}` };
}
