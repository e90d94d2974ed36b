// `npm run demo`: the whole chain, offline, against loopback peers: an upstream release host serving a synthetic Alloy
// 1.10.2 (small ELF stand-ins for the binaries), an S3 server standing in for R2, and a GitHub double holding the two
// consumer repositories with Butane files pinning 1.10.1. It runs the real `nx run alloy:pr` in this workspace and
// prints what came out. Nothing leaves 127.0.0.1; the signing key is the development key unless ALLOY_SIGNING_KEY is set.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createS3Store } from '@alloy-sysext/r2';
import { readPinned } from '@alloy-sysext/ghost-stack';
import { makeSyntheticBinary, startUpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { r2Env, startS3Peer } from '@alloy-sysext/test-peers/s3';
import { startGitHubDouble } from '@alloy-sysext/test-peers/github';
import { loadRecipe } from '@alloy-sysext/pipeline';
import { demoSummary } from './summary.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const version = process.env.DEMO_VERSION ?? '1.10.2';
const fixtures = path.join(root, 'libs/ghost-stack/test/fixtures');

async function main() {
  const recipe = await loadRecipe(path.join(root, 'apps/alloy/sysext.json'));
  const upstream = await startUpstreamHost({
    releases: [
      { version: '1.10.1', body: 'Previous release.' },
      {
        version,
        body: `Synthetic Alloy ${version} for the demo.`,
        binaries: { amd64: makeSyntheticBinary('amd64', 4 << 20), arm64: makeSyntheticBinary('arm64', 4 << 20) },
      },
      { version: '1.11.0-rc.0', prerelease: true },
    ],
  });
  const s3 = await startS3Peer({ bucket: recipe.bucket.name });
  const github = await startGitHubDouble();
  const files: Record<string, string> = {
    'ghost-stack': await readFile(path.join(fixtures, 'ghost.bu'), 'utf8'),
    'infisical-stack': await readFile(path.join(fixtures, 'infisical.bu.tftpl'), 'utf8'),
  };
  for (const consumer of recipe.consumers) {
    const [owner, repo] = consumer.repo.split('/');
    github.seedRepo({
      owner,
      repo,
      defaultBranch: consumer.base,
      branches: { [consumer.base]: { [consumer.path]: files[consumer.name] } },
    });
  }
  const publicUrl = `${s3.endpoint}/${s3.bucket}/${recipe.bucket.prefix.replace(/\/$/, '')}`;
  const env = {
    ...process.env,
    ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
    ...r2Env(s3),
    ALLOY_PUBLIC_URL: publicUrl,
    ALLOY_GITHUB_API_URL: github.url,
    ALLOY_GITHUB_TOKEN: github.token({ login: 'alloy-sysext[bot]' }),
    NX_NO_CLOUD: 'true',
  };
  try {
    console.log(`demo: upstream ${upstream.apiUrl}, S3 ${s3.endpoint}, GitHub double ${github.url}\n`);
    const code = await run(
      process.execPath,
      [path.join(root, 'node_modules/nx/dist/bin/nx.js'), 'run', 'alloy:pr', '--output-style=static', '--', `--version=${version}`],
      env,
    );
    if (code !== 0) throw new Error(`nx run alloy:pr exited with ${code}`);

    const checksums = [];
    for (const arch of recipe.arches) {
      checksums.push(await readFile(path.join(root, 'dist/alloy', version, 'images', `alloy-${version}-${arch}.raw.sha256`), 'utf8'));
    }
    const store = createS3Store({ bucket: s3.bucket, endpoint: s3.endpoint, ...s3.credentials, region: s3.region, forcePathStyle: true });
    const manifestKey = `${recipe.bucket.prefix}SHA256SUMS`;
    const pulls = recipe.consumers.flatMap((consumer) => {
      const [owner, repo] = consumer.repo.split('/');
      return github.pulls(owner, repo).map((pr) => ({
        // the html_url the double gave the pr step, which printed it in its table
        url: `${github.url}/${owner}/${repo}/pull/${pr.number}`,
        state: pr.state,
        title: pr.title,
        pins: readPinned(github.readFile(owner, repo, pr.head, consumer.path)!, { arch: consumer.arch }),
      }));
    });
    const summary = demoSummary({
      version,
      checksums,
      bucket: `s3://${s3.bucket}/`,
      objects: await store.list(''),
      manifestKey,
      manifest: (await store.get(manifestKey))?.body.toString('utf8') ?? '(none)',
      pulls,
    });
    console.log(`\n${summary}`);
  } finally {
    await Promise.allSettled([upstream.stop(), s3.stop(), github.stop()]);
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

main().catch((error: Error) => {
  console.error(`demo failed: ${error.message}`);
  process.exit(1);
});
