// The workflows' security properties, checked on the parsed YAML so a regression fails here, not in an audit: GitHub's
// own schema, secrets only on steps (after setup.sh / npm ci), pull-request jobs with read-only secrets only, actions
// pinned by commit SHA, checkouts that keep no token, no `${{ }}` inside run scripts, a timeout on every job; and for
// the release: no job holding two of {signing key, release bucket write keys, consumer App keys}, Bitwarden secrets that
// reach one step only, the OIDC token in a job that runs no project code, and privileged jobs in an image pinned by digest.
import { describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import {
  credentialNames,
  githubSchemaErrors,
  jobOrder,
  loadWorkflow,
  needsOf,
  RELEASE_JOB_CLASSES,
  ROOT,
  secretClasses,
  secretsIn,
  WORKFLOWS,
  type Job,
  type Step,
  type Workflow,
} from './workflow-model.js';

/** The only secrets a job that runs on pull requests may reference: none of them can write the bucket or the cache. */
const PULL_REQUEST_SECRETS = new Set([
  'R2_ACCOUNT_ID',
  'NX_CACHE_RO_TOKEN',
  'NX_CACHE_R2_RO_ACCESS_KEY_ID',
  'NX_CACHE_R2_RO_SECRET_ACCESS_KEY',
]);

const stepName = (s: Step, i: number) => s.name ?? s.uses ?? s.run?.split('\n')[0] ?? `step ${i + 1}`;
const BITWARDEN = /^bitwarden\/sm-action@/;
/** Runs this workspace's code (node_modules, the pipeline, our scripts). */
const PROJECT_CODE = /\b(npm|npx|node)\b|tools\//;

function triggers(on: unknown): string[] {
  if (typeof on === 'string') return [on];
  if (Array.isArray(on)) return on.map(String);
  return Object.keys((on as Record<string, unknown>) ?? {});
}

/** A job runs on pull requests unless its `if` pins it to another event. */
function runsOnPullRequests(wf: Workflow, job: Job): boolean {
  if (!triggers(wf.on).some((t) => t.startsWith('pull_request'))) return false;
  return !/github\.event_name\s*==\s*'(push|schedule|workflow_dispatch|release)'/.test(job.if ?? '');
}

/** `${{ needs.J.outputs.O }}`: the job's container is what an earlier job of this run produced. */
function containerFromJob(wf: Workflow, job: Job): { job: string; output: string } | undefined {
  const image = typeof job.container === 'string' ? job.container : job.container?.image;
  const m = /^\$\{\{\s*needs\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$/.exec(image ?? '');
  return m && wf.jobs?.[m[1]!] ? { job: m[1]!, output: m[2]! } : undefined;
}

/** Whether the job's container image is pinned by digest: a literal `@sha256:`, or a job output taken from RepoDigests. */
function imageByDigest(wf: Workflow, job: Job): boolean {
  const image = typeof job.container === 'string' ? job.container : job.container?.image;
  if (!image) return true;
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const from = containerFromJob(wf, job);
  if (!from) return false;
  const producer = wf.jobs![from.job]!;
  const m = /^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$/.exec(producer.outputs?.[from.output] ?? '');
  const step = producer.steps?.find((s) => s.id === m?.[1]);
  return Boolean(
    m && step?.run && new RegExp(`echo "${m[2]}=\\$\\(docker inspect --format '\\{\\{index \\.RepoDigests 0\\}\\}'`).test(step.run),
  );
}

/** Every violation in one workflow file, as readable lines (empty: all good). */
function workflowProblems(text: string): string[] {
  const wf = parse(text) as Workflow;
  const out: string[] = [];
  if (triggers(wf.on).includes('pull_request_target')) out.push('pull_request_target runs with secrets on pull-request code');
  for (const s of secretsIn(wf.env)) out.push(`workflow-level env holds secrets.${s}`);
  // Pinning, with the version kept readable as a comment (Dependabot updates both).
  for (const line of text.split('\n')) {
    const m = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
    if (!m || m[1]!.startsWith('./')) continue;
    if (!/@[0-9a-f]{40}$/.test(m[1]!)) out.push(`${m[1]} is not pinned to a full commit SHA`);
    else if (!/^\s+#\s*v\d+(\.\d+)*\s*$/.test(m[2]!)) out.push(`${m[1]} has no "# vX" comment naming its version`);
  }
  const bitwardenTokens = new Map<string, string[]>();
  for (const [id, job] of Object.entries(wf.jobs ?? {})) {
    const steps = job.steps ?? [];
    if (!(typeof job['timeout-minutes'] === 'number' && job['timeout-minutes'] > 0)) out.push(`job ${id} has no timeout-minutes`);
    for (const s of secretsIn(job.env)) out.push(`job ${id}: job-level env holds secrets.${s}`);
    const { steps: _steps, env: _env, ...rest } = job;
    for (const s of secretsIn(rest)) out.push(`job ${id}: secrets.${s} outside a step`);
    // In the builder image (a job output of this run) the workspace is installed before any job starts.
    const installed = containerFromJob(wf, job) !== undefined;
    const setupAt = installed ? -1 : steps.findIndex((s) => /tools\/setup\/setup\.sh|\bnpm (ci|install)\b/.test(s.run ?? ''));
    const classes = secretClasses(job);
    if (classes.length > 1) out.push(`job ${id} holds ${classes.join(' and ')}: no job may hold two of them`);
    if (classes.length && !imageByDigest(wf, job))
      out.push(`job ${id} holds ${classes.join(', ')} in a container image not pinned by digest`);
    const perms = job.permissions ?? wf.permissions;
    if (typeof perms === 'object' && perms['id-token'] === 'write') {
      if (credentialNames(job).length) out.push(`job ${id} has id-token: write and references secrets`);
      if (steps.some((s) => PROJECT_CODE.test(s.run ?? ''))) out.push(`job ${id} has id-token: write and runs project code`);
    }
    steps.forEach((step, i) => {
      const name = `job ${id}, step "${stepName(step, i)}"`;
      if (step.run?.includes('${{')) out.push(`${name}: \${{ }} inside run: (pass values through env:)`);
      if (step.uses?.startsWith('actions/checkout@') && step.with?.['persist-credentials'] !== false) {
        out.push(`${name}: actions/checkout without persist-credentials: false`);
      }
      const secrets = secretsIn(step);
      if (secrets.length && !installed && (setupAt < 0 || i < setupAt)) out.push(`${name}: secrets before setup.sh / npm ci`);
      if (runsOnPullRequests(wf, job)) {
        for (const s of secrets) if (!PULL_REQUEST_SECRETS.has(s)) out.push(`${name}: pull-request job references secrets.${s}`);
      }
      const isBitwarden = BITWARDEN.test(step.uses ?? '');
      for (const s of secretsIn(step.with)) {
        if (!(isBitwarden && secretsIn(step.with?.access_token).includes(s))) out.push(`${name}: secrets.${s} in with: (only in env:)`);
      }
      if (isBitwarden) {
        // set_env would export every secret to $GITHUB_ENV: each later step of the job could read it
        if (String(step.with?.set_env) !== 'false') out.push(`${name}: bitwarden/sm-action without set_env: false`);
        for (const token of secretsIn(step.with?.access_token)) bitwardenTokens.set(token, [...(bitwardenTokens.get(token) ?? []), id]);
        const expected = `BWS_${id.toUpperCase().replace(/-/g, '_')}_TOKEN`;
        if (!secretsIn(step.with?.access_token).every((t) => t === expected))
          out.push(`${name}: its Bitwarden token must be secrets.${expected}`);
      }
    });
  }
  for (const [token, jobs] of bitwardenTokens) {
    if (new Set(jobs).size > 1) out.push(`secrets.${token} is the Bitwarden token of ${[...new Set(jobs)].join(' and ')}: one per job`);
  }
  return out;
}

describe('workflow security properties', () => {
  it.each(['ci.yml', 'release.yml'])('%s has none of the known problems, and GitHub’s own parser accepts it', async (file) => {
    const { text } = await loadWorkflow(file);
    expect(workflowProblems(text)).toEqual([]);
    expect(await githubSchemaErrors(file, text)).toEqual([]);
  });

  it('every workflow is checked (no file escapes this test)', async () => {
    expect((await readdir(WORKFLOWS)).sort()).toEqual(['ci.yml', 'release.yml']);
  });

  it('Dependabot keeps the pinned actions current', async () => {
    const config = parse(await readFile(path.join(ROOT, '.github/dependabot.yml'), 'utf8')) as {
      updates: Array<{ 'package-ecosystem': string }>;
    };
    expect(config.updates.map((u) => u['package-ecosystem'])).toContain('github-actions');
  });

  it('the pull-request job references the read-only cache secrets only', async () => {
    const { wf } = await loadWorkflow('ci.yml');
    const prJobs = Object.entries(wf.jobs ?? {}).filter(([, j]) => runsOnPullRequests(wf, j));
    expect(prJobs.map(([id]) => id)).toEqual(['pull-request', 'affected-recipes', 'recipe-chain']);
    expect(new Set(secretsIn(prJobs[0]![1]))).toEqual(
      new Set(['R2_ACCOUNT_ID', 'NX_CACHE_RO_TOKEN', 'NX_CACHE_R2_RO_ACCESS_KEY_ID', 'NX_CACHE_R2_RO_SECRET_ACCESS_KEY']),
    );
    // the affected recipes' chains (below) run with no secret at all
    expect(prJobs.slice(1).flatMap(([, j]) => secretsIn(j))).toEqual([]);
  });

  // The checker itself can fail: the workflow as it was before issue 11 trips every rule.
  it('flags each regression in a workflow that has them all', async () => {
    const bad = `
on: [pull_request, push]
jobs:
  affected:
    env:
      R2_SECRET_ACCESS_KEY: \${{ secrets.R2_SECRET_ACCESS_KEY }}
    steps:
      - uses: actions/checkout@v4
      - name: Start cache
        env:
          NX_CACHE_TOKENS: read-write:\${{ secrets.NX_CACHE_RW_TOKEN }}
        run: echo "\${{ secrets.NX_CACHE_RW_TOKEN }}"
      - run: bash tools/setup/setup.sh
      - uses: nrwl/nx-set-shas@3e9ad7370203c1e93d109be57f3b72eb0eb511b1
`;
    expect(workflowProblems(bad)).toEqual([
      'actions/checkout@v4 is not pinned to a full commit SHA',
      'nrwl/nx-set-shas@3e9ad7370203c1e93d109be57f3b72eb0eb511b1 has no "# vX" comment naming its version',
      'job affected has no timeout-minutes',
      'job affected: job-level env holds secrets.R2_SECRET_ACCESS_KEY',
      'job affected, step "actions/checkout@v4": actions/checkout without persist-credentials: false',
      'job affected, step "Start cache": ${{ }} inside run: (pass values through env:)',
      'job affected, step "Start cache": secrets before setup.sh / npm ci',
      'job affected, step "Start cache": pull-request job references secrets.NX_CACHE_RW_TOKEN',
    ]);
    expect(workflowProblems('on: pull_request_target\njobs: {}\n')).toEqual(['pull_request_target runs with secrets on pull-request code']);
    expect(await githubSchemaErrors('bad.yml', bad.replace('    steps:', '    runz-on: ubuntu-24.04\n    steps:'))).toEqual(
      expect.arrayContaining([expect.stringContaining("Unexpected value 'runz-on'")]),
    );
  });

  // The release split (issue 21) as it must never regress: each rule below is broken once.
  it('flags a release job holding two secret classes, a leaky Bitwarden step, a shared token, OIDC beside code, a mutable image', () => {
    const bad = `
on: workflow_dispatch
jobs:
  build:
    timeout-minutes: 5
    outputs:
      image: \${{ steps.push.outputs.image }}
    steps:
      - id: push
        run: echo "image=ghcr.io/o/r/builder:latest" >> "$GITHUB_OUTPUT"
  publish:
    needs: build
    timeout-minutes: 5
    container:
      image: \${{ needs.build.outputs.image }}
    steps:
      - id: bws
        uses: bitwarden/sm-action@27c0c9dcab679d7250dbab91227c85b49ffa5e0f # v3.0.0
        with:
          access_token: \${{ secrets.BWS_SHARED_TOKEN }}
          secrets: x
      - env:
          R2_ACCESS_KEY_ID: \${{ secrets.R2_ACCESS_KEY_ID }}
          ALLOY_SIGNING_KEY: \${{ steps.bws.outputs.ALLOY_SIGNING_KEY }}
        run: npx nx run alloy:publish --version="$V"
  pr:
    timeout-minutes: 5
    permissions:
      id-token: write
    steps:
      - run: npm ci
      - id: bws
        uses: bitwarden/sm-action@27c0c9dcab679d7250dbab91227c85b49ffa5e0f # v3.0.0
        with:
          access_token: \${{ secrets.BWS_SHARED_TOKEN }}
          secrets: x
          set_env: false
      - uses: some/action@27c0c9dcab679d7250dbab91227c85b49ffa5e0f # v1
        with:
          token: \${{ secrets.GHOST_STACK_APP_PRIVATE_KEY }}
`;
    expect(workflowProblems(bad)).toEqual([
      'job publish holds release bucket write keys and signing key: no job may hold two of them',
      'job publish holds release bucket write keys, signing key in a container image not pinned by digest',
      'job publish, step "bitwarden/sm-action@27c0c9dcab679d7250dbab91227c85b49ffa5e0f": bitwarden/sm-action without set_env: false',
      'job publish, step "bitwarden/sm-action@27c0c9dcab679d7250dbab91227c85b49ffa5e0f": its Bitwarden token must be secrets.BWS_PUBLISH_TOKEN',
      'job pr has id-token: write and references secrets',
      'job pr has id-token: write and runs project code',
      'job pr, step "bitwarden/sm-action@27c0c9dcab679d7250dbab91227c85b49ffa5e0f": its Bitwarden token must be secrets.BWS_PR_TOKEN',
      'job pr, step "some/action@27c0c9dcab679d7250dbab91227c85b49ffa5e0f": secrets.GHOST_STACK_APP_PRIVATE_KEY in with: (only in env:)',
      'secrets.BWS_SHARED_TOKEN is the Bitwarden token of publish and pr: one per job',
    ]);
  });
});

describe('release workflow: least-privilege jobs along the task graph', () => {
  const release = () => loadWorkflow('release.yml').then((r) => r.wf);
  const run = (job: Job) => (job.steps ?? []).map((s) => s.run ?? '').join('\n');

  it('the jobs and their order: plan → builder → image → sign → publish → pr, attest, host check → finish', async () => {
    const wf = await release();
    expect(jobOrder(wf)).toEqual(['plan', 'builder', 'image', 'sign', 'publish', 'pr', 'attest', 'host_check', 'finish']);
    expect(needsOf(wf.jobs!.sign!)).toContain('image');
    expect(needsOf(wf.jobs!.publish!)).toContain('sign');
    expect(needsOf(wf.jobs!.pr!)).toContain('publish');
    expect(wf.jobs!.finish!.if).toBe("always() && needs.plan.result == 'success'");
  });

  it('who holds what: one class per job at most; exactly the image and sign jobs can write the shared cache', async () => {
    const wf = await release();
    const held = Object.fromEntries(Object.entries(wf.jobs!).map(([id, job]) => [id, secretClasses(job)]));
    expect(held).toEqual(RELEASE_JOB_CLASSES);
    // a job that writes the cache could plant what later jobs restore: safe only because every restore is re-verified
    const writers = Object.entries(wf.jobs!).filter(([, job]) => secretsIn(job).includes('NX_CACHE_RW_TOKEN'));
    expect(writers.map(([id]) => id)).toEqual(['image', 'sign']);
    expect(
      Object.entries(wf.jobs!)
        .filter(([, j]) => (j.permissions as Record<string, string>)?.['id-token'])
        .map(([id]) => id),
    ).toEqual(['attest']);
  });

  it('each chain job runs `npx nx run <project>:<target> --version=X` in the builder image, which is referenced by digest', async () => {
    const wf = await release();
    const targets = { image: 'image', sign: 'seal', publish: 'publish', pr: 'pr' } as const;
    for (const [id, target] of Object.entries(targets)) {
      const job = wf.jobs![id]!;
      expect([id, containerFromJob(wf, job)]).toEqual([id, { job: 'builder', output: 'image' }]);
      expect(run(job)).toMatch(new RegExp(`^npx nx run "\\$PROJECT:${target}" --version="\\$VERSION"`, 'm'));
      expect(run(job)).not.toMatch(/setup\.sh|npm ci/);
    }
    expect(imageByDigest(wf, wf.jobs!.publish!)).toBe(true);
    expect(run(wf.jobs!.builder!)).toContain('npx nx run builder-image:docker:build');
  });

  it('the bot plans and finishes: the matrix comes from `release-bot plan`, the end from `release-bot finish`', async () => {
    const wf = await release();
    expect(run(wf.jobs!.plan!)).toContain('npm run --silent release-bot -- plan');
    expect(wf.jobs!.plan!.outputs).toMatchObject({ matrix: '${{ steps.plan.outputs.matrix }}', plan: '${{ steps.plan.outputs.plan }}' });
    for (const id of ['image', 'sign', 'publish', 'pr', 'attest']) {
      expect([id, wf.jobs![id]!.strategy?.matrix]).toEqual([id, '${{ fromJSON(needs.plan.outputs.matrix) }}']);
    }
    expect(run(wf.jobs!.finish!)).toContain('npm run --silent release-bot -- finish --plan "$PLAN" --result "$RESULT"');
    expect(run(wf.jobs!.host_check!)).toContain('bash tools/ci/host-check.sh');
  });
});

describe('ci workflow: the affected recipes’ chains', () => {
  const ci = () => loadWorkflow('ci.yml').then((r) => r.wf);
  const run = (job: Job) => (job.steps ?? []).map((s) => s.run ?? '').join('\n');

  it('the matrix is `nx show projects --affected --with-target image --json`; each entry runs its chain with no secret', async () => {
    const wf = await ci();
    const plan = wf.jobs!['affected-recipes']!;
    const chain = wf.jobs!['recipe-chain']!;
    expect(run(plan)).toContain('npx nx show projects --affected --with-target image --json');
    expect(plan.outputs).toEqual({ recipes: '${{ steps.affected.outputs.recipes }}' });
    expect(needsOf(chain)).toEqual(['affected-recipes']);
    expect(chain.strategy?.matrix).toEqual({ recipe: '${{ fromJSON(needs.affected-recipes.outputs.recipes) }}' });
    expect(run(chain)).toMatch(
      /^run: npx nx run "\$PROJECT:publish" --version="\$VERSION"$|^npx nx run "\$PROJECT:publish" --version="\$VERSION"$/m,
    );
    // a pull request's code runs here: no secret at all, so nothing outside the runner can be written
    expect([secretsIn(plan), secretsIn(chain)]).toEqual([[], []]);
  });
});
