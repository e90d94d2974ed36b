// Cleartext-signed statements (RFC 9580 §7): the text and its signature in one armored object, so a statement that
// changes over time (the bucket's version state) is replaced by one conditional write and read back whole.
// `gpg --verify` checks the object as it is; verifyCleartext returns only the signed text, never what surrounds it.
import * as openpgp from 'openpgp';
import { unlockedKey, type SigningKey } from './key.js';
import { SIGNING_CONFIG } from './policy.js';

/** Signs `text` (one statement; lines without trailing whitespace, which cleartext signing would not keep). */
export async function signCleartext(text: string, key: SigningKey): Promise<string> {
  if (/[ \t]\r?$/m.test(text)) throw new Error('signCleartext: a line ends in whitespace, which the cleartext framework strips');
  const message = await openpgp.createCleartextMessage({ text });
  return openpgp.sign({ message, signingKeys: unlockedKey(key), config: SIGNING_CONFIG });
}

/**
 * The text of a cleartext-signed object when one of `publicKeys` made a valid signature over it, with that key's
 * fingerprint; otherwise undefined. Malformed input is undefined too: the caller names the object it read.
 */
export async function verifyCleartext(signed: string, publicKeys: string[]): Promise<{ text: string; fingerprint: string } | undefined> {
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: signed });
  } catch {
    return undefined;
  }
  for (const armored of publicKeys) {
    const key = await openpgp.readKey({ armoredKey: armored.trim() }).catch(() => undefined);
    if (!key) continue;
    const result = await openpgp.verify({ message, verificationKeys: key });
    for (const s of result.signatures) {
      const ok = await s.verified.then(
        () => true,
        () => false,
      );
      if (ok) return { text: message.getText(), fingerprint: key.getFingerprint().toUpperCase() };
    }
  }
  return undefined;
}

/** The text of a cleartext-signed object WITHOUT verifying it: only for reports that know no trusted key and say so. */
export async function unverifiedCleartext(signed: string): Promise<string | undefined> {
  return openpgp.readCleartextMessage({ cleartextMessage: signed }).then(
    (m) => m.getText(),
    () => undefined,
  );
}
