// nx-cache: Nx's self-hosted remote cache, stored in the R2 bucket (or the local directory store) under nx-cache/.
//
// README block (CI → shared Nx cache):
//
//   The cache server is a small HTTP process each CI job starts next to Nx (it holds the R2 credentials; Nx never sees
//   them) with tools/ci/start-nx-cache.sh. Nx talks to it through its built-in self-hosted cache client, which needs no
//   plugin and no activation key. Entries live in the cache's own bucket (NX_CACHE_BUCKET → --bucket), apart from the
//   release objects, at <bucket>/nx-cache/<hash>, and are immutable (a second PUT of a hash gets 409).
//   Pull-request runners get the read-only token and a read-only R2 token for the cache bucket: a PR can change what a
//   task does and would otherwise upload arbitrary outputs under a hash that a later main or release build trusts and
//   restores without running the task — cache poisoning. Nx ignores the 403 on upload, so PR runs still pass. If the
//   server is down, Nx fails the run: start it before Nx. Every store request has a deadline (R2_CONNECT_TIMEOUT_MS,
//   R2_REQUEST_TIMEOUT_MS): a hung store answers 500, never hangs Nx.
//
//   NX_CACHE_TOKENS  comma-separated "read-write:<token>" / "read-only:<token>" (tokens ≥ 16 chars, e.g. `openssl rand -hex 32`)
//   R2_*             as for publishing; without them the cache goes to the local directory store (--directory)
import { Command } from 'commander';
import { storeFromEnv } from '@alloy-sysext/r2';
import { startNxCacheServer } from './server.js';
import { parseTokens } from './tokens.js';

const program = new Command()
  .name('nx-cache')
  .description('Nx self-hosted remote cache server backed by R2 (or a local directory)')
  .option('--port <port>', 'port to listen on (0 = any free port)', '4555')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--bucket <bucket>', 'bucket when R2_BUCKET is not set', 'alloy-sysext')
  .option('--prefix <prefix>', 'key prefix for cache entries inside the store', 'nx-cache')
  .option('--directory <dir>', 'local store directory when no R2 credentials are configured', 'dist/nx-remote-cache')
  .action(async (o: { port: string; host: string; bucket: string; prefix: string; directory: string }) => {
    const port = Number(o.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${JSON.stringify(o.port)} is not a port number`);
    const tokens = parseTokens(process.env.NX_CACHE_TOKENS ?? '');
    const log = (line: string) => process.stdout.write(`${line}\n`);
    const store = storeFromEnv(process.env, { bucket: o.bucket, prefix: '', directory: o.directory }, { log });
    const server = await startNxCacheServer({ store, tokens, prefix: o.prefix, port, host: o.host, log });
    const c = tokens.counts();
    log(
      `nx-cache listening on ${server.url} (entries in ${store.describe()} under ${o.prefix}/; ` +
        `${c['read-write']} read-write and ${c['read-only']} read-only token(s))`,
    );
    const stop = () => void server.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`nx-cache: ${(err as Error).message}\n`);
  process.exit(1);
});
