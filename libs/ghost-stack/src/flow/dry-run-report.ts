// The end of a dry run: the would-be change as a unified diff and the pull request's text, written under `outDir`
// (the pr step's dist/<name>/<version>/pr/) or handed back (release-bot keys prints them).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { ConsumerRepo } from '../consumer-repo.js';

export async function dryRunReport(
  repo: ConsumerRepo,
  o: { base: string; text: string; branch: string; title: string; body: string; outcome: string; outDir?: string },
): Promise<{ diffFile: string; bodyFile: string } | { diff: string; body: string }> {
  const { consumer, tag } = repo;
  const diff = createTwoFilesPatch(`a/${consumer.path}`, `b/${consumer.path}`, o.base, o.text, consumer.base, o.branch);
  const body = `# ${o.title}\n\n${o.body}`;
  if (!o.outDir) {
    repo.log(`${tag} [dry-run] ${repo.skipped} write(s) skipped; would be: ${o.outcome}`);
    return { diff, body };
  }
  await mkdir(o.outDir, { recursive: true });
  const files = { diffFile: join(o.outDir, `${consumer.name}.diff`), bodyFile: join(o.outDir, `${consumer.name}.pr.md`) };
  await writeFile(files.diffFile, diff);
  await writeFile(files.bodyFile, body);
  repo.log(`${tag} [dry-run] wrote ${files.diffFile} and ${files.bodyFile} (${repo.skipped} write(s) skipped; would be: ${o.outcome})`);
  return files;
}
