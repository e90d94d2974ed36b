import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startStallPeer, type StallPeer } from '@alloy-sysext/test-peers/stall';
import { download } from '../src/download.js';
import { getRelease } from '../src/release.js';
import { removeAll, tempDir } from './helpers.js';

// fetch() has no deadline of its own: these peers would hang the fetch step for ever without one.
describe('upstream HTTP has a deadline on silence', () => {
  const retry = { attempts: 2, baseDelayMs: 5, stallTimeoutMs: 300 };
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => removeAll([dir]));

  describe.each(['silent', 'stall-body'] as const)('against a %s peer', (mode) => {
    let peer: StallPeer;
    beforeAll(async () => {
      peer = await startStallPeer(mode);
    });
    afterAll(async () => peer.stop());

    it('a download fails after its attempts, naming the URL, and leaves no partial file', async () => {
      const url = `${peer.endpoint}/grafana/alloy/releases/download/v1.2.3/alloy-linux-amd64.zip`;
      const start = Date.now();
      await expect(download({ url, dest: join(dir, `${mode}.zip.tmp`), retry })).rejects.toThrow(
        mode === 'silent'
          ? `download ${url} failed after 2 attempts: download ${url}: no data for 300 ms`
          : `download ${url} failed after 2 attempts: connection broken after 16 bytes (download ${url}: no data for 300 ms)`,
      );
      expect(Date.now() - start).toBeLessThan(5_000);
      expect(await readdir(dir)).toEqual([]);
    });

    it('the release lookup fails after its attempts, naming the URL', async () => {
      const start = Date.now();
      const url = `${peer.endpoint}/repos/grafana/alloy/releases/tags/v1.2.3`;
      await expect(getRelease({ apiUrl: peer.endpoint, repo: 'grafana/alloy', version: '1.2.3', retry })).rejects.toThrow(
        `GET ${url} failed after 2 attempts: GET ${url}: no data for 300 ms`,
      );
      expect(Date.now() - start).toBeLessThan(5_000);
    });
  });
});
