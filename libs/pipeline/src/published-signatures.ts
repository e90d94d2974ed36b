// A published version's signature objects are immutable like its images. A run that missed the sign cache (another
// spelling of the command, a fresh clone, a dry run first) signs the same bytes again with a new timestamp: publish
// keeps the bucket's signature when it verifies those bytes with the release key, so a rerun rewrites nothing.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStore, PublishObject } from '@alloy-sysext/r2';
import { verifyDetached } from '@alloy-sysext/signing';

/** A signature object publish would upload, and what it signs (a local file, verified earlier in this run). */
export interface SignatureObject {
  object: PublishObject;
  signs: string;
}

/**
 * Each signature the bucket already holds that verifies the same bytes with `publicKey` is kept: its bytes are written
 * under `publishDir` and the object points there, so the upload finds them in place. Any other (missing, unreadable,
 * by another key, over other bytes) is replaced by this run's. Returns the keys kept.
 */
export async function keepPublishedSignatures(opts: {
  store: ObjectStore;
  signatures: SignatureObject[];
  publicKey: string;
  fingerprint: string;
  publishDir: string;
  log: (line: string) => void;
}): Promise<string[]> {
  const kept: string[] = [];
  for (const { object, signs } of opts.signatures) {
    const published = await opts.store.get(object.key);
    if (!published || published.body.equals(await readFile(object.path))) continue;
    const verifies = await verifyDetached({ data: signs, signature: published.body.toString('utf8'), publicKey: opts.publicKey }).then(
      () => true,
      () => false,
    );
    if (!verifies) continue;
    const file = path.join(opts.publishDir, object.key);
    await writeFile(file, published.body);
    object.path = file;
    kept.push(object.key);
    opts.log(
      `${object.key}: the bucket's signature verifies these bytes with ${opts.fingerprint}; kept (signatures in the bucket are not rewritten)`,
    );
  }
  return kept;
}
