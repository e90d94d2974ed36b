// Executor `fetch`: options → libs/pipeline `fetchStep`.
import type { ExecutorContext } from '@nx/devkit';
import { fetchStep, type FetchStepOptions } from '@alloy-sysext/pipeline';
import { runStep, type StepOptions } from '../run-step.js';

export default async function fetchExecutor(options: StepOptions & FetchStepOptions, context: ExecutorContext) {
  return runStep('fetch', options, context, (step) => fetchStep(step, options));
}
