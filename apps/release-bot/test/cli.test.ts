import { describe, it, expect } from '@jest/globals';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { EXIT, main } from '../src/index.js';
import { capture, WORKSPACE } from './helpers.js';

describe('CLI', () => {
  it('bin/release-bot.mjs loads the TypeScript through tsx; help exits 0 and documents the exit codes', async () => {
    const bin = path.join(WORKSPACE, 'apps/release-bot/bin/release-bot.mjs');
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [bin, '--help'], { cwd: WORKSPACE, env: { PATH: process.env.PATH } }, (error, out) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout: out }),
      );
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/Commands:[\s\S]*check[\s\S]*release[\s\S]*status[\s\S]*keys/);
    expect(stdout).toContain('10  check: a new stable upstream release is not published yet');
    expect(stdout).toMatch(/revoke \[options\]\s+take a bad version out of the bucket for good/);
  });

  it('exits 2 on an unknown command or option, naming it', async () => {
    const c = capture(WORKSPACE, {});
    expect(await main(['check', '--frobnicate'], c.ctx)).toBe(EXIT.USAGE);
    expect(await main(['publish'], c.ctx)).toBe(EXIT.USAGE);
    expect(await main(['keys'], c.ctx)).toBe(EXIT.USAGE);
    expect(c.stderr()).toContain("unknown option '--frobnicate'");
    expect(c.stderr()).toContain("unknown command 'publish'");
  });

  it('a malformed GITHUB_REPOSITORY is a usage error that names it', async () => {
    const c = capture(WORKSPACE, { GITHUB_REPOSITORY: 'not a repo', ALLOY_GITHUB_TOKEN: 'secret-token-value' });
    expect(await main(['release', '--version', '1.10.2'], c.ctx, { runChain: async () => 0 })).toBe(EXIT.USAGE);
    expect(c.stderr()).toContain('GITHUB_REPOSITORY "not a repo" is not "owner/name"');
    expect(c.stderr() + c.stdout()).not.toContain('secret-token-value');
  });
});
