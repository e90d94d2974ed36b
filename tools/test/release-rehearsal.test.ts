// A rehearsal of .github/workflows/release.yml: its jobs, their order, their conditions, matrices, step environments and
// `run:` scripts are read from the file itself and run here, each job in a fresh `git clone` of the workspace (its
// node_modules a farm of symlinks into this checkout's, as the builder image ships them installed), with nothing shared
// between jobs but the cache bucket behind each job's own cache server and what the workflow passes (job outputs).
// Each step's process gets exactly what GitHub would give it: GitHub's default variables, the workflow's, job's and
// step's `env:` with their expressions evaluated (GitHub's own expression library), what earlier steps wrote to
// $GITHUB_ENV, and the loopback stand-ins for the runner's world, listed in RUNNER below. The builder job (Docker) and
// the steps listed in NOT_REHEARSED are not run; everything else is. The bucket the run leaves must pass the real
// systemd-sysupdate 254, and the next runs (nothing new; then a broken bucket) must plan accordingly and converge.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createS3Store, type ObjectStore } from '@alloy-sysext/r2';
import { startGitHubDouble, type GitHubDouble } from '@alloy-sysext/test-peers/github';
import { copyWorkspace, gitClone, npxNx, SOURCE_ROOT, tail, taskStatus } from '@alloy-sysext/test-peers/nx-workspace';
import { accessKeyOf, startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';
import { locateHostRoot } from '@alloy-sysext/test-peers/host';
import { runSysupdate, writeDefinitions } from '@alloy-sysext/test-peers/sysupdate';
import { makeSyntheticBinary, startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { generateKey, type GeneratedKey } from '@alloy-sysext/signing';
import {
  condition,
  evaluate,
  interpolate,
  jobOrder,
  loadWorkflow,
  needsOf,
  RELEASE_JOB_CLASSES,
  type Job,
  type Step,
  type Workflow,
} from './workflow-model.js';

const MiB = 1024 * 1024;
const PUBLISHED = '1.10.2';
const NEW = '1.10.3';
const OWNER = 'alloy-sysext';
const REPO = 'alloy-sysext';
const RW_CACHE_TOKEN = 'rehearsal-rw-0123456789abcdef01234';
const RO_CACHE_TOKEN = 'rehearsal-ro-0123456789abcdef01234';
const APPS = {
  ghost: { id: 4242, owner: 'noahwhite', repo: 'ghost-stack' },
  infisical: { id: 4343, owner: 'officina-pub', repo: 'infisical-stack' },
};

/** Steps not run here, and why (everything else in release.yml is). */
const NOT_REHEARSED: Array<{ match: (s: Step) => boolean; why: string }> = [
  {
    match: (s) => /^npm ci\b/.test(s.run ?? ''),
    why: 'the clone links node_modules (the builder image and npm ci install the same lock file)',
  },
  { match: (s) => /^sudo apt-get\b/.test(s.run ?? ''), why: "this machine has the runner's packages (tools/setup/setup.sh)" },
  { match: (s) => /^actions\/(checkout|setup-node)@/.test(s.uses ?? ''), why: 'each job already runs in a fresh clone, on this Node' },
  { match: (s) => /^actions\/attest-build-provenance@/.test(s.uses ?? ''), why: "needs GitHub's OIDC token and attestation API" },
  { match: (s) => /^bitwarden\/sm-action@/.test(s.uses ?? ''), why: 'needs Bitwarden; its if: is false here (no BWS_*_SECRETS variable)' },
];
/** Jobs not run here: Docker is not available (the Dockerfile is checked statically in builder-image.test.ts). */
const NOT_REHEARSED_JOBS = { builder: 'docker build and push' };

let root: string;
let source: string;
let key: GeneratedKey;
let upstream: UpstreamHost;
let s3: S3Peer;
let github: GitHubDouble;
let bucket: ObjectStore;
let secrets: Record<string, string>;
let vars: Record<string, string>;
let sudo: string;
/** The runner's systemd: here the systemd 254 root setup.sh builds (a runner has its own). */
let systemdRoot: string;
let runs = 0;

/**
 * The runner's world, which differs here: the loopback peers, the runner's systemd (host-check.sh's SYSTEMD_ROOT: here
 * setup.sh's systemd 254 root, on a runner its own) and a free port for each cache server.
 */
const RUNNER = (step: Record<string, string>): Record<string, string> => ({
  ...(step.R2_ACCOUNT_ID !== undefined ? { R2_ENDPOINT: s3.endpoint } : {}),
  ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
  ALLOY_GITHUB_API_URL: github.url,
  SYSTEMD_ROOT: systemdRoot,
  NX_CACHE_PORT: String(20000 + Math.floor(Math.random() * 20000)),
});

function binary(arch: 'amd64' | 'arm64', version: string): Buffer {
  return makeSyntheticBinary(arch, 1.5 * MiB, { prints: `alloy, version v${version} (rehearsal)\n` });
}

interface JobRun {
  id: string;
  matrix: Record<string, unknown> | undefined;
  result: 'success' | 'failure' | 'skipped';
  /** Which of the three secret classes any of its processes was given (by value, whatever the variable's name). */
  held: string[];
  /** Step name → output, for the assertions and for failure messages. */
  logs: Array<{ step: string; code: number; output: string; env: string[] }>;
  outputs: Record<string, string>;
}

/** What a rehearsed run did: its jobs (in the workflow's order) and every write that reached the release bucket. */
interface Rehearsal {
  jobs: JobRun[];
  /** `METHOD key status access-key-id` of each write to the release bucket during the run. */
  bucketWrites: string[];
}

/**
 * One run of the workflow, as GitHub would run it for `event`, every job derived from release.yml: a job starts once
 * every job it needs has ended (jobs and matrix instances that may run at once do), skipped when its `if:` says so.
 */
async function rehearse(wf: Workflow, event: { name: string; inputs?: Record<string, unknown> }): Promise<Rehearsal> {
  runs++;
  const results: Record<string, { result: JobRun['result']; outputs: Record<string, string> }> = {};
  const jobs: Record<string, JobRun[]> = {};
  const s3Mark = s3.requests.length;
  const github_ = {
    event_name: event.name,
    event: {},
    run_id: `7000${runs}`,
    run_attempt: '1',
    repository: `${OWNER}/${REPO}`,
    // the commit the run is for, as GitHub knows it (the release tag points there)
    sha: github.branchHead(OWNER, REPO, 'main')!,
    actor: 'rehearsal',
    server_url: 'https://github.com',
    token: secrets.GITHUB_TOKEN,
  };
  type Ended = { result: JobRun['result']; outputs: Record<string, string> };
  const start = async (id: string): Promise<Ended> => {
    const job = wf.jobs![id]!;
    const needs = Object.fromEntries(needsOf(job).map((n) => [n, results[n]!]));
    const base = { github: github_, inputs: event.inputs ?? {}, vars, secrets, needs, env: {} };
    const run = condition(job.if, base, { failed: Object.values(needs).some((n) => n.result !== 'success') });
    if (id in NOT_REHEARSED_JOBS) {
      // stands in for the builder job: its output; the chain jobs run in clones instead of its image
      return { result: run ? 'success' : 'skipped', outputs: { image: 'rehearsal' } };
    }
    if (!run) {
      jobs[id] = [{ id, matrix: undefined, result: 'skipped', held: [], logs: [], outputs: {} }];
      return { result: 'skipped', outputs: {} };
    }
    const instances = await Promise.all(
      expandMatrix(job, base).map((matrix) => runJob(id, job, wf, { ...base, matrix: matrix ?? {} }, matrix)),
    );
    jobs[id] = instances;
    return {
      result: instances.some((r) => r.result === 'failure') ? 'failure' : 'success',
      outputs: Object.assign({}, ...instances.map((r) => r.outputs)) as Record<string, string>,
    };
  };
  const order = jobOrder(wf);
  const running = new Map<string, Promise<void>>();
  while (Object.keys(results).length < order.length) {
    for (const id of order) {
      if (id in results || running.has(id) || !needsOf(wf.jobs![id]!).every((n) => n in results)) continue;
      running.set(
        id,
        start(id).then((r) => {
          results[id] = r;
          running.delete(id);
        }),
      );
    }
    await Promise.race(running.values());
  }
  return {
    jobs: order.flatMap((id) => jobs[id] ?? []),
    bucketWrites: s3.requests
      .slice(s3Mark)
      .filter((q) => q.bucket === 'sysext' && !['GET', 'HEAD'].includes(q.method))
      .map((q) => `${q.method} ${q.key} ${q.status} ${accessKeyOf(q.headers)}`),
  };
}

/** The instances of a job: none of a matrix, a list of include entries, or the product of its lists. */
function expandMatrix(job: Job, ctx: Record<string, unknown>): Array<Record<string, unknown> | undefined> {
  const spec = job.strategy?.matrix;
  if (spec === undefined) return [undefined];
  const value = (v: unknown): unknown =>
    typeof v === 'string' && /^\$\{\{[\s\S]*\}\}$/.test(v.trim()) ? evaluate(v.trim().slice(3, -2), ctx) : v;
  const matrix = value(spec) as Record<string, unknown>;
  const include = (value(matrix.include) as Array<Record<string, unknown>> | undefined) ?? [];
  const axes = Object.entries(matrix).filter(([k]) => k !== 'include' && k !== 'exclude');
  if (!axes.length) return include;
  let product: Array<Record<string, unknown>> = [{}];
  for (const [k, v] of axes) product = product.flatMap((p) => (value(v) as unknown[]).map((x) => ({ ...p, [k]: x })));
  return [...product, ...include];
}

async function runJob(
  id: string,
  job: Job,
  wf: Workflow,
  ctx: Record<string, unknown>,
  matrix: Record<string, unknown> | undefined,
): Promise<JobRun> {
  const label = `${id}${
    matrix
      ? `-${JSON.stringify(matrix)
          .replace(/[^\w.]+/g, '-')
          .slice(0, 60)}`
      : ''
  }`;
  const dir = await mkdtemp(path.join(root, `run${runs}-${label}-`));
  const workspace = await gitClone(source, dir, 'clone');
  const temp = path.join(dir, 'runner-temp');
  const githubEnv = path.join(temp, 'github-env');
  await mkdir(temp, { recursive: true });
  await writeFile(githubEnv, '');
  const run: JobRun = { id, matrix, result: 'success', held: [], logs: [], outputs: {} };
  const steps: Record<string, { outputs: Record<string, string>; outcome: string }> = {};
  const jobCtx = () => ({ ...ctx, steps, runner: { temp, os: 'Linux' }, env: {} });
  const defaults: Record<string, string> = {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_RUN_ID: (ctx.github as { run_id: string }).run_id,
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
    GITHUB_SHA: (ctx.github as { sha: string }).sha,
    GITHUB_WORKSPACE: workspace,
    GITHUB_ENV: githubEnv,
    RUNNER_TEMP: temp,
    HOME: process.env.HOME ?? '/root',
    // sudo: the runner's user is not root; here everything already is
    PATH: [path.dirname(sudo), path.join(SOURCE_ROOT, '.cache/qemu-user'), process.env.PATH].join(':'),
  };
  try {
    for (const [i, step] of (job.steps ?? []).entries()) {
      const name = step.name ?? step.uses ?? `step ${i + 1}`;
      const failed = run.result === 'failure';
      if (!condition(step.if, jobCtx(), { failed }) || NOT_REHEARSED.some((n) => n.match(step)) || !step.run) {
        if (step.id) steps[step.id] = { outputs: {}, outcome: 'skipped' };
        continue;
      }
      const scope = (map: Record<string, unknown> | undefined) =>
        Object.fromEntries(Object.entries(map ?? {}).map(([k, v]) => [k, interpolate(String(v), jobCtx())]));
      const declared = { ...scope(wf.env), ...scope(job.env), ...envFile(await readFile(githubEnv, 'utf8')), ...scope(step.env) };
      const output = path.join(temp, `output-${i}`);
      await writeFile(output, '');
      const env = { ...defaults, ...declared, ...RUNNER(declared), GITHUB_OUTPUT: output };
      // the builder image's /workspace (defaults.run.working-directory) is this clone
      const r = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run], {
        cwd: workspace,
        env,
        extendEnv: false,
        all: true,
        reject: false,
        stdin: 'ignore',
      });
      run.logs.push({ step: name, code: r.exitCode ?? -1, output: r.all ?? '', env: Object.keys(declared).sort() });
      for (const held of secretClassesHeld(env)) if (!run.held.includes(held)) run.held.push(held);
      if (step.id) steps[step.id] = { outputs: envFile(await readFile(output, 'utf8')), outcome: r.exitCode === 0 ? 'success' : 'failure' };
      if (r.exitCode !== 0) run.result = 'failure';
    }
    for (const [k, v] of Object.entries(job.outputs ?? {})) run.outputs[k] = interpolate(v, jobCtx());
    run.held.sort();
  } finally {
    // each runner's cache server ends with its job
    const pid = await readFile(path.join(temp, 'nx-cache.pid'), 'utf8').catch(() => '');
    if (pid.trim()) await execa('kill', [pid.trim()], { reject: false });
  }
  return run;
}

