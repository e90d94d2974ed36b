// Key generation for a new publisher: v4 RSA-4096 (what gpg 2.2, sqop and systemd-sysupdate all accept).
import * as openpgp from 'openpgp';
import { mkdir, access } from 'node:fs/promises';
import { join } from 'node:path';
import { SIGNING_CONFIG } from './policy.js';
import { KEYRING, writeFileAtomic } from '@alloy-sysext/common';

export interface GeneratedKey {
  /** Armored private key, mode 0600. */
  privateKeyPath: string;
  /** Armored public key. */
  publicKeyPath: string;
  /** Binary public key (`gpg --export` form) to install as /etc/systemd/import-pubring.gpg. */
  keyringPath: string;
  /** Uppercase hex fingerprint. */
  fingerprint: string;
}

export const KEY_FILES = {
  privateKey: 'signing-key.asc',
  publicKey: 'signing-key.pub.asc',
  keyring: KEYRING,
} as const;

/** "Name <email>" with a non-empty name and a plausible address. */
export function parseIdentity(identity: string): { name: string; email: string } {
  const m = /^\s*([^<>]*?)\s*<([^<>\s@]+@[^<>\s@]+)>\s*$/.exec(identity);
  if (!m || m[1] === '') {
    throw new Error(`identity ${JSON.stringify(identity)}: expected "Name <email@example.org>"`);
  }
  return { name: m[1], email: m[2] };
}

export async function generateKey(opts: { identity: string; outDir: string; passphrase?: string }): Promise<GeneratedKey> {
  const userID = parseIdentity(opts.identity);
  const privateKeyPath = join(opts.outDir, KEY_FILES.privateKey);
  const publicKeyPath = join(opts.outDir, KEY_FILES.publicKey);
  const keyringPath = join(opts.outDir, KEY_FILES.keyring);
  // Never overwrite an existing key: losing it orphans every instance that trusts it.
  for (const p of [privateKeyPath, publicKeyPath, keyringPath]) {
    if (await exists(p)) throw new Error(`${p} already exists; refusing to overwrite a key`);
  }
  await mkdir(opts.outDir, { recursive: true, mode: 0o700 });
  const { privateKey } = await openpgp.generateKey({
    type: 'rsa',
    rsaBits: 4096,
    userIDs: [userID],
    passphrase: opts.passphrase || undefined,
    format: 'object',
    config: { ...SIGNING_CONFIG, v6Keys: false, aeadProtect: false },
  });
  const publicKey = privateKey.toPublic();
  await writeFileAtomic(privateKeyPath, privateKey.armor(), 0o600);
  await writeFileAtomic(publicKeyPath, publicKey.armor());
  await writeFileAtomic(keyringPath, publicKey.write());
  return { privateKeyPath, publicKeyPath, keyringPath, fingerprint: privateKey.getFingerprint().toUpperCase() };
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}
