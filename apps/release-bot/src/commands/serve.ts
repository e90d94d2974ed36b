// `serve`: the local bucket (no R2 configured) over HTTP on 127.0.0.1, at exactly the public URL publish writes into
// snippets, sysupdate transfers and consumer pull requests in that case (port ALLOY_SERVE_PORT, default 8080).
import { localBucketDir, localPublicUrl, servePort, serveBucket } from '@alloy-sysext/pipeline';
import { logger, out, recipeFor, type Ctx } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';

export interface ServeOptions {
  /** Resolves when the server should stop (default: SIGINT or SIGTERM). */
  until?: Promise<unknown>;
}

export async function serve(ctx: Ctx, opts: ServeOptions = {}): Promise<number> {
  const recipe = await recipeFor(ctx);
  let port: number;
  try {
    port = servePort(ctx.env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const dir = localBucketDir(ctx.root, ctx.env);
  const server = await serveBucket({ dir, port, log: ctx.env.ALLOY_DEBUG ? logger(ctx) : undefined }).catch(
    (error: NodeJS.ErrnoException) => {
      throw new Error(
        `cannot listen on 127.0.0.1:${port} (${error.code ?? error.message}): set ALLOY_SERVE_PORT to a free port, for both publish and serve`,
        { cause: error },
      );
    },
  );
  out(ctx, `serving ${dir} at ${localPublicUrl(recipe.bucket.prefix, ctx.env)}/ (the public URL publish uses without R2); Ctrl-C stops`);
  await (opts.until ?? stopSignal());
  await server.close();
  return EXIT.OK;
}

/**
 * Ctrl-C, SIGTERM, or the parent going away. `npm run release-bot -- serve` runs node under `sh -c`; stopping npm by its
 * PID ends npm and sh but not node, which would keep serving as an orphan: it notices its parent is gone and stops.
 */
function stopSignal(pollMs = 500): Promise<unknown> {
  const parent = process.ppid;
  return new Promise((resolve) => {
    // process.ppid is read once at start-up: ask whether that process still exists instead
    const watch = setInterval(() => {
      if (!alive(parent)) stop();
    }, pollMs);
    const stop = () => {
      clearInterval(watch);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(undefined);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
