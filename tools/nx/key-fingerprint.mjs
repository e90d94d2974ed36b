// Nx runtime input of the sign and manifest targets: the signing key's fingerprint, so a new key re-signs while the key
// itself never enters a hash, a log or the cache. The development key under .dev-keys/ counts as a key. With no key at
// all yet (a fresh clone: sign will generate its dev key), it prints a value unique to this run, so that run's entries
// are never restored into another clone that shares the remote cache (its dev-key signatures would be refused there).
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function keyText() {
  const env = process.env.ALLOY_SIGNING_KEY || process.env.GPG_PRIVATE_KEY;
  if (env) {
    const trimmed = env.trim();
    return trimmed.startsWith('-----BEGIN') ? trimmed : Buffer.from(trimmed.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  return readFile(`${root}.dev-keys/signing-key.asc`, 'utf8').catch(() => undefined);
}

try {
  const text = await keyText();
  if (!text) console.log(`no-key-yet-${randomUUID()}`);
  else console.log((await openpgp.readPrivateKey({ armoredKey: text })).getFingerprint().toUpperCase());
} catch {
  // An unreadable key: the sign target reports why; the hash must just differ from a readable key's.
  console.log('unreadable');
}