/** The classes of the three a process environment carries, found by the secrets' values under any variable name. */
function secretClassesHeld(env: Record<string, string>): string[] {
  const values = new Set(Object.values(env));
  return [
    values.has(secrets.ALLOY_SIGNING_KEY!) && 'signing key',
    values.has(secrets.R2_SECRET_ACCESS_KEY!) && 'release bucket write keys',
    (values.has(secrets.GHOST_STACK_APP_PRIVATE_KEY!) || values.has(secrets.INFISICAL_STACK_APP_PRIVATE_KEY!)) && 'consumer App keys',
  ].filter((c): c is string => Boolean(c));
}

/** `KEY=value` lines and `KEY<<DELIM` blocks, as $GITHUB_OUTPUT and $GITHUB_ENV hold them. */
function envFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([\w-]+)<<(.+)$/.exec(lines[i]!);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      out[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (lines[i]!.includes('=')) {
      out[lines[i]!.slice(0, lines[i]!.indexOf('='))] = lines[i]!.slice(lines[i]!.indexOf('=') + 1);
    }
  }
  return out;
}

const failures = (r: JobRun[]) =>
  r
    .filter((j) => j.result === 'failure')
    .map(
      (j) =>
        `${j.id}: ${j.logs.filter((l) => l.code !== 0).map((l) => `${l.step} → ${l.code}\n${l.output.split('\n').slice(-40).join('\n')}`)}`,
    );
