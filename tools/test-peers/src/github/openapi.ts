// GitHub's published OpenAPI description (@octokit/openapi) drives routing and validation, so the double accepts and
// rejects what GitHub would. The 13 MB file is parsed once per process; schemas are compiled lazily per operation.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CJS; under NodeNext its default import is the module object in some loaders, the function in others.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv) => Ajv;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}
type Schema = Record<string, unknown>;
export interface Operation {
  method: string;
  template: string;
  segments: string[];
  operationId: string;
  docsUrl: string;
  parameters: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}
interface Spec {
  paths: Record<string, Record<string, unknown>>;
  components: { parameters: Record<string, Parameter>; schemas: Record<string, Schema> };
}

/** Each component schema is registered under its own id, only once something reachable needs it. */
const SCHEMA_BASE = 'https://github-double.invalid/schemas/';
let loaded: { spec: Spec; ajv: Ajv; ops: Operation[] } | undefined;

function load() {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as Spec;
  // strict off: the description uses OpenAPI keywords (nullable, example, x-github…) that are not JSON Schema.
  // inlineRefs off: shared schemas (simple-user, repository…) compile once and are reused by every operation.
  const ajv = new Ajv({ strict: false, allErrors: false, logger: false, inlineRefs: false });
  addFormats(ajv);
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries(spec.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete', 'head'].includes(method)) continue;
      const op = raw as {
        operationId: string;
        externalDocs?: { url: string };
        parameters?: Parameter[];
        requestBody?: Operation['requestBody'];
        responses?: Operation['responses'];
      };
      const parameters = (op.parameters ?? []).map((p) => resolveParam(spec, p));
      ops.push({
        method: method.toUpperCase(),
        template,
        segments: template.split('/').slice(1),
        operationId: op.operationId,
        docsUrl: op.externalDocs?.url ?? 'https://docs.github.com/rest',
        parameters,
        requestBody: op.requestBody,
        responses: op.responses ?? {},
      });
    }
  }
  loaded = { spec, ajv, ops };
  return loaded;
}

/**
 * OpenAPI 3.0 `nullable` is only understood by ajv next to `type`; the description also puts it beside allOf/anyOf
 * refs. Rewrite those to anyOf [schema, null] once, at load.
 */
function normaliseNullable(node: unknown): unknown {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = normaliseNullable(node[i]);
    return node;
  }
  if (!node || typeof node !== 'object') return node;
  const o = node as Record<string, unknown>;
  for (const k of Object.keys(o)) o[k] = normaliseNullable(o[k]);
  if ('nullable' in o && o['type'] === undefined) {
    const { nullable, ...rest } = o;
    return nullable === true ? { anyOf: [rest, { type: 'null' }] } : rest;
  }
  // ajv applies `enum` before `nullable`, so a nullable enum must list null itself.
  if (o['nullable'] === true && Array.isArray(o['enum']) && !o['enum'].includes(null)) o['enum'] = [...o['enum'], null];
  return o;
}

function resolveParam(spec: Spec, p: Parameter | { $ref: string }): Parameter {
  if ('$ref' in p) return spec.components.parameters[p.$ref.split('/').pop()!]!;
  return p;
}

const registered = new Set<string>();

/**
 * Points `#/components/schemas/X` refs at per-component ids and registers the components reachable from this schema
 * (not the whole 13 MB description: traversing it all would cost every test process seconds).
 */
