// The shared Nx cache, checked before Nx uses it. Nx's HTTP cache client (Rust reqwest, no timeout) waits forever on a
// server that accepts a connection and never answers (issue 20 finding 8), so one GET with a deadline decides first:
// an answer (any HTTP status but 401) lets the run go on; otherwise the run fails naming the variable, or, when the user
// opted in with ALLOY_NX_CACHE_OPTIONAL=true, goes on without the remote cache and says so.
const http = require('node:http');
const https = require('node:https');

const SERVER = 'NX_SELF_HOSTED_REMOTE_CACHE_SERVER';
const TOKEN = 'NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN';
const TIMEOUT = 'ALLOY_NX_CACHE_TIMEOUT_MS';
const OPTIONAL = 'ALLOY_NX_CACHE_OPTIONAL';
const DEFAULT_TIMEOUT_MS = 10_000;
// A hash no task has (Nx's are decimal digits), so a healthy server answers 404 and sends no entry.
const PROBE_HASH = 'alloy-sysext-probe';

/** The deadline in ms from the environment; a malformed value is refused, naming it. */
function probeTimeoutMs(env) {
  const raw = env[TIMEOUT];
  if (raw === undefined || raw === '') return DEFAULT_TIMEOUT_MS;
  if (!/^[1-9]\d*$/.test(raw)) throw new Error(`${TIMEOUT}="${raw}" is not a positive whole number of milliseconds`);
  return Number(raw);
}

/** Whether this command keeps Nx away from the remote cache anyway. */
function remoteCacheSkipped(argv, env) {
  if (env.NX_SKIP_NX_CACHE === 'true' || env.NX_DISABLE_NX_CACHE === 'true' || env.NX_SKIP_REMOTE_CACHE === 'true') return true;
  return argv.some((a) => /^--(skip-nx-cache|skipNxCache|skip-remote-cache|skipRemoteCache)(=true)?$/.test(a));
}

/**
 * One GET of an absent entry, with the token Nx would send. Resolves to {status} on an answer, or {problem} (a
 * sentence naming what happened) when the deadline passes or the request fails. Never rejects.
 */
function probe(url, token, timeoutMs) {
  return new Promise((resolve) => {
    let target;
    try {
      target = new URL(`${url.replace(/\/+$/, '')}/v1/cache/${PROBE_HASH}`);
    } catch {
      return resolve({ problem: 'is not a URL' });
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return resolve({ problem: 'is not an http(s) URL' });
    const headers = { accept: 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const req = (target.protocol === 'https:' ? https : http).get(target, { headers });
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ problem: `did not answer within ${timeoutMs} ms (${TIMEOUT})` });
    }, timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.destroy(); // the status is the answer; a body is not waited for
      resolve({ status: res.statusCode });
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      resolve({ problem: `could not be reached (${error.code ?? error.message})` });
    });
  });
}

/**
 * Checks the configured shared cache before any task runs. Returns undefined when there is nothing to say, or
 * {disable, warning} when the run goes on without the remote cache; throws when the run must not start.
 */
async function checkRemoteCache(argv, env) {
  const url = env[SERVER];
  if (!url || remoteCacheSkipped(argv, env)) return undefined;
  const timeoutMs = probeTimeoutMs(env);
  const { status, problem } = await probe(url, env[TOKEN], timeoutMs);
  const subject = `the shared Nx cache at ${SERVER}=${url}`;
  if (status === 401) {
    throw new Error(
      `${subject} refused ${env[TOKEN] ? `the token in ${TOKEN}` : `a request without ${TOKEN}`} (HTTP 401). Nothing was run.`,
    );
  }
  if (status !== undefined) return undefined;
  if (env[OPTIONAL] === 'true') {
    return {
      disable: true,
      warning:
        `WARNING: ${subject} ${problem}: running WITHOUT the remote cache (${OPTIONAL}=true) — nothing is restored ` +
        'from it or uploaded to it in this run.',
    };
  }
  throw new Error(
    `${subject} ${problem}. Nx's cache client has no deadline and would wait for it forever, so nothing was run. ` +
      `Start or fix the server, unset ${SERVER}, or set ${OPTIONAL}=true to run without the remote cache.`,
  );
}

module.exports = { checkRemoteCache, probe, SERVER };
