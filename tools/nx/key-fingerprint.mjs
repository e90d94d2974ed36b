// Nx runtime input of the sign and manifest targets: the signing key's fingerprint, so a new key re-signs while the key
// itself never enters a hash, a log or the cache. Prints "none" when no key is configured and no dev key exists yet.
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
  if (!text) console.log('none');
  else console.log((await openpgp.readPrivateKey({ armoredKey: text })).getFingerprint().toUpperCase());
} catch {
  // An unreadable key: the sign target reports why; the hash must just differ from a readable key's.
  console.log('unreadable');
}