function rewriteRefs(schema: unknown): Schema {
  const { spec, ajv } = load();
  const text = JSON.stringify(schema);
  const pending: string[] = [];
  const rewritten = text.replace(/"#\/components\/schemas\/([^"/]+)((?:\/[^"]*)?)"/g, (_m, name: string, rest: string) => {
    if (!registered.has(name)) {
      registered.add(name);
      pending.push(name);
    }
    return `"${SCHEMA_BASE}${name}#${rest}"`;
  });
  for (const name of pending) ajv.addSchema(rewriteRefs(spec.components.schemas[name]), `${SCHEMA_BASE}${name}`);
  return normaliseNullable(JSON.parse(rewritten)) as Schema;
}

/** Params whose values may contain '/' when they are the last segment (file paths, refs, compare ranges). */
const SLASHY = new Set(['path', 'ref', 'basehead', 'name', 'branch', 'tag']);

export interface RouteMatch {
  op: Operation;
  params: Record<string, string>;
}

/**
 * Finds the operation for a request path. Single-segment parameters are tried first and the template with the most
 * literal segments wins; only then may a trailing slashy parameter swallow several segments.
 */
export function matchRoute(method: string, pathname: string): RouteMatch | 'method-not-allowed' | undefined {
  const trimmed = matchSegments(method, pathname.replace(/\/+$/, '').split('/').slice(1));
  // Only then try an empty last segment: an empty file path ('/contents' or '/contents/') lists the repository root.
  if (trimmed === undefined || trimmed === 'method-not-allowed') {
    const rooted = matchSegments(method, [...pathname.replace(/\/+$/, '').split('/').slice(1), '']);
    if (rooted && rooted !== 'method-not-allowed') return rooted;
  }
  return trimmed;
}

function matchSegments(method: string, segs: string[]): RouteMatch | 'method-not-allowed' | undefined {
  const { ops } = load();
  let best: { m: RouteMatch; literals: number; multi: boolean } | undefined;
  let pathKnown = false;
  for (const op of ops) {
    const tsegs = op.segments;
    if (tsegs.length > segs.length) continue;
    const params: Record<string, string> = {};
    let literals = 0;
    let multi = false;
    let ok = true;
    for (let i = 0; i < tsegs.length && ok; i++) {
      const t = tsegs[i]!;
      const s = segs[i];
      if (s === undefined) {
        ok = false;
        break;
      }
      const pm = /^\{(\w+)\}$/.exec(t);
      if (!pm) {
        if (t !== s) ok = false;
        else literals++;
        continue;
      }
      const name = pm[1]!;
      if (i === tsegs.length - 1 && segs.length > tsegs.length) {
        if (!SLASHY.has(name)) {
          ok = false;
          break;
        }
        params[name] = segs.slice(i).map(safeDecode).join('/');
        multi = true;
      } else {
        if (s === '' && name !== 'path') {
          ok = false;
          break;
        }
        params[name] = safeDecode(s);
      }
    }
    if (!ok || segs.length < tsegs.length) continue;
    if (!multi && segs.length !== tsegs.length) continue;
    pathKnown = true;
    if (op.method !== method && !(method === 'HEAD' && op.method === 'GET')) continue;
    const better = !best || (best.multi && !multi) || (best.multi === multi && literals > best.literals);
    if (better) best = { m: { op, params }, literals, multi };
  }
  if (best) return best.m;
  return pathKnown ? 'method-not-allowed' : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

interface Compiled {
  params?: ValidateFunction;
  query?: ValidateFunction;
  body?: ValidateFunction;
  responses: Map<number, ValidateFunction | null>;
}
const compiled = new Map<string, Compiled>();

function compiledFor(op: Operation): Compiled {
  let c = compiled.get(op.operationId);
  if (c) return c;
  const { ajv } = load();
  const objectSchema = (where: 'path' | 'query') => {
    const ps = op.parameters.filter((p) => p.in === where);
    if (!ps.length) return undefined;
    return ajv.compile(
      rewriteRefs({
        type: 'object',
        properties: Object.fromEntries(ps.map((p) => [p.name, p.schema ?? {}])),
        required: ps.filter((p) => p.required).map((p) => p.name),
      }),
    );
  };
  const bodySchema = op.requestBody?.content?.['application/json']?.schema;
  c = {
    params: objectSchema('path'),
    query: objectSchema('query'),
    body: bodySchema ? ajv.compile(rewriteRefs(bodySchema)) : undefined,
    responses: new Map(),
  };
  compiled.set(op.operationId, c);
  return c;
}

/** Query and path values arrive as strings; coerce them to the schema's type before validating. */
export function coerceParams(op: Operation, where: 'path' | 'query', raw: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const p of op.parameters.filter((x) => x.in === where)) {
    const v = raw[p.name];
    if (v === undefined) continue;
    const type = (p.schema as { type?: string } | undefined)?.type;
    if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(v)) out[p.name] = Number(v);
    else if (type === 'boolean' && (v === 'true' || v === 'false')) out[p.name] = v === 'true';
    else if (type === 'array') out[p.name] = v.split(',');
  }
  return out;
}

