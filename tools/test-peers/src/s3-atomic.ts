// Replacement for s3rver's FilesystemStore.putObject. s3rver streams the body straight into the object file, so a
// dropped upload leaves a truncated object under the final key (and it resolves before the file is flushed).
// S3 never exposes a partial object, so the peer writes to a temp file and renames it into place. A body sent with
// x-amz-checksum-sha256 is checked against it before the rename, as S3 does: other bytes are refused (400 BadDigest)
// and nothing is stored.
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const require = createRequire(import.meta.url);
// s3rver's error type: thrown from a store method, it becomes S3's XML error answer with its status (BadDigest: 400).
const S3Error: new (code: string, message: string) => Error = require('s3rver/lib/models/error');

interface S3rverObject {
  bucket: string;
  key: string;
  /** The request itself for a PUT (its headers carry the checksum), a stream of the parts for a multipart completion. */
  content: Buffer | Readable;
  metadata: Record<string, string>;
}

/** The base64 sha256 a request claims for its body (x-amz-checksum-sha256), if `content` is a request that sent one. */
export function claimedSha256(content: unknown): string | undefined {
  const header = (content as { headers?: Record<string, unknown> })?.headers?.['x-amz-checksum-sha256'];
  return typeof header === 'string' ? header : undefined;
}

interface S3rverStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
}

/**
 * Streams `content` into `target` via a temp file; an aborted body rejects (s3rver's `.pipe` would hang) and leaves
 * nothing, and so does a body whose sha256 is not the one its request claimed. Returns the body's base64 sha256.
 */
async function writeAtomically(
  content: Buffer | Readable,
  target: string,
  tmpDir: string,
): Promise<{ size: number; md5: string; sha256: string }> {
  await mkdir(path.dirname(target), { recursive: true });
  await mkdir(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, `${randomBytes(8).toString('hex')}.part`);
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  const claimed = claimedSha256(content);
  let size = 0;
  try {
    await pipeline(
      Buffer.isBuffer(content) ? [content] : content,
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          md5.update(chunk);
          sha256.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      }),
      createWriteStream(tmp),
    );
    const digest = sha256.digest('base64');
    if (claimed !== undefined && claimed !== digest) {
      throw new S3Error('BadDigest', `The SHA256 you specified (${claimed}) did not match the calculated checksum (${digest}).`);
    }
    await rename(tmp, target);
    return { size, md5: md5.digest('hex'), sha256: digest };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export function makeAtomicPutObject(store: S3rverStore, tmpDir: string) {
  return async function putObject(object: S3rverObject): Promise<{ size: number; md5: string; sha256: string }> {
    const r = await writeAtomically(object.content, store.getResourcePath(object.bucket, object.key, 'object'), tmpDir);
    await store.putMetadata(object.bucket, object.key, object.metadata, r.md5);
    return r;
  };
}

export function makeAtomicPutPart(store: S3rverStore, tmpDir: string) {
  return async function putPart(
    bucket: string,
    uploadId: string,
    partNumber: number,
    content: Readable,
  ): Promise<{ size: number; md5: string; sha256: string }> {
    const partPath = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    const r = await writeAtomically(content, partPath, tmpDir);
    await writeFile(`${partPath}.md5`, r.md5);
    return r;
  };
}
