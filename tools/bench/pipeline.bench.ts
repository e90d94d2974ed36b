// The whole pipeline on a ~300 MiB synthetic Alloy release (one arch, amd64): `nx run alloy:publish` cold (fresh
// workspace copy, empty Nx cache, empty bucket prefix), warm (the identical second run: fetch..manifest from the local
// cache, publish finds every object in place), restored (dist/ deleted, outputs restored from the local cache), remote (a
// fresh clone of that copy: empty local cache, no dist/, every cacheable task from the populated Nx cache server), against
// a shell script doing what the old pipeline did (curl + unzip, mksquashfs -comp xz, gpg --detach-sign, sha256sum,
// `/usr/bin/aws s3 cp` per file). Same upstream host, same S3 peer (separate key prefixes), same process, one after the
// other. Every nx run but "no remote cache" uses the same loopback cache server (the cold run fills it). Ratios are against the old script
// and the nx cold run measured in this run. Two rows show floors no warm run can go under: publish alone (the task
// that always runs) and `nx show projects` (Nx's own start-up without the daemon).
//   npx tsx tools/bench/pipeline.bench.ts [--mib 300]   (e.g. --mib 20 for a quick run)
import { execa } from 'execa';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cloneCopy, copyWorkspace, nx, SOURCE_ROOT, taskStatus, tempDir } from '@alloy-sysext/test-peers/nx-workspace';
import { makeSyntheticBinary, startUpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { r2Env, startS3Peer } from '@alloy-sysext/test-peers/s3';

const VERSION = '1.10.2';
const AWS = '/usr/bin/aws'; // Debian's awscli v2; the `aws` on PATH may be a different shim
const CACHE_TOKEN = 'bench-rw-0123456789abcdef01234567';

const OLD_PIPELINE = String.raw`
set -euo pipefail
cd "$WORK"
curl -fsSL -o alloy-linux-amd64.zip "$UPSTREAM/grafana/alloy/releases/download/v$VERSION/alloy-linux-amd64.zip"
unzip -q -o alloy-linux-amd64.zip
rm -rf tree && mkdir -p tree/usr/local/bin tree/usr/lib/extension-release.d tree/usr/lib/systemd/system
install -m 0755 alloy-linux-amd64 tree/usr/local/bin/alloy
printf 'ID=_any\nARCHITECTURE=x86-64\n' > tree/usr/lib/extension-release.d/extension-release.alloy
install -m 0644 "$UNIT" tree/usr/lib/systemd/system/alloy.service
mksquashfs tree "alloy-$VERSION-amd64.raw" -comp xz -all-root -noappend -quiet -no-progress
cp "alloy-$VERSION-amd64.raw" "alloy-$VERSION.raw"
files=()
for f in "alloy-$VERSION-amd64.raw" "alloy-$VERSION.raw"; do
  sha256sum "$f" > "$f.sha256"
  gpg --batch --yes --armor --local-user "$KEYID" --detach-sign -o "$f.asc" "$f"
  files+=("$f" "$f.sha256" "$f.asc")
done
sha256sum "alloy-$VERSION.raw" "alloy-$VERSION-amd64.raw" > SHA256SUMS
gpg --batch --yes --local-user "$KEYID" --detach-sign -o SHA256SUMS.gpg SHA256SUMS
files+=(SHA256SUMS SHA256SUMS.gpg)
for f in "${'$'}{files[@]}"; do
  ${AWS} --endpoint-url "$ENDPOINT" s3 cp "$f" "s3://$BUCKET/$PREFIX$f" --only-show-errors
done
`;

/** The Nx cache server (apps/nx-cache) as CI starts it, on a free port, its entries in a local directory. */
async function startCacheServer(directory: string): Promise<{ url: string; stop: () => void }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(R2_|NX_CACHE_)/.test(k)));
  const child = execa(process.execPath, ['--import', 'tsx', 'apps/nx-cache/src/main.ts', '--port', '0', '--directory', directory], {
    cwd: SOURCE_ROOT,
    env: { ...env, NX_CACHE_TOKENS: `read-write:${CACHE_TOKEN}` },
    extendEnv: false,
    reject: false,
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`nx-cache did not start within 60 s:\n${out}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void child.then((r) => reject(new Error(`nx-cache exited (${r.exitCode}):\n${out}${r.stderr}`)));
  });
  return { url, stop: () => void child.kill('SIGTERM') };
}

async function main(): Promise<void> {
  const mibArg = process.argv.indexOf('--mib');
  const mib = mibArg > 0 ? Number(process.argv[mibArg + 1]) : 300;
  if (!Number.isInteger(mib) || mib < 1) throw new Error(`--mib: expected a whole number of MiB >= 1, got ${process.argv[mibArg + 1]}`);
  const root = await tempDir('pipeline-bench-');
  const started = Date.now();
  console.log(
    `pipeline bench: ${mib} MiB synthetic amd64 binary, ${os.cpus().length} cpus, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );

  // signing key: gpg-generated RSA-4096, used by the old script's gpg and (exported) as ALLOY_SIGNING_KEY for nx
  const gnupg = path.join(root, 'gnupg');
  await mkdir(gnupg, { mode: 0o700 });
  const gpg = (args: string[]) => execa('gpg', ['--homedir', gnupg, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);
  await gpg(['--quick-gen-key', 'alloy-sysext bench <bench@alloy-sysext.invalid>', 'rsa4096', 'sign', 'never']);
  const keyId = (await gpg(['--list-secret-keys', '--with-colons'])).stdout
    .split('\n')
    .find((l) => l.startsWith('fpr:'))!
    .split(':')[9]!;
  const armoredKey = (await gpg(['--armor', '--export-secret-keys', keyId])).stdout;

  const binary = makeSyntheticBinary('amd64', mib * 1024 * 1024);
  const upstream = await startUpstreamHost({ releases: [{ version: VERSION, arches: ['amd64'], binaries: { amd64: binary } }] });
  const s3 = await startS3Peer({ bucket: 'bench' });
  const cacheServer = await startCacheServer(path.join(root, 'remote-cache'));
  console.log(`setup (key, ${mib} MiB binary + zip, peers) ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const rows: Array<{ name: string; seconds: number; note: string }> = [];
  const s3WriteCount = (from: number) => s3.requests.slice(from).filter((r) => r.method === 'PUT' || r.method === 'POST').length;
  try {
    // the old pipeline
    const work = path.join(root, 'old');
    await mkdir(work);
    const mark0 = s3.requests.length;
    const t0 = Date.now();
    const old = await execa('bash', ['-c', OLD_PIPELINE], {
      reject: false,
      all: true,
      env: {
        ...process.env,
        WORK: work,
        UPSTREAM: upstream.apiUrl,
        VERSION,
        UNIT: path.join(SOURCE_ROOT, 'apps/alloy/files/alloy.service'),
        KEYID: keyId,
        GNUPGHOME: gnupg,
        ENDPOINT: s3.endpoint,
        BUCKET: s3.bucket,
        PREFIX: 'old/',
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        AWS_DEFAULT_REGION: s3.region,
        AWS_CONFIG_FILE: path.join(root, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(root, 'no-aws-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    if (old.exitCode !== 0) throw new Error(`old pipeline script failed (${old.exitCode}):\n${old.all}`);
    rows.push({
      name: 'old script (xz, gpg, sha256sum, aws s3 cp)',
      seconds: (Date.now() - t0) / 1000,
      note: `${s3WriteCount(mark0)} S3 writes`,
    });

    // nx: one workspace copy with a one-arch recipe
    const ws = await copyWorkspace(root, 'ws');
    const recipeFile = path.join(ws, 'apps/alloy/sysext.json');
    const recipe = JSON.parse(await readFile(recipeFile, 'utf8'));
    recipe.arches = ['amd64'];
    await writeFile(recipeFile, JSON.stringify(recipe, null, 2));
    const env = {
      ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
      ...r2Env(s3),
      R2_PREFIX: 'nx/',
      ALLOY_SIGNING_KEY: armoredKey,
      NX_SELF_HOSTED_REMOTE_CACHE_SERVER: cacheServer.url,
      NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: CACHE_TOKEN,
    };
    const publish = async (
      name: string,
      note: (status: Record<string, string>) => string,
      cwd = ws,
      extra: Record<string, string | undefined> = {},
    ) => {
      const mark = s3.requests.length;
      const r = await nx(cwd, ['run', 'alloy:publish', '--', `--version=${VERSION}`], { ...env, ...extra });
      if (r.code !== 0) throw new Error(`${name} failed:\n${r.output.split('\n').slice(-40).join('\n')}`);
      const status = taskStatus(r.output);
      rows.push({ name, seconds: r.ms / 1000, note: `${note(status)}; ${s3WriteCount(mark)} S3 writes` });
      return r;
    };
    const summary = (s: Record<string, string>) =>
      Object.entries(s)
        .map(([t, v]) => `${t.slice('alloy:'.length)}=${v}`)
        .join(' ');
    // the same cold run without a remote cache: what filling the cache server costs on top of the chain itself
    const localOnly = await copyWorkspace(root, 'ws-local');
    await writeFile(path.join(localOnly, 'apps/alloy/sysext.json'), JSON.stringify(recipe, null, 2));
    await publish('nx cold, no remote cache (local cache only)', summary, localOnly, {
      R2_PREFIX: 'nx-local/',
      NX_SELF_HOSTED_REMOTE_CACHE_SERVER: undefined,
      NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: undefined,
    });
    const cold = await publish('nx cold (zstd; empty cache, empty bucket)', summary);
    const perTask = /alloy:(\w+)\s+([\d.]+s)/g;
    const critical = [...cold.output.matchAll(perTask)].map((m) => `${m[1]} ${m[2]}`).join(', ');
    await publish('nx warm (identical rerun)', summary);
    await rm(path.join(ws, 'dist'), { recursive: true, force: true });
    await publish('nx restore (dist/ deleted)', summary);
    const clone = await cloneCopy(ws, root, 'clone');
    await publish('nx remote (fresh clone, cache server)', summary, clone);
    // publish alone, daemon off: the one task every run must run (never cached: it re-verifies dist/ and asks the bucket)
    const alone = await nx(ws, ['run', 'alloy:publish', '--excludeTaskDependencies', '--', `--version=${VERSION}`], env);
    if (alone.code !== 0) throw new Error(`publish alone failed:\n${alone.output.split('\n').slice(-20).join('\n')}`);
    rows.push({
      name: 'nx publish alone (--excludeTaskDependencies)',
      seconds: alone.ms / 1000,
      note: 'Nx start-up + the publish task, no restore',
    });
    // Nx's own floor without the daemon: start-up, plugins and the project graph, no task at all
    const floor = await nx(ws, ['show', 'projects'], env);
    if (floor.code !== 0) throw new Error(`nx show projects failed:\n${floor.output.split('\n').slice(-20).join('\n')}`);
    rows.push({ name: "nx show projects (Nx's floor, daemon off)", seconds: floor.ms / 1000, note: 'no task: what any nx command costs' });
    // the daemon keeps the project graph and file hashes between runs: the first run starts it, the second is measured
    const daemon = { NX_DAEMON: 'true' };
    try {
      const prime = await nx(ws, ['run', 'alloy:publish', '--', `--version=${VERSION}`], { ...env, ...daemon });
      if (prime.code !== 0)
        throw new Error(`nx warm with the daemon (priming run) failed:\n${prime.output.split('\n').slice(-40).join('\n')}`);
      await publish('nx warm, daemon on (second run)', summary, ws, daemon);
    } finally {
      await nx(ws, ['daemon', '--stop'], { ...env, ...daemon });
    }

    const baseline = (prefix: string) => rows.find((r) => r.name.startsWith(prefix))!.seconds;
    const oldSeconds = baseline('old script');
    // the issue's cold run: empty local cache, empty bucket, no cache server to fill
    const coldSeconds = baseline('nx cold, no remote cache');
    const w = Math.max(...rows.map((r) => r.name.length));
    console.log('');
    console.log(`| ${'run'.padEnd(w)} | ${'wall s'.padStart(6)} | ${'vs old'.padStart(6)} | ${'vs cold'.padStart(7)} | notes`);
    console.log(`|${'-'.repeat(w + 2)}|--------|--------|---------|------`);
    for (const r of rows) {
      console.log(
        `| ${r.name.padEnd(w)} | ${r.seconds.toFixed(1).padStart(6)} | ${`${(r.seconds / oldSeconds).toFixed(2)}×`.padStart(6)} | ` +
          `${`${(r.seconds / coldSeconds).toFixed(2)}×`.padStart(7)} | ${r.note}`,
      );
    }
    console.log(
      'goals: cold ≤ 0.35× old (vs cold: the cold run without a cache server; the second cold row adds filling the cache server); warm (daemon off) ≤ 0.10× cold; warm with the daemon ≤ 3 s; remote ≤ 0.15× cold',
    );
    console.log(
      'issue 21 goals: cold filling the cache server ≤ 1.15× cold; fresh clone from the cache server (remote row) ≤ 0.25× cold; ' +
        'warm (daemon off) ≤ 1.3× the publish-alone row',
    );
    if (critical) console.log(`\nnx cold, longest tasks as nx reports them: ${critical}`);
    const sizes = await execa('bash', [
      '-c',
      `stat -c '%s %n' ${work}/alloy-${VERSION}-amd64.raw ${ws}/dist/alloy/${VERSION}/images/alloy-${VERSION}-amd64.raw`,
    ]);
    console.log(
      `image sizes (bytes): ${sizes.stdout
        .split('\n')
        .map((l) => l.replace(root + '/', ''))
        .join('; ')}`,
    );
    console.log(
      `load after: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await upstream.stop();
    await s3.stop();
    cacheServer.stop();
    await execa('gpgconf', ['--homedir', gnupg, '--kill', 'gpg-agent'], { reject: false });
    await rm(root, { recursive: true, force: true });
  }
}

await main();
