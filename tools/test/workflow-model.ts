// The GitHub Actions workflows as data, for the tests that check their rules (workflows.test.ts) and run their jobs
// (release-rehearsal.test.ts): parsing, GitHub's own schema check, expressions evaluated by GitHub's expression library,
// the secret classes a job holds, and the order jobs run in.
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
import { build } from 'esbuild';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WORKFLOWS = path.join(ROOT, '.github/workflows');

export interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}
export interface Job {
  if?: string;
  needs?: string | string[];
  env?: Record<string, unknown>;
  'runs-on'?: unknown;
  'timeout-minutes'?: unknown;
  permissions?: Record<string, string> | string;
  container?: { image?: string; credentials?: Record<string, string>; options?: string } | string;
  outputs?: Record<string, string>;
  strategy?: { matrix?: unknown };
  defaults?: { run?: { 'working-directory'?: string } };
  uses?: string;
  steps?: Step[];
}
export interface Workflow {
  on?: unknown;
  env?: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  jobs?: Record<string, Job>;
}

export async function loadWorkflow(file: string): Promise<{ text: string; wf: Workflow }> {
  const text = await readFile(path.join(WORKFLOWS, file), 'utf8');
  return { text, wf: parse(text) as Workflow };
}

export const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);

/** Job ids in an order GitHub may run them: each after every job it needs (ties in file order). */
export function jobOrder(wf: Workflow): string[] {
  const jobs = wf.jobs ?? {};
  const done: string[] = [];
  while (done.length < Object.keys(jobs).length) {
    const next = Object.keys(jobs).find((id) => !done.includes(id) && needsOf(jobs[id]!).every((n) => done.includes(n)));
    if (!next)
      throw new Error(
        `the needs of ${Object.keys(jobs)
          .filter((id) => !done.includes(id))
          .join(', ')} form a cycle`,
      );
    done.push(next);
  }
  return done;
}

/** Every `secrets.NAME` referenced anywhere in `value`. */
export const secretsIn = (value: unknown): string[] => [
  ...new Set([...JSON.stringify(value ?? null).matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]!)),
];

/** The three credential classes no job may hold two of (README → "Who holds which credential"). */
export type SecretClass = 'signing key' | 'release bucket write keys' | 'consumer App keys';

/** The class of a secret (or a Bitwarden output of the same name), by its name; undefined: none of the three. */
export function classOf(name: string): SecretClass | undefined {
  if (/^(ALLOY_SIGNING_KEY|ALLOY_SIGNING_KEY_PASSPHRASE|GPG_PRIVATE_KEY|GPG_PASSPHRASE)$/.test(name)) return 'signing key';
  if (/^(R2_ACCESS_KEY_ID|R2_SECRET_ACCESS_KEY)$/.test(name)) return 'release bucket write keys';
  if (/_APP_PRIVATE_KEY$/.test(name)) return 'consumer App keys';
  return undefined;
}

/** Who holds what in release.yml, job by job: the least-privilege split both the rules and the rehearsal check. */
export const RELEASE_JOB_CLASSES: Record<string, SecretClass[]> = {
  plan: [],
  builder: [],
  image: [],
  sign: ['signing key'],
  publish: ['release bucket write keys'],
  pr: ['consumer App keys'],
  attest: [],
  host_check: [],
  finish: ['consumer App keys'],
};

const BITWARDEN = /^bitwarden\/sm-action@/;

/** Names a job reads from repository secrets and from its Bitwarden steps' outputs. */
export function credentialNames(job: Job): string[] {
  const bws = new Set((job.steps ?? []).filter((s) => BITWARDEN.test(s.uses ?? '')).map((s) => s.id));
  const fromBitwarden = [...JSON.stringify(job.steps ?? []).matchAll(/steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_]+)/g)]
    .filter((m) => bws.has(m[1]))
    .map((m) => m[2]!);
  return [...new Set([...secretsIn(job), ...fromBitwarden])];
}

/** The classes of the three a job holds. */
export function secretClasses(job: Job): SecretClass[] {
  return [
    ...new Set(
      credentialNames(job)
        .map(classOf)
        .filter((c): c is SecretClass => c !== undefined),
    ),
  ].sort();
}

/**
 * GitHub's own workflow parser (actions/languageservices, the one behind the Actions editor): schema errors, e.g. an
 * unknown key or permission value. The package imports a JSON file without an import attribute, which Node's ESM loader
 * refuses, so it is bundled once into a CommonJS file (esbuild inlines the JSON) and required from there.
 */
let parser: Promise<typeof import('@actions/workflow-parser')> | undefined;
export async function githubSchemaErrors(name: string, content: string): Promise<string[]> {
  parser ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'workflow-parser-'));
    const file = path.join(dir, 'bundle.cjs');
    await build({
      entryPoints: [path.join(ROOT, 'node_modules/@actions/workflow-parser/dist/index.js')],
      bundle: true,
      format: 'cjs',
      platform: 'node',
      outfile: file,
      logLevel: 'error',
    });
    try {
      return createRequire(import.meta.url)(file) as typeof import('@actions/workflow-parser');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  const { parseWorkflow, NoOperationTraceWriter } = await parser;
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  return result.context.errors.getErrors().map((e) => e.message);
}

/** Evaluates one expression (the text inside `${{ }}`) against `contexts`, with GitHub's status functions. */
export function evaluate(expression: string, contexts: Record<string, unknown>, status: { failed: boolean } = { failed: false }): unknown {
  const tokens = new Lexer(expression).lex();
  const fn = (name: string, value: () => boolean) =>
    [name, { name, description: '', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value()) }] as const;
  const functions = new Map([
    fn('always', () => true),
    fn('success', () => !status.failed),
    fn('failure', () => status.failed),
    fn('cancelled', () => false),
  ]);
  const expr = new Parser(tokens.tokens, Object.keys(contexts), [...functions.values()]).parse();
  const context = JSON.parse(JSON.stringify(contexts), data.reviver) as data.Dictionary;
  return toPlain(new Evaluator(expr, context, functions).evaluate());
}

function toPlain(value: data.ExpressionData): unknown {
  return JSON.parse(JSON.stringify(value, data.replacer));
}

/** A string with `${{ }}` parts replaced by their values (as GitHub turns them into strings: null → ''). */
export function interpolate(text: string, contexts: Record<string, unknown>): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expr: string) => {
    const v = evaluate(expr, contexts);
    return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

/** An `if:` as GitHub reads it: `${{ }}` optional, success() implied unless a status function is named. */
export function condition(text: string | undefined, contexts: Record<string, unknown>, status = { failed: false }): boolean {
  if (text === undefined) return !status.failed;
  const expr = text.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1');
  const full = /\b(always|success|failure|cancelled)\(\)/.test(expr) ? expr : `success() && (${expr})`;
  return truthy(evaluate(full, contexts, status));
}

const truthy = (v: unknown) => !(v === false || v === null || v === undefined || v === 0 || v === '');
