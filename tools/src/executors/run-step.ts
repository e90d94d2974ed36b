// The one place executors meet Nx: turn options into one libs/pipeline step call and its error into a failed task.
import type { ExecutorContext } from '@nx/devkit';
import { prepareStep, type StepContext, type StepOptions } from '@alloy-sysext/pipeline';

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
    await body(await prepareStep(options, { root: context.root, log }));
    return { success: true };
  } catch (error) {
    console.error(`${name} failed: ${(error as Error).message}`);
    if (process.env.ALLOY_DEBUG) console.error(error);
    return { success: false };
  }
}
