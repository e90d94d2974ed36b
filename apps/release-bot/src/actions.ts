// GitHub Actions integration: step outputs ($GITHUB_OUTPUT) and the job summary ($GITHUB_STEP_SUMMARY).
import { randomBytes } from 'node:crypto';
import { appendFile } from 'node:fs/promises';

/** Appends `key=value` lines to $GITHUB_OUTPUT when set (multi-line values use the heredoc form). */
export async function writeOutputs(env: NodeJS.ProcessEnv, outputs: Record<string, string | number | boolean | undefined>): Promise<void> {
  const file = env.GITHUB_OUTPUT;
  if (!file) return;
  let text = '';
  for (const [key, raw] of Object.entries(outputs)) {
    if (raw === undefined) continue;
    const value = String(raw);
    if (value.includes('\n')) {
      const delimiter = `EOF_${randomBytes(8).toString('hex')}`;
      text += `${key}<<${delimiter}\n${value}\n${delimiter}\n`;
    } else {
      text += `${key}=${value}\n`;
    }
  }
  await appendFile(file, text);
}

/** Appends Markdown to the job summary when $GITHUB_STEP_SUMMARY is set. */
export async function writeSummary(env: NodeJS.ProcessEnv, markdown: string): Promise<void> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  await appendFile(file, markdown.endsWith('\n') ? `${markdown}\n` : `${markdown}\n\n`);
}

/** A Markdown table; cells are escaped so a `|` in a value cannot break the layout. */
export function markdownTable(header: string[], rows: string[][]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n') + '\n';
}
