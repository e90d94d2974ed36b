// Measured child of r2.bench.ts: one putFile through libs/r2 (it hashes the file first, as a caller without the hash
// would), printing the in-process time. Imports only libs/r2, as a process that uploads would.
//   node --import tsx tools/bench/r2-put.child.ts <endpoint> <bucket> <key> <file>
import { createS3Store } from '@alloy-sysext/r2';

const [endpoint, bucket, key, file] = process.argv.slice(2);
const store = createS3Store({ bucket, endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' });
const t = performance.now();
const r = await store.putFile(key, file);
process.stdout.write(JSON.stringify({ uploadSeconds: (performance.now() - t) / 1000, skipped: r.skipped }) + '\n');
