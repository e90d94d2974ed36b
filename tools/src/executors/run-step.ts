// The one place executors meet Nx: turn options into one libs/pipeline step call and its error into a failed task.
import path from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import {
  blobStores,
  localBlobStore,
  prepareStep,
  remoteBlobStore,
  type BlobStore,
  type StepContext,
  type StepOptions,
} from '@alloy-sysext/pipeline';

export type { StepOptions };

/**
 * Resolves recipe and version (before any I/O, so a bad version never builds a path), runs the step, and turns an error
 * into a failed task with its message, not a stack trace.
 */
export async function runStep(
  name: string,
  options: StepOptions,
  context: ExecutorContext,
  body: (step: StepContext) => Promise<void>,
): Promise<{ success: boolean }> {
  const log = (line: string) => console.log(line);
  try {
    await body(await prepareStep(options, { root: context.root, log, blobs: blobStoreFromEnv(context.root, process.env, log) }));
    return { success: true };
  } catch (error) {
    console.error(`${name} failed: ${(error as Error).message}`);
    if (process.env.ALLOY_DEBUG) console.error(error);
    return { success: false };
  }
}

/**
 * Where the steps keep their large files (blobs.ts): `.nx/blobs` beside Nx's cache and, when a shared Nx cache is
 * configured, its server, with the token Nx uses and the deadline of the plugin's check of it (remote-cache-probe.cjs).
 */
export function blobStoreFromEnv(root: string, env: NodeJS.ProcessEnv, log: StepContext['log']): BlobStore {
  const local = localBlobStore(path.join(root, '.nx', 'blobs'), log);
  const url = env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER;
  if (!url) return local;
  const timeoutMs = /^[1-9]\d*$/.test(env.ALLOY_NX_CACHE_TIMEOUT_MS ?? '') ? Number(env.ALLOY_NX_CACHE_TIMEOUT_MS) : 10_000;
  const remote = remoteBlobStore(
    { url, token: env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN, timeoutMs, timeoutSetting: 'ALLOY_NX_CACHE_TIMEOUT_MS' },
    log,
  );
  return blobStores(local, remote);
}
