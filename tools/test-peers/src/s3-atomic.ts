// Replacement for s3rver's FilesystemStore.putObject. s3rver streams the body straight into the object file, so a
// dropped upload leaves a truncated object under the final key (and it resolves before the file is flushed).
// S3 never exposes a partial object, so the peer writes to a temp file and renames it into place.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

interface S3rverObject {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: Record<string, string>;
}

interface S3rverStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
}

/** Streams `content` into `target` via a temp file; an aborted body rejects (s3rver's `.pipe` would hang) and leaves nothing. */
async function writeAtomically(content: Buffer | Readable, target: string, tmpDir: string): Promise<{ size: number; md5: string }> {
  await mkdir(path.dirname(target), { recursive: true });
  await mkdir(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, `${randomBytes(8).toString('hex')}.part`);
  const md5 = createHash('md5');
  let size = 0;
  try {
    await pipeline(
      Buffer.isBuffer(content) ? [content] : content,
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          md5.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      }),
      createWriteStream(tmp),
    );
    await rename(tmp, target);
    return { size, md5: md5.digest('hex') };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export function makeAtomicPutObject(store: S3rverStore, tmpDir: string) {
  return async function putObject(object: S3rverObject): Promise<{ size: number; md5: string }> {
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
  ): Promise<{ size: number; md5: string }> {
    const partPath = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    const r = await writeAtomically(content, partPath, tmpDir);
    await writeFile(`${partPath}.md5`, r.md5);
    return r;
  };
}
