// The alloy e2e files' release key: one pregenerated v4 RSA-4096 key, TEST ONLY (its private half is in this repository),
// laid out as generateKey() lays a key out, so each e2e world skips RSA-4096 generation (~3 s of CPU per file and run).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { KEY_FILES, type GeneratedKey } from '@alloy-sysext/signing';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/e2e-signing-key.asc');

/** Writes the test key's private, public and keyring files into `outDir` (as generateKey would) and describes them. */
export async function testSigningKey(outDir: string): Promise<GeneratedKey> {
  const armored = await readFile(FIXTURE, 'utf8');
  const privateKey = await openpgp.readPrivateKey({ armoredKey: armored });
  const publicKey = privateKey.toPublic();
  const key: GeneratedKey = {
    privateKeyPath: path.join(outDir, KEY_FILES.privateKey),
    publicKeyPath: path.join(outDir, KEY_FILES.publicKey),
    keyringPath: path.join(outDir, KEY_FILES.keyring),
    fingerprint: privateKey.getFingerprint().toUpperCase(),
  };
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  await writeFile(key.privateKeyPath, armored, { mode: 0o600 });
  await writeFile(key.publicKeyPath, publicKey.armor());
  await writeFile(key.keyringPath, publicKey.write());
  return key;
}
