import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { EXIT, main } from '../src/index.js';
import { capture, tempWorkspace } from './helpers.js';

const run = promisify(execFile);

let ws: { root: string; cleanup: () => Promise<void> };
let gnupg: string;

beforeAll(async () => {
  ws = await tempWorkspace();
  gnupg = await mkdtemp(path.join(os.tmpdir(), 'release-bot-gnupg-'));
});
afterAll(async () => {
  await Promise.all([ws?.cleanup(), gnupg && rm(gnupg, { recursive: true, force: true })]);
});

describe('keys generate', () => {
  it('writes a 0600 private key and a keyring gpg imports, prints the fingerprint and deploy steps, never overwrites', async () => {
    const c = capture(ws.root, {});
    expect(await main(['keys', 'generate', '--out', 'keys'], c.ctx)).toBe(EXIT.OK);
    const dir = path.join(ws.root, 'keys');
    expect((await stat(path.join(dir, 'signing-key.asc'))).mode & 0o777).toBe(0o600);

    const fingerprint = /fingerprint: ([0-9A-F]{40})/.exec(c.stdout())?.[1];
    expect(fingerprint).toBeDefined();
    const { stdout: imported } = await run('gpg', [
      '--batch',
      '--homedir',
      gnupg,
      '--with-colons',
      '--import-options',
      'show-only',
      '--import',
      path.join(dir, 'import-pubring.gpg'),
    ]);
    expect(imported).toContain(`fpr:::::::::${fingerprint}:`);
    expect(imported).toMatch(/^pub:-:4096:1:/m); // RSA-4096
    expect(imported).toContain('alloy-sysext release <release@alloy-sysext.invalid>');
    await run('gpg', ['--batch', '--homedir', gnupg, '--import', path.join(dir, 'import-pubring.gpg')]);
    const { stdout: listed } = await run('gpg', ['--batch', '--homedir', gnupg, '--with-colons', '--list-keys', fingerprint!]);
    expect(listed).toContain(fingerprint);

    expect(c.stdout()).toContain('gh secret set ALLOY_SIGNING_KEY < keys/signing-key.asc');
    expect(c.stdout()).toContain('/etc/systemd/import-pubring.gpg');
    // never "replace the host keyring with this key": add it beside the others (as the Butane snippet does)
    expect(c.stdout()).not.toMatch(/install -m 0644 \S+ \/etc\/systemd\/import-pubring\.gpg/);
    expect(c.stdout()).toContain('install -m 0644 keys/import-pubring.gpg /etc/alloy-sysext/alloy-release-key.gpg');
    expect(c.stdout()).not.toContain('PRIVATE KEY BLOCK');
    expect(c.stdout()).toContain('npm run release-bot -- keys rotate --new-key keys/signing-key.pub.asc');

    const before = await readFile(path.join(dir, 'signing-key.asc'), 'utf8');
    const again = capture(ws.root, {});
    expect(await main(['keys', 'generate', '--out', 'keys'], again.ctx)).toBe(EXIT.ERROR);
    expect(again.stderr()).toMatch(/signing-key\.asc already exists; refusing to overwrite.*pass --out with a new directory/);
    expect(await readFile(path.join(dir, 'signing-key.asc'), 'utf8')).toBe(before);
  });

  it('rejects a malformed identity before generating anything', async () => {
    const c = capture(ws.root, {});
    expect(await main(['keys', 'generate', '--out', 'bad', '--identity', 'no email here'], c.ctx)).toBe(EXIT.USAGE);
    expect(c.stderr()).toContain('--identity: identity "no email here": expected "Name <email@example.org>"');
    await expect(stat(path.join(ws.root, 'bad'))).rejects.toThrow();
  });
});
