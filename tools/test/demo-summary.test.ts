// The summary `npm run demo` prints (issue 22, item 11): each pull request once, in the form the pr step's table gave
// it, and no empty line left over after the SHA256SUMS listing.
import { describe, expect, it } from '@jest/globals';
import { demoSummary } from '../src/demo/summary.js';

describe('demo summary', () => {
  it('lists each pull request once and no stray blank line', () => {
    const url = 'http://127.0.0.1:4000/noahwhite/ghost-stack/pull/1';
    const text = demoSummary({
      version: '1.10.2',
      checksums: [`${'a'.repeat(64)}  alloy-1.10.2-amd64.raw\n`],
      bucket: 's3://sysext/',
      objects: [{ key: 'alloy/SHA256SUMS', size: 300 }],
      manifestKey: 'alloy/SHA256SUMS',
      manifest: `${'a'.repeat(64)}  alloy-1.10.2-amd64.raw\n`,
      pulls: [{ url, state: 'open', title: 'Update alloy sysext to 1.10.2', pins: { version: '1.10.2', sha256: 'a'.repeat(64) } }],
    });
    expect(text.split(url)).toHaveLength(2);
    expect(text).not.toMatch(/\/repos\/.*\/pulls\//);
    expect(text).toContain(
      `alloy/SHA256SUMS:\n  ${'a'.repeat(64)}  alloy-1.10.2-amd64.raw\n\npull requests on the GitHub double:\n  ${url}  open`,
    );
    expect(text).not.toMatch(/^\s+$/m);
  });
});
