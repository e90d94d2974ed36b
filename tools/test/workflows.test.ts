// The workflows' security properties, checked on the parsed YAML so a regression fails here, not in an audit:
// secrets only on steps (after setup.sh / npm ci), pull-request jobs with read-only secrets only, actions pinned by
// commit SHA, checkouts that keep no token, no `${{ }}` inside run scripts, a timeout on every job.
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The only secrets a job that runs on pull requests may reference: none of them can write the bucket or the cache. */
const PULL_REQUEST_SECRETS = new Set([
  'R2_ACCOUNT_ID',
  'NX_CACHE_RO_TOKEN',
  'NX_CACHE_R2_RO_ACCESS_KEY_ID',
  'NX_CACHE_R2_RO_SECRET_ACCESS_KEY',
]);

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}
interface Job {
  if?: string;
  env?: Record<string, unknown>;
  'timeout-minutes'?: unknown;
  uses?: string;
  steps?: Step[];
}
interface Workflow {
  on?: unknown;
  env?: Record<string, unknown>;
  jobs?: Record<string, Job>;
}

const secretsIn = (value: unknown): string[] => [
  ...new Set([...JSON.stringify(value ?? null).matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]!)),
];
const stepName = (s: Step, i: number) => s.name ?? s.uses ?? s.run?.split('\n')[0] ?? `step ${i + 1}`;

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
  for (const [id, job] of Object.entries(wf.jobs ?? {})) {
    const steps = job.steps ?? [];
    if (!(typeof job['timeout-minutes'] === 'number' && job['timeout-minutes'] > 0)) out.push(`job ${id} has no timeout-minutes`);
    for (const s of secretsIn(job.env)) out.push(`job ${id}: job-level env holds secrets.${s}`);
    const { steps: _steps, env: _env, ...rest } = job;
    for (const s of secretsIn(rest)) out.push(`job ${id}: secrets.${s} outside a step`);
    const setupAt = steps.findIndex((s) => /tools\/setup\/setup\.sh|\bnpm (ci|install)\b/.test(s.run ?? ''));
    steps.forEach((step, i) => {
      const name = `job ${id}, step "${stepName(step, i)}"`;
      if (step.run?.includes('${{')) out.push(`${name}: \${{ }} inside run: (pass values through env:)`);
      if (step.uses?.startsWith('actions/checkout@') && step.with?.['persist-credentials'] !== false) {
        out.push(`${name}: actions/checkout without persist-credentials: false`);
      }
      const secrets = secretsIn(step);
      if (secrets.length && (setupAt < 0 || i < setupAt)) out.push(`${name}: secrets before setup.sh / npm ci`);
      if (runsOnPullRequests(wf, job)) {
        for (const s of secrets) if (!PULL_REQUEST_SECRETS.has(s)) out.push(`${name}: pull-request job references secrets.${s}`);
      }
    });
  }
  return out;
}

describe('workflow security properties', () => {
  it.each(['ci.yml', 'release.yml'])('%s has none of the known problems', async (file) => {
    const text = await readFile(path.join(root, '.github/workflows', file), 'utf8');
    expect(workflowProblems(text)).toEqual([]);
  });

  it('every workflow is checked (no file escapes this test)', async () => {
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(path.join(root, '.github/workflows'))).sort()).toEqual(['ci.yml', 'release.yml']);
  });

  it('Dependabot keeps the pinned actions current', async () => {
    const config = parse(await readFile(path.join(root, '.github/dependabot.yml'), 'utf8')) as {
      updates: Array<{ 'package-ecosystem': string }>;
    };
    expect(config.updates.map((u) => u['package-ecosystem'])).toContain('github-actions');
  });

  it('the pull-request job references the read-only cache secrets only', async () => {
    const wf = parse(await readFile(path.join(root, '.github/workflows/ci.yml'), 'utf8')) as Workflow;
    const prJobs = Object.entries(wf.jobs ?? {}).filter(([, j]) => runsOnPullRequests(wf, j));
    expect(prJobs.map(([id]) => id)).toEqual(['pull-request']);
    expect(new Set(secretsIn(prJobs[0]![1]))).toEqual(
      new Set(['R2_ACCOUNT_ID', 'NX_CACHE_RO_TOKEN', 'NX_CACHE_R2_RO_ACCESS_KEY_ID', 'NX_CACHE_R2_RO_SECRET_ACCESS_KEY']),
    );
  });

  // The checker itself can fail: the workflow as it was before issue 11 trips every rule.
  it('flags each regression in a workflow that has them all', () => {
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
  });
});

// A broken bucket (`release-bot check` exit 5) must neither pass as "up to date" nor stop the run before it is repaired.
describe('release workflow: a broken bucket is repaired', () => {
  const steps = async () => {
    const wf = parse(await readFile(path.join(root, '.github/workflows/release.yml'), 'utf8')) as Workflow;
    return wf.jobs!.release!.steps!;
  };

  /** Runs the "Which version" step's script as Actions would (bash -e), with `npm` replaced by one that exits `code`. */
  async function whichVersion(code: number): Promise<{ exitCode: number; output: string }> {
    const step = (await steps()).find((s) => s.id === 'version')!;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'release-yml-'));
    try {
      const output = path.join(dir, 'output');
      await writeFile(output, '');
      const npm = path.join(dir, 'npm');
      const lines = code === 5 ? 'broken=true\nrepair_version=1.9.0' : `new=${code === 10}`;
      await writeFile(npm, `#!/bin/sh\nprintf '${lines}\\n' >> "$GITHUB_OUTPUT"\nexit ${code}\n`);
      await chmod(npm, 0o755);
      const r = await execa('bash', ['-e', '-c', step.run!], {
        reject: false,
        env: { PATH: `${dir}:${process.env.PATH}`, GITHUB_OUTPUT: output, INPUT_VERSION: '', RELEASE_TAG: '' },
      });
      return { exitCode: r.exitCode ?? -1, output: await readFile(output, 'utf8') };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it.each([
    [0, 0],
    [10, 0],
    [5, 0],
    [1, 1],
    [4, 4],
  ])('check exiting %i makes the "Which version" step exit %i', async (code, expected) => {
    expect((await whichVersion(code)).exitCode).toBe(expected);
  });

  it('the repair publishes the version check names, before anything new is released, and Status runs last', async () => {
    expect((await whichVersion(5)).output).toContain('repair_version=1.9.0');
    const all = await steps();
    const names = all.map((s) => s.name);
    const repair = all.find((s) => s.name === 'Repair the bucket')!;
    expect(repair.if).toContain("steps.version.outputs.broken == 'true'");
    expect(repair.if).toContain('!inputs.dry_run');
    expect(repair.env!.REPAIR_VERSION).toBe('${{ steps.version.outputs.repair_version }}');
    expect(repair.run).toBe('npx nx run alloy:publish --version="$REPAIR_VERSION"');
    expect(names.indexOf('Repair the bucket')).toBeLessThan(names.indexOf('Release'));
    expect(names.at(-1)).toBe('Status');
    expect(all.at(-1)!.if).toBe('always()');
  });
});
