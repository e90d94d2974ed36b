// Detached, armored OpenPGP signatures (SHA-256) with memory bounded independently of the input size.
import * as openpgp from 'openpgp';
import { writeFileAtomic } from '@alloy-sysext/common';
import { unlockedKey, type SigningKey } from './key.js';
import { SIGNING_CONFIG } from './policy.js';
import { collect, drain, fileWebStream } from './streams.js';

/**
 * Signs a stream or bytes. openpgp.js `sign()` with default output buffers the whole input (measured: 490 MB RSS for
 * 200 MiB). With `format: 'object'` the signature is computed while the *message's* own packet stream is read, so we
 * drain that stream concurrently with reading the signature packets: memory stays at a few chunks.
 */
async function signMessage(message: openpgp.Message<any>, key: SigningKey): Promise<string> {
  const signature = (await openpgp.sign({
    message,
    signingKeys: unlockedKey(key),
    detached: true,
    format: 'object',
    config: SIGNING_CONFIG,
  })) as unknown as openpgp.Signature;
  const [, bytes] = await Promise.all([drain(message.packets.write()), collect(signature.packets.write())]);
  // emitChecksum: openpgp.js 6 omits the CRC24 line by default, and gpg 2.2 then misreads armor whose base64 ends
  // without '=' padding (https://dev.gnupg.org/T7071): it prints "Good signature" but exits 2, so systemd-pull
  // rejects it. Always true for our v4 signatures (RFC 9580 forbids the CRC only for v6 ones).
  return openpgp.armor(openpgp.enums.armor.signature, bytes, undefined, undefined, undefined, true);
}

export async function signFile(path: string, key: SigningKey): Promise<string> {
  const stream = await fileWebStream(path, 'sign');
  const message = await openpgp.createMessage({ binary: stream as any, format: 'binary' });
  return signMessage(message, key);
}

export async function signBytes(bytes: Uint8Array, key: SigningKey): Promise<string> {
  const message = await openpgp.createMessage({ binary: bytes, format: 'binary' });
  return signMessage(message, key);
}

/** Writes `<path>.asc` atomically (temp file in the same directory, then rename) and returns its path. */
export async function writeSignature(path: string, key: SigningKey): Promise<string> {
  const armored = await signFile(path, key);
  const target = `${path}.asc`;
  await writeFileAtomic(target, armored);
  return target;
}
