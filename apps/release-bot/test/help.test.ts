// What release-bot says about itself agrees with the READMEs and with what it accepts (issue 22, items 3 and 4): each
// command's --help lists the options it takes and the one exit code table; the READMEs' command tables and examples use
// only those options, and their exit code table is that table.
import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EXIT, EXIT_CODES, exitCodesHelp, main } from '../src/index.js';
import { capture, npmRunReleaseBot, WORKSPACE } from './helpers.js';

const COMMANDS = [
  'check',
  'release',
  'plan',
  'finish',
  'status',
  'prune',
  'revoke',
  'verify',
  'serve',
  'keys generate',
  'keys rotate',
  'keys retire',
];

/** `release-bot <command> --help`, parsed: the options it lists (long names) and the whole text. */
async function help(command: string): Promise<{ options: string[]; text: string }> {
  const c = capture(WORKSPACE, {});
  expect(await main([...command.split(' ').filter(Boolean), '--help'], c.ctx)).toBe(EXIT.OK);
  const text = c.stdout();
  const options = [...text.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!).filter((o) => o !== '--help');
  return { options, text };
}

const readme = (file: string) => readFile(path.join(WORKSPACE, file), 'utf8');
const plain = (s: string) => s.replace(/`/g, '').replace(/\s+/g, ' ').trim();

/** The rows of the markdown table that follows `heading` (the first table after it). */
function tableAfter(text: string, heading: string): string[][] {
  const from = text.indexOf(heading);
  expect(from).toBeGreaterThan(-1);
  const lines = text.slice(from).split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  const rows = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

describe('release-bot help', () => {
  it.each(['', ...COMMANDS])('`release-bot %s --help` ends with the one exit code table', async (command) => {
    expect((await help(command)).text).toContain(`\n${exitCodesHelp()}\n`);
  });

  it('`npm run release-bot -- status --help` as typed: exit 0, its options and the exit code table', async () => {
    const r = await npmRunReleaseBot(['--', 'status', '--help']);
    expect(r.code).toBe(0);
    expect(r.output).toContain('--json');
    expect(r.output).toContain('--recipe <file>');
    expect(r.output).toContain(exitCodesHelp());
  }, 60_000);
});

describe('the READMEs agree with the help', () => {
  it("README's exit code table is the one every help shows", async () => {
    const rows = tableAfter(await readme('README.md'), 'Exit codes of the release bot');
    expect(rows.map(([code, meaning]) => [Number(code), plain(meaning!)])).toEqual(EXIT_CODES.map((e) => [e.code, e.meaning]));
  });

  it.each(['README.md', 'apps/release-bot/README.md'])('%s: each command row lists exactly the options its --help lists', async (file) => {
    const rows = tableAfter(await readme(file), '| command |');
    const documented = rows.map(([syntax]) => plain(syntax!));
    const commandOf = (syntax: string) => COMMANDS.find((c) => syntax === c || syntax.startsWith(`${c} `));
    expect(documented.map(commandOf).sort()).toEqual([...COMMANDS].sort());
    for (const syntax of documented) {
      const command = commandOf(syntax)!;
      const options = [...syntax.matchAll(/--[\w-]+/g)].map((m) => m[0]).sort();
      const listed = (await help(command)).options.filter((o) => o !== '--recipe').sort();
      expect([command, options]).toEqual([command, listed]);
    }
  });

  it('every `npm run release-bot -- …` example uses only options its command lists', async () => {
    const text = (await readme('README.md')) + (await readme('apps/release-bot/README.md'));
    const examples = [...text.matchAll(/npm run release-bot -- ([^`\n|]+)/g)].map((m) => m[1]!.trim()).filter((e) => !/^[<…]/.test(e)); // the generic form
    expect(examples.length).toBeGreaterThan(4);
    for (const example of examples) {
      const command = COMMANDS.find((c) => example === c || example.startsWith(`${c} `));
      expect([example, command]).toEqual([example, expect.any(String)]);
      const { options } = await help(command!);
      for (const used of example.match(/--[\w-]+/g) ?? []) expect([example, used, options.includes(used)]).toEqual([example, used, true]);
    }
  });
});
