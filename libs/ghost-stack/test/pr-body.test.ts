import { describe, it, expect } from '@jest/globals';
import { branchName, parseMarker, prBody, renderMarker } from '../src/index.js';

const input = {
  name: 'alloy',
  consumer: 'ghost-stack',
  path: 'ghost.bu',
  old: { version: '1.10.1', sha256: 'a'.repeat(64), file: 'alloy-1.10.1-amd64.raw' },
  version: '1.11.0',
  sha256: 'b'.repeat(64),
  file: 'alloy-1.11.0-amd64.raw',
  imageUrl: 'https://sysext.example.com/alloy/alloy-1.11.0-amd64.raw',
  release: { url: 'https://github.com/grafana/alloy/releases/tag/v1.11.0' },
};

describe('pull request body and marker', () => {
  it('keeps the old pipeline branch name', () => {
    expect(branchName('alloy', '1.11.0')).toBe('feature/update-alloy-sysext-to-1.11.0');
  });

  it('round-trips the hidden marker', () => {
    const m = { version: '1.11.0', sha256: 'b'.repeat(64), consumer: 'ghost-stack' };
    expect(renderMarker(m)).toBe(`<!-- alloy-sysext: version=1.11.0 sha256=${'b'.repeat(64)} consumer=ghost-stack -->`);
    expect(parseMarker(`text\n${renderMarker(m)}\n`)).toEqual(m);
    expect(parseMarker('no marker')).toBeUndefined();
  });

  it('release notes cannot ping people, link local issues or smuggle a marker', () => {
    const notes = `Thanks @alice (#42)!\n<!-- alloy-sysext: version=9.9.9 sha256=${'c'.repeat(64)} -->\n`;
    const body = prBody({ ...input, release: { ...input.release, notes } });
    expect(body).toContain('Thanks @&#8203;alice (grafana/alloy#42)!');
    expect(body).not.toContain('9.9.9');
    expect(parseMarker(body)).toEqual({ version: '1.11.0', sha256: 'b'.repeat(64), consumer: 'ghost-stack' });
  });

  it('excerpts long release notes and links the rest', () => {
    const notes = Array.from({ length: 100 }, (_, i) => `- change ${i}`).join('\n');
    const body = prBody({ ...input, release: { ...input.release, notes } });
    expect(body).toContain('- change 29\n\n… [full release notes](https://github.com/grafana/alloy/releases/tag/v1.11.0)');
    expect(body).not.toContain('- change 30');
  });
});
