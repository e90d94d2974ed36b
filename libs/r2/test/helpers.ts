import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';
import { createS3Store, type S3StoreOptions } from '../src/s3-store.js';

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'r2-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function peerStore(peer: S3Peer, extra: Partial<S3StoreOptions> = {}) {
  return createS3Store({
    bucket: peer.bucket,
    endpoint: peer.endpoint,
    accessKeyId: peer.credentials.accessKeyId,
    secretAccessKey: peer.credentials.secretAccessKey,
    region: peer.region,
    ...extra,
  });
}

/** Writes `size` bytes of non-repeating pseudo-random data and returns its sha256. */
export async function writeRandomFile(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(file, 'w');
  try {
    const block = randomBytes(1 << 20);
    for (let offset = 0, i = 0; offset < size; offset += block.length, i++) {
      block.writeUInt32LE(i, 0); // every MiB differs, so a misplaced part changes the hash
      const chunk = block.subarray(0, Math.min(block.length, size - offset));
      hash.update(chunk);
      await fh.write(chunk);
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export { startS3Peer, type S3Peer };

/** Multipart uploads the peer still holds for `key` (s3rver keeps each under <bucket>/._S3rver_uploads/<id>/, key in `key`). */
export async function pendingUploads(peer: S3Peer, key: string): Promise<string[]> {
  const dir = path.join(peer.directory, peer.bucket, '._S3rver_uploads');
  const ids = await readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
  const pending: string[] = [];
  for (const id of ids) {
    const owner = await readFile(path.join(dir, id, 'key'), 'utf8').catch(() => '');
    if (owner === key) pending.push(id);
  }
  return pending;
}

/** The bytes s3rver stored under `key`, read from its data directory (not through the store under test). */
export async function storedBytes(peer: S3Peer, key: string): Promise<Buffer> {
  return readFile(path.join(peer.directory, peer.bucket, ...key.split('/').slice(0, -1), `${key.split('/').at(-1)}._S3rver_object`));
}
