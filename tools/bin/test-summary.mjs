// Adds up the jest JSON results the test targets wrote (or restored from cache) into one closing line.
import { readdir, readFile } from 'node:fs/promises';

const dir = new URL('../../dist/test-results/', import.meta.url);
const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.json'));
let passed = 0,
  failed = 0,
  skipped = 0;
for (const file of files.sort()) {
  const r = JSON.parse(await readFile(new URL(file, dir), 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  console.log(`${file.replace(/\.json$/, '').padEnd(14)} ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (files.length === 0 || failed > 0 || skipped > 0) process.exit(1);
