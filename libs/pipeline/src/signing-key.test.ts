// The development key: an empty or corrupt .dev-keys/signing-key.asc is refused naming the file and how to get a new one
// (issue 22, item 8); the literal command is in apps/alloy/test/options.e2e.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { signingKeyFromEnv } from './signing-key.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'dev-key-'));
  await mkdir(path.join(root, '.dev-keys'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('the development key', () => {
  it.each([
    ['empty', ''],
    ['not armored', 'garbage\n'],
    ['armored but corrupt', '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----\n'],
  ])('%s: refused naming the file, how to make a new one, and ALLOY_SIGNING_KEY', async (_, content) => {
    const file = path.join(root, '.dev-keys/signing-key.asc');
    await writeFile(file, content);
    await expect(signingKeyFromEnv({ env: {}, workspaceRoot: root, identity: 'a <a@example.com>', log: () => {} })).rejects.toThrow(
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a usable development key \\(.+\\): delete \\.dev-keys/ and rerun to generate a new one, or set ALLOY_SIGNING_KEY$`,
      ),
    );
  });
});