const job = (r: JobRun[], id: string) => r.filter((j) => j.id === id);
const outputOf = (r: JobRun[], id: string, step: string) =>
  job(r, id)
    .flatMap((j) => j.logs.filter((l) => l.step === step).map((l) => l.output))
    .join('\n');

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'release-rehearsal-'));
  systemdRoot = (await locateHostRoot('bookworm-backports')).dir;
  const apps = {
    ghost: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    infisical: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  };
  [upstream, s3, github, key] = await Promise.all([
    startUpstreamHost({
      releases: [PUBLISHED, NEW].map((version) => ({
        version,
        binaries: { amd64: binary('amd64', version), arm64: binary('arm64', version) },
      })),
    }),
    startS3Peer({ bucket: 'sysext', extraBuckets: ['nx-cache'] }),
    startGitHubDouble(),
    generateKey({ identity: 'rehearsal release <release@alloy-sysext.invalid>', outDir: path.join(root, 'key') }),
  ]);
  const fixtures = path.join(SOURCE_ROOT, 'libs/ghost-stack/test/fixtures');
  github.seedRepo({ owner: OWNER, repo: REPO });
  github.seedRepo({
    owner: APPS.ghost.owner,
    repo: APPS.ghost.repo,
    defaultBranch: 'develop',
    branches: { develop: { 'opentofu/modules/vultr/instance/userdata/ghost.bu': await readFile(path.join(fixtures, 'ghost.bu'), 'utf8') } },
  });
  github.seedRepo({
    owner: APPS.infisical.owner,
    repo: APPS.infisical.repo,
    defaultBranch: 'main',
    branches: {
      main: { 'opentofu/modules/server/userdata/infisical.bu.tftpl': await readFile(path.join(fixtures, 'infisical.bu.tftpl'), 'utf8') },
    },
  });
  for (const [name, app] of Object.entries(APPS)) {
    const pair = apps[name as keyof typeof apps];
    github.registerApp({
      appId: app.id,
      publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      installations: [{ id: app.id + 1, owner: app.owner, repos: [app.repo] }],
    });
  }
  // the cache bucket's tokens are other tokens than the release bucket's, as in R2
  const cacheKey = s3.createKey('REHEARSAL-CACHE');
  const cacheReadKey = s3.createKey('REHEARSAL-CACHE-READ', { readOnly: true });
  const pem = (name: keyof typeof apps) => apps[name].privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  secrets = {
    GITHUB_TOKEN: github.token(),
    R2_ACCOUNT_ID: 'rehearsal-account',
    R2_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    R2_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    R2_RO_ACCESS_KEY_ID: s3.readOnlyCredentials.accessKeyId,
    R2_RO_SECRET_ACCESS_KEY: s3.readOnlyCredentials.secretAccessKey,
    NX_CACHE_R2_ACCESS_KEY_ID: cacheKey.accessKeyId,
    NX_CACHE_R2_SECRET_ACCESS_KEY: cacheKey.secretAccessKey,
    NX_CACHE_R2_RO_ACCESS_KEY_ID: cacheReadKey.accessKeyId,
    NX_CACHE_R2_RO_SECRET_ACCESS_KEY: cacheReadKey.secretAccessKey,
    NX_CACHE_RW_TOKEN: RW_CACHE_TOKEN,
    NX_CACHE_RO_TOKEN: RO_CACHE_TOKEN,
    ALLOY_SIGNING_KEY: await readFile(key.privateKeyPath, 'utf8'),
    GHOST_STACK_APP_PRIVATE_KEY: pem('ghost'),
    INFISICAL_STACK_APP_PRIVATE_KEY: pem('infisical'),
  };
  vars = {
    ALLOY_PUBLIC_URL: `${s3.endpoint}/sysext/alloy`,
    ALLOY_SIGNING_PUBLIC_KEY: await readFile(key.publicKeyPath, 'utf8'),
    R2_BUCKET: 'sysext',
    NX_CACHE_BUCKET: 'nx-cache',
    GHOST_STACK_APP_ID: String(APPS.ghost.id),
    INFISICAL_STACK_APP_ID: String(APPS.infisical.id),
  };
  sudo = path.join(root, 'bin/sudo');
  await mkdir(path.dirname(sudo), { recursive: true });
  await writeFile(sudo, '#!/bin/sh\nexec env "$@"\n');
  await chmod(sudo, 0o755);
  bucket = createS3Store({ bucket: 'sysext', prefix: 'alloy/', endpoint: s3.endpoint, ...s3.credentials, region: s3.region });
  // The workspace as committed: the source every job clones (the working tree's state, as the tests run it).
  source = await copyWorkspace(root, 'source');
  // alloy's recipe alone: the upstream double serves one repository (grafana/alloy), and plan refuses a recipe whose
  // upstream it cannot read; docker-compose's chain is rehearsed by recipe-chain.e2e
  await rm(path.join(source, 'sysexts/docker-compose'), { recursive: true, force: true });
  await execa('git', ['init', '--quiet', '--initial-branch=main'], { cwd: source });
  await execa('git', ['add', '--all'], { cwd: source });
  await execa('git', ['-c', 'user.name=rehearsal', '-c', 'user.email=r@example.invalid', 'commit', '--quiet', '-m', 'rehearsal'], {
    cwd: source,
  });
  // What the bucket holds when the daily run starts: PUBLISHED, published from a laptop (one process, every key).
  const seeded = await npxNx(await gitClone(source, root, 'laptop'), ['run', 'alloy:publish', `--version=${PUBLISHED}`], {
    ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
    ALLOY_SIGNING_KEY: secrets.ALLOY_SIGNING_KEY,
    ALLOY_PUBLIC_URL: vars.ALLOY_PUBLIC_URL,
    R2_ENDPOINT: s3.endpoint,
    R2_BUCKET: 'sysext',
    R2_ACCESS_KEY_ID: secrets.R2_ACCESS_KEY_ID,
    R2_SECRET_ACCESS_KEY: secrets.R2_SECRET_ACCESS_KEY,
  });
  expect({ code: seeded.code, out: seeded.code === 0 ? '' : tail(seeded) }).toEqual({ code: 0, out: '' });
}, 600_000);

