import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { storeFromEnv } from '../src/env.js';
import { startS3Peer, tempDir, type S3Peer } from './helpers.js';

describe('storeFromEnv', () => {
  let peer: S3Peer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    peer = await startS3Peer({ bucket: 'from-env' });
    tmp = await tempDir();
  });
  afterAll(async () => {
    await peer.stop();
    await tmp.cleanup();
  });
  const defaults = () => ({ bucket: 'recipe-bucket', prefix: 'alloy', directory: path.join(tmp.dir, 'bucket') });

  it('uses the local directory when nothing is configured', async () => {
    const store = storeFromEnv({}, defaults());
    expect(store.describe()).toBe(`dir:${path.join(tmp.dir, 'bucket', 'alloy')}`);
    await store.putBytes('x.txt', Buffer.from('x'));
    expect((await store.get('x.txt'))?.body.toString()).toBe('x');
  });

  it('uses S3 with R2_ENDPOINT, R2_BUCKET overriding the recipe, and never shows the secret', async () => {
    const env = {
      R2_ENDPOINT: peer.endpoint,
      R2_ACCESS_KEY_ID: peer.credentials.accessKeyId,
      R2_SECRET_ACCESS_KEY: peer.credentials.secretAccessKey,
      R2_BUCKET: 'from-env',
      R2_REGION: peer.region,
    };
    const store = storeFromEnv(env, defaults());
    expect(store.describe()).toBe(`s3://from-env/alloy at ${peer.endpoint}`);
    await store.putBytes('y.txt', Buffer.from('y'));
    expect(peer.requests.some((r) => r.method === 'PUT' && r.key === 'alloy/y.txt')).toBe(true);
  });

  it('derives the R2 endpoint from the account id', () => {
    const store = storeFromEnv(
      { R2_ACCOUNT_ID: '0123456789abcdef0123456789abcdef', R2_ACCESS_KEY_ID: 'id', R2_SECRET_ACCESS_KEY: 'topsecret' },
      defaults(),
    );
    expect(store.describe()).toBe('s3://recipe-bucket/alloy at https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com');
    expect(() => storeFromEnv({ R2_ACCOUNT_ID: 'nope', R2_ACCESS_KEY_ID: 'id', R2_SECRET_ACCESS_KEY: 's' }, defaults())).toThrow(
      /R2 account id "nope" is not 32 hex characters/,
    );
  });

  it('refuses a partial configuration, naming what is missing', () => {
    expect(() => storeFromEnv({ R2_ACCESS_KEY_ID: 'id', R2_SECRET_ACCESS_KEY: 'topsecret' }, defaults())).toThrow(
      'R2 is partly configured: set R2_ACCOUNT_ID or R2_ENDPOINT',
    );
    let message = '';
    try {
      storeFromEnv({ R2_ACCOUNT_ID: '0123456789abcdef0123456789abcdef', R2_SECRET_ACCESS_KEY: 'topsecret' }, defaults());
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('R2_ACCESS_KEY_ID');
    expect(message).not.toContain('topsecret');
  });

  it('R2_PREFIX and the recipe prefix follow one rule, and a bad one names its source and the value', async () => {
    for (const bad of ['../', '..', 'alloy/../..', '/alloy', 'a//b', './']) {
      expect(() => storeFromEnv({ R2_PREFIX: bad }, defaults())).toThrow(`R2_PREFIX ${JSON.stringify(bad)} is not a key prefix: expected`);
      expect(() => storeFromEnv({}, { ...defaults(), prefix: bad })).toThrow(
        `the recipe's bucket.prefix ${JSON.stringify(bad)} is not a key prefix`,
      );
    }
    // An explicit empty R2_PREFIX is the bucket's root; "sysext/" is "sysext".
    expect(storeFromEnv({ R2_PREFIX: '' }, defaults()).describe()).toBe(`dir:${path.join(tmp.dir, 'bucket')}`);
    expect(storeFromEnv({ R2_PREFIX: 'sysext/' }, defaults()).describe()).toBe(`dir:${path.join(tmp.dir, 'bucket', 'sysext')}`);
    // Nothing was written next to the bucket directory.
    expect((await readdir(tmp.dir)).sort()).toEqual(['bucket', 'bucket.meta']);
  });
});
