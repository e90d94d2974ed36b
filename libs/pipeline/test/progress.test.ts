import { describe, expect, it } from '@jest/globals';
import { describeProgress, progressReporter } from '../src/progress.js';

const MiB = 1024 * 1024;

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, write: (s: string) => (writes.push(s), true) }, writes };
}

describe('transfer progress', () => {
  it('in logs: one line every 5 s (a stall shows as lines that stop moving), and one at the end with the rate', () => {
    const { stream, writes } = fakeStream(false);
    let t = 0;
    const report = progressReporter({ stream, now: () => t });
    for (let s = 0; s <= 20; s++) {
      t = s * 1000;
      report({ name: 'alloy-1.10.2-amd64.raw', done: Math.min(s, 16) * 4 * MiB, total: 64 * MiB });
    }
    expect(writes).toEqual([
      'alloy-1.10.2-amd64.raw 20.0/64.0 MiB (31%) 4.0 MiB/s, ETA 11s\n',
      'alloy-1.10.2-amd64.raw 40.0/64.0 MiB (62%) 4.0 MiB/s, ETA 6s\n',
      'alloy-1.10.2-amd64.raw 60.0/64.0 MiB (93%) 4.0 MiB/s, ETA 1s\n',
      'alloy-1.10.2-amd64.raw 64.0/64.0 MiB (100%) done in 16s, 4.0 MiB/s\n',
    ]);
  });

  it('on a TTY: redrawn in place, ending with a newline', () => {
    const { stream, writes } = fakeStream(true);
    let t = 0;
    const report = progressReporter({ stream, now: () => t });
    report({ name: 'a.zip', done: 0, total: 2 * MiB });
    t = 1000;
    report({ name: 'a.zip', done: MiB, total: 2 * MiB });
    t = 2000;
    report({ name: 'a.zip', done: 2 * MiB, total: 2 * MiB });
    expect(writes).toEqual([
      '\r\x1b[2Ka.zip 0.0/2.0 MiB (0%) waiting for data',
      '\r\x1b[2Ka.zip 1.0/2.0 MiB (50%) 1.0 MiB/s, ETA 1s',
      '\r\x1b[2Ka.zip 2.0/2.0 MiB (100%) done in 2s, 1.0 MiB/s\n',
    ]);
  });

  it('says nothing for small files, and handles an unknown size', () => {
    const { stream, writes } = fakeStream(false);
    const report = progressReporter({ stream, now: () => 0 });
    report({ name: 'x.raw.sha256', done: 89, total: 89 });
    expect(writes).toEqual([]);
    expect(describeProgress({ name: 'big', done: 30 * MiB }, 10_000)).toBe('big 30.0 MiB 3.0 MiB/s');
  });
});
