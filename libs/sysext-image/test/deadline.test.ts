import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startStallPeer, type StallPeer } from '@alloy-sysext/test-peers/stall';
import { download, downloadText } from '../src/download.js';
import { removeAll, tempDir } from './helpers.js';

// fetch() has no deadline of its own: these peers would hang the fetch step for ever without one. (Release lookups go
// through the GitHub client, whose deadline libs/github tests.)
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

    it("a release's checksum file read into memory fails after its attempts too, naming the URL", async () => {
      const url = `${peer.endpoint}/grafana/alloy/releases/download/v1.2.3/checksums.txt`;
      const start = Date.now();
      await expect(downloadText({ url, maxBytes: 1024, retry })).rejects.toThrow(`download ${url} failed after 2 attempts`);
      expect(Date.now() - start).toBeLessThan(5_000);
    });
  });
});
