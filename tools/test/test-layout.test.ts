// One test layout (CONTRIBUTING, "Tests"): a project's tests live under its `test/` folder, never beside its sources.
// jest looks only there, so a test written elsewhere would never run: this fails on it instead.
import { describe, expect, it } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SKIP = new Set(['node_modules', 'dist', '.nx', '.cache']);

async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, dir), { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory() && !SKIP.has(e.name)
        ? testFiles(path.join(dir, e.name))
        : e.name.endsWith('.test.ts')
          ? [path.join(dir, e.name)]
          : [],
    ),
  );
  return nested.flat();
}

describe('test layout', () => {
  it("every *.test.ts sits under its project's test/ folder", async () => {
    const files = (await Promise.all(['apps', 'libs', 'sysexts', 'tools'].map(testFiles))).flat();
    expect(files.length).toBeGreaterThan(50);
    const underTest = /^((libs|apps|sysexts)\/[^/]+|tools|tools\/test-peers)\/test\//;
    expect(files.filter((f) => !underTest.test(f.split(path.sep).join('/')))).toEqual([]);
  });
});