afterAll(async () => {
  await Promise.allSettled([upstream?.stop(), s3?.stop(), github?.stop()]);
  if (root && !process.env.ALLOY_E2E_KEEP) await rm(root, { recursive: true, force: true });
}, 120_000);

describe('release.yml, rehearsed job by job in fresh clones', () => {
  let wf: Workflow;
  const seconds: string[] = [];
  beforeAll(async () => {
    wf = (await loadWorkflow('release.yml')).wf;
  });
  afterAll(() => console.log(`release rehearsal wall time per run: ${seconds.join(', ')}`));

  const timed = async (label: string, event: Parameters<typeof rehearse>[1]) => {
    const started = Date.now();
    const r = await rehearse(wf, event);
    seconds.push(`${label} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(failures(r.jobs)).toEqual([]);
    return r;
  };
  const CHAIN = ['plan', 'image', 'sign', 'publish', 'pr', 'attest', 'host_check', 'host_check', 'finish'];

  /** Who held what, job by job, as its processes were given it; every write to the bucket was made with its write key. */
  function expectLeastPrivilege(r: Rehearsal) {
    const held = Object.fromEntries(r.jobs.filter((j) => j.result !== 'skipped').map((j) => [j.id, j.held]));
    expect(held).toEqual(Object.fromEntries(Object.keys(held).map((id) => [id, RELEASE_JOB_CLASSES[id]])));
    // only the publish job holds that key, so only it wrote (the pr job's publish task found everything in place)
    for (const w of r.bucketWrites) expect(w).toMatch(new RegExp(` ${secrets.R2_ACCESS_KEY_ID}$`));
  }

  it(`the daily run finds ${NEW}: each job in its own clone, joined by the cache; the bucket passes systemd-sysupdate 254`, async () => {
    const r = await timed('release', { name: 'schedule' });
    expect(r.jobs.map((j) => j.id)).toEqual(CHAIN);
    expectLeastPrivilege(r);
    expect(JSON.parse(job(r.jobs, 'plan')[0]!.outputs.plan!)).toEqual([
      { recipe: 'apps/alloy/sysext.json', project: 'alloy', name: 'alloy', version: NEW, kind: 'release' },
    ]);
    expect(r.bucketWrites.length).toBeGreaterThan(0);
    // joined by the cache: the publish and pr jobs ran none of the cached steps themselves
    for (const id of ['publish', 'pr']) {
      const status = taskStatus(
        job(r.jobs, id)[0]!
          .logs.map((l) => l.output)
          .join('\n'),
      );
      for (const t of ['fetch', 'image', 'sign', 'manifest', 'seal']) expect([id, t, status[`alloy:${t}`]]).toEqual([id, t, 'remote']);
    }
    // the sign job proved the restored images by rebuilding them before it signed
    expect(outputOf(r.jobs, 'sign', 'Sign and seal')).toContain('rebuilding to prove the image');
    // the host checks: amd64 merged and ran; arm64 read out of its image and ran under qemu-user
    const host = (arch: string) =>
      job(r.jobs, 'host_check')
        .find((j) => (j.matrix!.host as { arch: string }).arch === arch)!
        .logs.at(-1)!.output;
    expect(host('amd64')).toMatch(/merge +systemd-sysext merged alloy\.raw/);
    expect(host('amd64')).toContain(`alloy, version v${NEW} (rehearsal)`);
    expect(host('arm64')).toMatch(/elf +\/usr\/bin\/alloy is an ELF executable for arm64/);
    expect(host('arm64')).toContain(`alloy, version v${NEW} (rehearsal)`);
    // the seal merged NEW into what the bucket held; the bot finished: tracking issue closed, release tag
    const listed = (await bucket.get('SHA256SUMS'))!.body.toString('utf8');
    expect(listed).toContain(`alloy-${PUBLISHED}-amd64.raw`);
    expect(listed).toContain(`alloy-${NEW}-arm64.raw`);
    expect(github.issues(OWNER, REPO).map((i) => [i.title, i.state])).toEqual([[`Release alloy ${NEW}`, 'closed']]);
    expect(github.releases(OWNER, REPO).map((x) => x.tag)).toEqual([`alloy-v${NEW}`]);
    expect(github.pulls(APPS.ghost.owner, APPS.ghost.repo).map((p) => p.state)).toEqual(['open']);
    await expectSysupdateInstalls(NEW);
  }, 1_800_000);
  // The repair run (plan → repair item → the same jobs) is not rehearsed a second time here, to keep the suite's
  // budget: apps/release-bot/test/plan.test.ts plans it from a broken bucket, and libs/pipeline/test/seal.test.ts
  // repairs a bucket with a seal and the public key alone, as the split's sign and publish jobs do.
});

/** systemd-sysupdate 254 with the release key (never the bucket's keyring) installs `version` from the bucket's public URL. */
async function expectSysupdateInstalls(version: string): Promise<void> {
  const host = await mkdtemp(path.join(root, 'host-'));
  const target = path.join(host, 'extensions');
  await mkdir(target);
  const definitions = await writeDefinitions(path.join(host, 'sysupdate.d'), {
    alloy: { sourceUrl: `${vars.ALLOY_PUBLIC_URL}/`, targetDir: target, currentSymlink: path.join(target, 'alloy.raw') },
  });
  const update = await runSysupdate({ definitions, keyring: key.keyringPath, args: ['update'], timeoutMs: 120_000 });
  expect({ exit: update.exitCode, stderr: update.exitCode === 0 ? '' : update.stderr }).toEqual({ exit: 0, stderr: '' });
  expect(update.stderr).toContain('Signature verification succeeded.');
  expect(await readlink(path.join(target, 'alloy.raw'))).toBe(`alloy-${version}-amd64.raw`);
  expect(existsSync(path.join(target, `alloy-${version}-amd64.raw`))).toBe(true);
}
