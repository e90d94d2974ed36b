import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { startS3Peer, type S3Peer } from './s3.js';

describe('S3 peer', () => {
  let peer: S3Peer;
  let client: S3Client;
  beforeAll(async () => {
    peer = await startS3Peer({ bucket: 'peer-test' });
    client = new S3Client({
      endpoint: peer.endpoint,
      region: peer.region,
      credentials: peer.credentials,
      forcePathStyle: true,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
  afterAll(async () => {
    client.destroy();
    await peer.stop();
  });
  const put = (Key: string, Body: string, extra: { IfMatch?: string; IfNoneMatch?: string } = {}) =>
    client.send(new PutObjectCommand({ Bucket: peer.bucket, Key, Body, ...extra }));
  const read = async (Key: string) => (await client.send(new GetObjectCommand({ Bucket: peer.bucket, Key }))).Body!.transformToString();

  it('round-trips an object and records the requests it saw', async () => {
    await put('a/b.txt', 'hello');
    expect(await read('a/b.txt')).toBe('hello');
    const seen = peer.requests.filter((r) => r.key === 'a/b.txt').map((r) => `${r.method} ${r.status}`);
    expect(seen).toEqual(['PUT 200', 'GET 200']);
  });

  it('a read-only key reads, and every write it tries is refused with 403 AccessDenied', async () => {
    await put('ro/x.txt', 'kept');
    const ro = new S3Client({
      endpoint: peer.endpoint,
      region: peer.region,
      credentials: peer.readOnlyCredentials,
      forcePathStyle: true,
      maxAttempts: 1,
    });
    try {
      const body = await (await ro.send(new GetObjectCommand({ Bucket: peer.bucket, Key: 'ro/x.txt' }))).Body!.transformToString();
      expect(body).toBe('kept');
      await ro.send(new HeadObjectCommand({ Bucket: peer.bucket, Key: 'ro/x.txt' }));
      await expect(ro.send(new PutObjectCommand({ Bucket: peer.bucket, Key: 'ro/x.txt', Body: 'changed' }))).rejects.toMatchObject({
        name: 'AccessDenied',
      });
      await expect(ro.send(new DeleteObjectCommand({ Bucket: peer.bucket, Key: 'ro/x.txt' }))).rejects.toMatchObject({
        name: 'AccessDenied',
      });
      expect(await read('ro/x.txt')).toBe('kept');
    } finally {
      ro.destroy();
    }
  });

  it('enforces If-Match and If-None-Match like S3', async () => {
    const first = await put('cond.txt', 'one');
    await expect(put('cond.txt', 'two', { IfMatch: '"0123456789abcdef0123456789abcdef"' })).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    await expect(put('cond.txt', 'two', { IfNoneMatch: '*' })).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    expect(await read('cond.txt')).toBe('one');
    await put('cond.txt', 'two', { IfMatch: first.ETag! });
    expect(await read('cond.txt')).toBe('two');
    await expect(put('missing.txt', 'x', { IfMatch: first.ETag! })).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    await put('fresh.txt', 'x', { IfNoneMatch: '*' });
    expect(await read('fresh.txt')).toBe('x');
  });

  it("enforces a copy's x-amz-copy-source-if-match like S3 (s3rver alone copies whatever the source holds)", async () => {
    const first = await put('copy-src.txt', 'one');
    const copy = (IfMatch: string) =>
      client.send(
        new CopyObjectCommand({
          Bucket: peer.bucket,
          Key: 'copy-dst.txt',
          CopySource: `${peer.bucket}/copy-src.txt`,
          CopySourceIfMatch: IfMatch,
        }),
      );
    await put('copy-src.txt', 'two'); // replaced after its ETag was read
    await expect(copy(first.ETag!)).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    await expect(read('copy-dst.txt')).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    const current = await client.send(new HeadObjectCommand({ Bucket: peer.bucket, Key: 'copy-src.txt' }));
    await copy(current.ETag!);
    expect(await read('copy-dst.txt')).toBe('two');
  });

  it('injects a 500 the client sees, then behaves again', async () => {
    peer.failNext({ method: 'PUT', key: 'boom.txt', status: 500 });
    await expect(put('boom.txt', 'x')).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    await expect(client.send(new HeadObjectCommand({ Bucket: peer.bucket, Key: 'boom.txt' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    await put('boom.txt', 'y');
    expect(await read('boom.txt')).toBe('y');
    expect(peer.requests.filter((r) => r.key === 'boom.txt' && r.method === 'PUT').map((r) => r.status)).toEqual([500, 200]);
  });

  it('fails only the nth matching request', async () => {
    peer.failNext({ method: 'GET', key: /^nth/, nth: 2, status: 503 });
    await put('nth.txt', 'z');
    await expect(read('nth.txt')).resolves.toBe('z');
    await expect(read('nth.txt')).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
    await expect(read('nth.txt')).resolves.toBe('z');
  });

  it('drops a connection mid-body and never exposes the partial object', async () => {
    peer.failNext({ method: 'PUT', key: 'drop.bin', dropConnection: true });
    await expect(
      client.send(new PutObjectCommand({ Bucket: peer.bucket, Key: 'drop.bin', Body: Buffer.alloc(4 << 20, 7) })),
    ).rejects.toThrow();
    await expect(client.send(new HeadObjectCommand({ Bucket: peer.bucket, Key: 'drop.bin' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    // Over an existing object, the old bytes stay whole.
    await put('drop.bin', 'v1');
    peer.failNext({ method: 'PUT', key: 'drop.bin', dropConnection: true });
    await expect(
      client.send(new PutObjectCommand({ Bucket: peer.bucket, Key: 'drop.bin', Body: Buffer.alloc(4 << 20, 8) })),
    ).rejects.toThrow();
    expect(await read('drop.bin')).toBe('v1');
    expect(peer.requests.filter((r) => r.key === 'drop.bin' && r.method === 'PUT').map((r) => r.status)).toEqual([0, 200, 0]);
  });

  it('aborts multipart uploads (s3rver alone answers 405) and enforces If-None-Match on complete', async () => {
    const Bucket = peer.bucket;
    const start = async (Key: string) => (await client.send(new CreateMultipartUploadCommand({ Bucket, Key }))).UploadId!;
    const aborted = await start('mp.bin');
    await client.send(new UploadPartCommand({ Bucket, Key: 'mp.bin', UploadId: aborted, PartNumber: 1, Body: Buffer.from('part') }));
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key: 'mp.bin', UploadId: aborted }));
    await expect(client.send(new AbortMultipartUploadCommand({ Bucket, Key: 'mp.bin', UploadId: aborted }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
    });

    await put('mp.bin', 'existing');
    const id = await start('mp.bin');
    const part = await client.send(new UploadPartCommand({ Bucket, Key: 'mp.bin', UploadId: id, PartNumber: 1, Body: Buffer.from('new') }));
    const complete = (extra: { IfNoneMatch?: string }) =>
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: 'mp.bin',
          UploadId: id,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
          ...extra,
        }),
      );
    await expect(complete({ IfNoneMatch: '*' })).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    expect(await read('mp.bin')).toBe('existing');
    await complete({});
    expect(await read('mp.bin')).toBe('new');
  });

  describe('SHA256 checksums, as S3 computes and reports them', () => {
    const Bucket = 'peer-test';
    const b64 = (data: string | Buffer) => createHash('sha256').update(data).digest('base64');
    const checksum = async (Key: string) => {
      const h = await client.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
      return { sha256: h.ChecksumSHA256, type: h.ChecksumType };
    };

    it('a PUT carrying x-amz-checksum-sha256 of other bytes is refused (BadDigest) and stores nothing', async () => {
      await expect(
        client.send(new PutObjectCommand({ Bucket, Key: 'sum.txt', Body: 'forged', ChecksumSHA256: b64('genuine') })),
      ).rejects.toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
      await expect(read('sum.txt')).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    });

    it('the checksum the server verified is reported on HEAD and GET only when asked; a re-put without one drops it', async () => {
      await client.send(new PutObjectCommand({ Bucket, Key: 'sum.txt', Body: 'genuine', ChecksumSHA256: b64('genuine') }));
      expect(await checksum('sum.txt')).toEqual({ sha256: b64('genuine'), type: 'FULL_OBJECT' });
      expect((await client.send(new HeadObjectCommand({ Bucket, Key: 'sum.txt' }))).ChecksumSHA256).toBeUndefined();
      const got = await client.send(new GetObjectCommand({ Bucket, Key: 'sum.txt', ChecksumMode: 'ENABLED' }));
      expect([got.ChecksumSHA256, await got.Body!.transformToString()]).toEqual([b64('genuine'), 'genuine']);
      // a writer re-puts other bytes with the original user metadata: the metadata is theirs, the checksum is not
      await client.send(new PutObjectCommand({ Bucket, Key: 'sum.txt', Body: 'forged', Metadata: { sha256: 'genuine' } }));
      expect(await checksum('sum.txt')).toEqual({ sha256: undefined, type: undefined });
    });

    it('multipart: each part verified, the object gets the composite checksum; a copy keeps its source’s; delete drops it', async () => {
      const parts = [Buffer.alloc(5 * 1024 * 1024, 1), Buffer.from('tail')];
      const UploadId = (await client.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp-sum.bin', ChecksumAlgorithm: 'SHA256' })))
        .UploadId!;
      const send = (PartNumber: number, Body: Buffer, ChecksumSHA256: string) =>
        client.send(new UploadPartCommand({ Bucket, Key: 'mp-sum.bin', UploadId, PartNumber, Body, ChecksumSHA256 }));
      await expect(send(2, parts[1]!, b64('other'))).rejects.toMatchObject({ name: 'BadDigest' });
      const sent = [await send(1, parts[0]!, b64(parts[0]!)), await send(2, parts[1]!, b64(parts[1]!))];
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: 'mp-sum.bin',
          UploadId,
          MultipartUpload: { Parts: sent.map((p, i) => ({ PartNumber: i + 1, ETag: p.ETag, ChecksumSHA256: b64(parts[i]!) })) },
        }),
      );
      const composite = `${createHash('sha256')
        .update(Buffer.concat(parts.map((p) => createHash('sha256').update(p).digest())))
        .digest('base64')}-2`;
      expect(await checksum('mp-sum.bin')).toEqual({ sha256: composite, type: 'COMPOSITE' });
      await client.send(new CopyObjectCommand({ Bucket, Key: 'mp-copy.bin', CopySource: `${Bucket}/mp-sum.bin` }));
      expect(await checksum('mp-copy.bin')).toEqual({ sha256: composite, type: 'COMPOSITE' });
      await client.send(new DeleteObjectCommand({ Bucket, Key: 'mp-copy.bin' }));
      await client.send(new PutObjectCommand({ Bucket, Key: 'mp-copy.bin', Body: 'plain' }));
      expect(await checksum('mp-copy.bin')).toEqual({ sha256: undefined, type: undefined });
    });
  });
});

describe('S3 peer: stopped with a request in flight (issue 22, item 11)', () => {
  it('prints nothing: no "[winston] Attempt to write logs with no transports" in the test output', async () => {
    const printed: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
    try {
      const peer = await startS3Peer();
      // a PUT whose body never ends: s3rver is inside it when stop() cuts the connection, and logs its failure after
      const body = new ReadableStream({ start: (c) => c.enqueue(new Uint8Array(10)) });
      const put = fetch(`${peer.endpoint}/${peer.bucket}/k`, {
        method: 'PUT',
        body,
        headers: { 'content-length': '100' },
        duplex: 'half',
      } as RequestInit).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await peer.stop();
      await put;
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      spy.mockRestore();
    }
    expect(printed).toEqual([]);
  });
});
