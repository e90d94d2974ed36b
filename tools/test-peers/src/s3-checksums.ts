// S3's SHA256 object checksums, which s3rver lacks. A body sent with x-amz-checksum-sha256 is verified (s3-atomic.ts);
// the object then keeps the checksum the server computed and reports it on HEAD/GET with x-amz-checksum-mode: ENABLED:
// whole-object ("<base64>") for a PUT, COMPOSITE ("<base64 of sha256 over the parts' digests>-<parts>") for a multipart
// upload created with x-amz-checksum-algorithm: SHA256 whose parts all carried one; a copy keeps its source's. An object
// written without one has none (S3 would add a CRC64NVME checksum, which nothing here reads). Kept in a file beside the
// object in s3rver's directory, so it lives and dies with the object.
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { claimedSha256 } from './s3-atomic.js';

export interface ObjectChecksum {
  sha256: string;
  type: 'FULL_OBJECT' | 'COMPOSITE';
}

interface Written {
  size: number;
  md5: string;
  sha256: string;
}

interface ChecksumStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putObject(object: { bucket: string; key: string; content: unknown }): Promise<Written>;
  putPart(bucket: string, uploadId: string, partNumber: number, content: Readable): Promise<Written>;
  putObjectMultipart(bucket: string, uploadId: string, parts: { number: number }[]): Promise<Written>;
  copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, metadata: unknown): Promise<unknown>;
  deleteObject(bucket: string, key: string): Promise<unknown>;
}

const RESOURCE = 'checksum.json';

/** Wraps the store's writes so each object's checksum file follows it. Call after the atomic put replacements. */
export function keepChecksums(store: ChecksumStore): { checksumOf(bucket: string, key: string): Promise<ObjectChecksum | undefined> } {
  const file = (bucket: string, key: string) => store.getResourcePath(bucket, key, RESOURCE);
  const uploadDir = (bucket: string, uploadId: string) => path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const record = async (bucket: string, key: string, checksum: ObjectChecksum | undefined) => {
    if (checksum) await writeFile(file(bucket, key), JSON.stringify(checksum));
    else await rm(file(bucket, key), { force: true });
  };
  const checksumOf = (bucket: string, key: string) =>
    readFile(file(bucket, key), 'utf8').then(
      (text) => JSON.parse(text) as ObjectChecksum,
      () => undefined,
    );

  const { putObject, putPart, putObjectMultipart, copyObject, deleteObject } = store;
  store.putObject = async (object) => {
    const written = await putObject.call(store, object);
    // a multipart completion streams the parts through here (no request headers): its wrapper records the checksum
    const claimed = claimedSha256(object.content);
    await record(object.bucket, object.key, claimed ? { sha256: written.sha256, type: 'FULL_OBJECT' } : undefined);
    return written;
  };
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const written = await putPart.call(store, bucket, uploadId, partNumber, content);
    const part = path.join(uploadDir(bucket, uploadId), `${partNumber}.sha256`);
    if (claimedSha256(content)) await writeFile(part, written.sha256);
    else await rm(part, { force: true });
    return written;
  };
  store.putObjectMultipart = async (bucket, uploadId, parts) => {
    const dir = uploadDir(bucket, uploadId);
    const [key, headers] = await Promise.all([
      readFile(path.join(dir, 'key'), 'utf8'),
      readFile(path.join(dir, 'metadata'), 'utf8').then((t) => JSON.parse(t) as Record<string, string>),
    ]);
    let checksum: ObjectChecksum | undefined;
    if (String(headers['x-amz-checksum-algorithm'] ?? '').toUpperCase() === 'SHA256') {
      const ordered = [...parts].sort((a, b) => a.number - b.number);
      const digests = await Promise.all(ordered.map((p) => readFile(path.join(dir, `${p.number}.sha256`), 'utf8').catch(() => undefined)));
      if (digests.every((d) => d !== undefined)) {
        const whole = createHash('sha256').update(Buffer.concat(digests.map((d) => Buffer.from(d!, 'base64'))));
        checksum = { sha256: `${whole.digest('base64')}-${digests.length}`, type: 'COMPOSITE' };
      }
    }
    const written = await putObjectMultipart.call(store, bucket, uploadId, parts);
    await record(bucket, key, checksum);
    return written;
  };
  store.copyObject = async (srcBucket, srcKey, destBucket, destKey, metadata) => {
    const checksum = await checksumOf(srcBucket, srcKey);
    const result = await copyObject.call(store, srcBucket, srcKey, destBucket, destKey, metadata);
    await record(destBucket, destKey, checksum);
    return result;
  };
  store.deleteObject = async (bucket, key) => {
    await rm(file(bucket, key), { force: true });
    return deleteObject.call(store, bucket, key);
  };
  return { checksumOf };
}
