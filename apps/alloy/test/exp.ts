import { startUpstreamHost, makeSyntheticBinary } from '@alloy-sysext/tools/peers/upstream';
import { startS3Peer } from '@alloy-sysext/tools/peers/s3';
import { startGitHubDouble } from '@alloy-sysext/tools/peers/github';
import { generateKey } from '@alloy-sysext/signing';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { copyWorkspace, nx, npxNx, tempDir, taskStatus, SOURCE_ROOT } from './harness.js';

const t0 = Date.now();
const root = await tempDir('e2e-exp-');
const up = await startUpstreamHost({ releases: [{ version: '1.10.2', binaries: { amd64: makeSyntheticBinary('amd64', 2 << 20), arm64: makeSyntheticBinary('arm64', 2 << 20) } }] });
const s3 = await startS3Peer();
const gh = await startGitHubDouble();
gh.seedRepo({ owner: 'noahwhite', repo: 'ghost-stack', defaultBranch: 'develop', branches: { develop: { 'opentofu/modules/vultr/instance/userdata/ghost.bu': await readFile(path.join(SOURCE_ROOT, 'libs/ghost-stack/test/fixtures/ghost.bu'), 'utf8') } } });
gh.seedRepo({ owner: 'officina-pub', repo: 'infisical-stack', defaultBranch: 'main', branches: { main: { 'opentofu/modules/server/userdata/infisical.bu.tftpl': await readFile(path.join(SOURCE_ROOT, 'libs/ghost-stack/test/fixtures/infisical.bu.tftpl'), 'utf8') } } });
const key = await generateKey({ identity: 'e2e <e2e@example.invalid>', outDir: '/tmp/e2e-exp/key' }).catch(() => ({ privateKeyPath: '/tmp/e2e-exp/key/signing-key.asc' }));
console.log('setup', Date.now() - t0);
const ws = await copyWorkspace(root, 'a');
console.log('copy', Date.now() - t0, ws);
const env = {
  ALLOY_UPSTREAM_API_URL: up.apiUrl, R2_ENDPOINT: s3.endpoint, R2_ACCESS_KEY_ID: s3.credentials.accessKeyId, R2_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
  R2_BUCKET: s3.bucket, R2_REGION: s3.region, ALLOY_SIGNING_KEY: await readFile(key.privateKeyPath, 'utf8'), ALLOY_GITHUB_API_URL: gh.url, ALLOY_GITHUB_TOKEN: gh.token(),
};
const which = process.argv[2] ?? 'pr';
let r = await nx(ws, ['run', `alloy:${which}`, '--', '--version=1.10.2'], env);
console.log(r.output, r.code, r.ms);
console.log(taskStatus(r.output));
console.log('s3 puts', s3.requests.filter((q) => q.method === 'PUT').map((q) => q.key + ' ' + q.status));
console.log('gh writes', gh.writes().length);
const n = s3.requests.length; const g = gh.writes().length;
r = await nx(ws, ['run', `alloy:${which}`, '--', '--version=1.10.2'], env);
console.log(r.output, r.code, r.ms);
console.log(taskStatus(r.output));
console.log('s3 puts', s3.requests.slice(n).filter((q) => q.method === 'PUT').map((q) => q.key + ' ' + q.status));
console.log('gh writes', gh.writes().slice(g));
await up.stop(); await s3.stop(); await gh.stop();
console.log('root', root);
