// The HTTP front: authentication, fault injection, OpenAPI routing and validation, dispatch, request log.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthState, type Actor, actorLogin } from './auth.js';
import { Faults } from './faults.js';
import { HttpError, type Ctx, type Reply, type Routes } from './http.js';
import { bodyRequired, coerceParams, hasJsonBody, matchRoute, validateBody, validateParams, validateResponse } from './openapi.js';
import { State } from './state.js';
import { gitRoutes } from './routes/git.js';
import { repoRoutes } from './routes/repos.js';
import { pullRoutes } from './routes/pulls.js';
import { issueRoutes } from './routes/issues.js';
import { releaseRoutes } from './routes/releases.js';
import { metaRoutes } from './routes/meta.js';
import { searchRoutes } from './routes/search.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  auth: 'none' | 'token' | 'app-jwt' | 'installation';
  actor?: string;
}

const ROUTES: Routes = { ...metaRoutes, ...repoRoutes, ...gitRoutes, ...pullRoutes, ...issueRoutes, ...releaseRoutes, ...searchRoutes };

/** Every route key the double serves, e.g. 'POST /repos/{owner}/{repo}/pulls'. */
export const servedRoutes = (): string[] => Object.keys(ROUTES);

const DOCS = 'https://docs.github.com/rest';

export class DoubleServer {
  readonly state = new State();
  readonly auth = new AuthState();
  readonly faults = new Faults();
  readonly requests: RecordedRequest[] = [];
  url = '';
  private server?: Server;

  constructor(private readonly opts: { validateResponses?: boolean } = {}) {}

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    // Octokit keeps connections alive; don't let an idle socket hold stop() open.
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', this.url);
    const pathname = url.pathname;
    const query = Object.fromEntries(url.searchParams);
    const raw = await readBody(req);
    let body: unknown;
    let badJson = false;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        badJson = true;
        body = raw.toString('utf8');
      }
    }

    const header = req.headers['authorization'];
    let actor: Actor = { kind: 'none' };
    let authError: HttpError | undefined;
    try {
      actor = this.auth.authenticate(header);
    } catch (e) {
      authError = e as HttpError;
    }
    // Octokit percent-encodes '/' inside {path} and {ref}; the log keeps the readable form
    // ('/repos/o/r/contents/dir/file'), and faults match either form.
    const readable = decodePath(pathname);
    const entry: RecordedRequest = {
      method,
      path: readable,
      query,
      body,
      status: 0,
      auth: authError ? (String(header).split('.').length === 3 ? 'app-jwt' : 'token') : actor.kind,
      actor: actorLogin(actor),
    };
    if (entry.actor === undefined) delete entry.actor;
    this.requests.push(entry);

    const match = matchRoute(method, pathname);
    const op = match && match !== 'method-not-allowed' ? match.op : undefined;
    let reply: Reply;
    const fault = this.faults.take(method, [readable, pathname], op?.template);
    if (fault) reply = { status: fault.status, body: { ...fault.body, status: String(fault.status) }, headers: fault.headers };
    else {
      try {
        if (authError) throw authError;
        if (!match || match === 'method-not-allowed' || !op) throw new HttpError(404, 'Not Found');
        const handler = ROUTES[`${op.method} ${op.template}`];
        // A route GitHub has but the double lacks is loud, so a test gap is obvious rather than a confusing 404.
        if (!handler)
          throw new HttpError(501, `GitHub double does not implement ${op.method} ${op.template} (operationId ${op.operationId})`);
        const ctx: Ctx = {
          method,
          pathname,
          template: op.template,
          baseUrl: this.url,
          docsUrl: op.docsUrl,
          params: match.params,
          query,
          headers: req.headers,
          body: body as Ctx['body'],
          actor,
          state: this.state,
          auth: this.auth,
        };
        // GitHub asks for credentials before it looks at what an anonymous write says.
        if (actor.kind === 'none' && method !== 'GET' && method !== 'HEAD') throw new HttpError(401, 'Requires authentication');
        const pathInvalid = validateParams(op, 'path', coerceParams(op, 'path', match.params));
        if (pathInvalid) throw new HttpError(404, 'Not Found');
        const queryInvalid = validateParams(op, 'query', coerceParams(op, 'query', query));
        if (queryInvalid) throw new HttpError(422, queryInvalid.message, { errors: queryInvalid.errors });
        if (hasJsonBody(op) && method !== 'GET' && method !== 'HEAD') {
          if (badJson) throw new HttpError(400, 'Problems parsing JSON');
          if (body !== undefined || bodyRequired(op)) {
            const invalid = validateBody(op, body ?? {});
            if (invalid) throw new HttpError(422, invalid.message, { errors: invalid.errors });
          }
        }
        reply = await handler(ctx);
        if (this.opts.validateResponses && !Buffer.isBuffer(reply.body)) {
          const problem = validateResponse(op, reply.status, reply.body);
          // 400, not 5xx: plugin-retry would resend the request and bury the message.
          if (problem)
            reply = {
              status: 400,
              body: {
                message: `GitHub double bug: ${op.method} ${op.template} ${reply.status} response breaks the OpenAPI schema: ${problem}`,
              },
            };
        }
      } catch (e) {
        if (e instanceof HttpError) {
          reply = {
            status: e.status,
            headers: e.headers,
            body: { message: e.message, ...e.extra, documentation_url: op?.docsUrl ?? DOCS, status: String(e.status) },
          };
        } else {
          reply = {
            status: 500,
            body: { message: `GitHub double crashed: ${(e as Error).stack?.split('\n').slice(0, 4).join(' | ') ?? String(e)}` },
          };
        }
      }
    }
    entry.status = reply.status;
    this.send(res, method, reply);
  }

  private send(res: ServerResponse, method: string, reply: Reply): void {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    const headers: Record<string, string> = {
      'x-github-media-type': 'github.v3; format=json',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-request-id': `DOUBLE:${this.requests.length}`,
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-used': '1',
      'x-ratelimit-reset': String(reset),
      'x-ratelimit-resource': 'core',
      ...(reply.headers ?? {}),
    };
    let payload: Buffer | undefined;
    if (reply.status !== 204 && reply.body !== undefined) {
      if (Buffer.isBuffer(reply.body)) payload = reply.body;
      else {
        payload = Buffer.from(JSON.stringify(reply.body));
        headers['content-type'] ??= 'application/json; charset=utf-8';
      }
    }
    if (payload) headers['content-length'] = String(payload.length);
    res.writeHead(reply.status, headers);
    res.end(method === 'HEAD' ? undefined : payload);
  }
}

function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