export type Invalid = { message: string; errors: Array<Record<string, unknown>> };

export function validateParams(op: Operation, where: 'path' | 'query', values: Record<string, unknown>): Invalid | undefined {
  const v = compiledFor(op)[where === 'path' ? 'params' : 'query'];
  if (!v || v(values)) return undefined;
  return describe(v.errors ?? [], values, where === 'path' ? 'path' : 'query');
}

export function hasJsonBody(op: Operation): boolean {
  return !!op.requestBody?.content?.['application/json']?.schema;
}
export function bodyRequired(op: Operation): boolean {
  return !!op.requestBody?.required;
}

export function validateBody(op: Operation, body: unknown): Invalid | undefined {
  const v = compiledFor(op).body;
  if (!v || v(body)) return undefined;
  return describe(v.errors ?? [], body, 'body');
}

/** Validates a response against the operation's schema for that status (opt-in: compiling them costs time). */
export function validateResponse(op: Operation, status: number, body: unknown): string | undefined {
  const c = compiledFor(op);
  if (!c.responses.has(status)) {
    const schema = op.responses[String(status)]?.content?.['application/json']?.schema;
    c.responses.set(status, schema ? load().ajv.compile(rewriteRefs(schema)) : null);
  }
  const v = c.responses.get(status);
  if (!v || v(body)) return undefined;
  return load().ajv.errorsText(v.errors, { dataVar: 'response' });
}

export function declaredStatuses(op: Operation): number[] {
  return Object.keys(op.responses)
    .map(Number)
    .filter((n) => !Number.isNaN(n));
}

// Phrases the first error the way GitHub's schema validator does ('"base" wasn't supplied.').
function describe(errors: ErrorObject[], data: unknown, where: string): Invalid {
  const e = errors[0];
  if (!e) return { message: 'Invalid request.', errors: [] };
  const field = e.instancePath.split('/').filter(Boolean).join('.');
  let detail: string;
  let code = 'invalid';
  let errField = field;
  if (e.keyword === 'required') {
    errField = [field, (e.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.');
    detail = `"${errField}" wasn't supplied.`;
    code = 'missing_field';
  } else if (e.keyword === 'type') {
    detail = `For '${field || where}', ${JSON.stringify(valueAt(data, e.instancePath))} is not ${article((e.params as { type: string }).type)}.`;
  } else if (e.keyword === 'enum') {
    detail = `For '${field || where}', ${JSON.stringify(valueAt(data, e.instancePath))} is not one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ')}.`;
  } else if (e.keyword === 'additionalProperties') {
    errField = [field, (e.params as { additionalProperty: string }).additionalProperty].filter(Boolean).join('.');
    detail = `"${errField}" is not a permitted key.`;
  } else {
    detail = `${where}${e.instancePath} ${e.message ?? 'is invalid'}.`;
  }
  return { message: `Invalid request.\n\n${detail}`, errors: [{ resource: where, field: errField, code, message: detail }] };
}

function article(t: string): string {
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function valueAt(data: unknown, pointer: string): unknown {
  let cur = data;
  for (const part of pointer.split('/').filter(Boolean))
    cur = (cur as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return cur;
}
