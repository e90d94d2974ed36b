// S3's conditional-write rules, which s3rver ignores: If-None-Match: * fails on an existing key; If-Match fails with
// 412 on a different ETag and 404 NoSuchKey when there is no object (as S3 answers); a copy's
// x-amz-copy-source-if-match fails with 412 when the source's ETag differs. ETags compare without quotes/W/.
import type { IncomingHttpHeaders } from 'node:http';

interface MetadataStore {
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
}

export interface PreconditionFailure {
  status: number;
  code: string;
  message: string;
}

const normalize = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
const list = (header: string) => header.split(',').map(normalize).filter(Boolean);

export async function currentEtag(store: MetadataStore, bucket: string, key: string): Promise<string | null> {
  try {
    return normalize((await store.getMetadata(bucket, key)).etag);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function checkPreconditions(
  store: MetadataStore,
  bucket: string,
  key: string,
  headers: IncomingHttpHeaders,
): Promise<PreconditionFailure | null> {
  const ifMatch = headers['if-match'];
  const ifNoneMatch = headers['if-none-match'];
  if (ifMatch === undefined && ifNoneMatch === undefined) return null;
  const etag = await currentEtag(store, bucket, key);
  if (ifMatch !== undefined) {
    if (etag === null) return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
    const wanted = list(ifMatch);
    if (!wanted.includes('*') && !wanted.includes(etag)) {
      return { status: 412, code: 'PreconditionFailed', message: 'At least one of the pre-conditions you specified did not hold' };
    }
  }
  if (ifNoneMatch !== undefined && etag !== null) {
    const wanted = list(ifNoneMatch);
    if (wanted.includes('*') || wanted.includes(etag)) {
      return { status: 412, code: 'PreconditionFailed', message: 'At least one of the pre-conditions you specified did not hold' };
    }
  }
  return null;
}

/** CopyObject's x-amz-copy-source-if-match: the source (`x-amz-copy-source`, "bucket/key") must have one of these ETags. */
export async function checkCopySourcePrecondition(store: MetadataStore, headers: IncomingHttpHeaders): Promise<PreconditionFailure | null> {
  const wanted = headers['x-amz-copy-source-if-match'];
  const source = headers['x-amz-copy-source'];
  if (typeof wanted !== 'string' || typeof source !== 'string') return null;
  const [bucket, ...rest] = decodeURI(source).replace(/^\//, '').split('/');
  const etag = await currentEtag(store, bucket!, rest.join('/'));
  if (etag === null) return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
  const list = wanted.split(',').map(normalize).filter(Boolean);
  if (!list.includes('*') && !list.includes(etag)) {
    return { status: 412, code: 'PreconditionFailed', message: 'At least one of the pre-conditions you specified did not hold' };
  }
  return null;
}
