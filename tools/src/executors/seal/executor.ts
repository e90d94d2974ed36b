// Executor `seal`: options → libs/pipeline `sealStep`.
import type { ExecutorContext } from '@nx/devkit';
import { sealStep } from '@alloy-sysext/pipeline';
import { runStep, type StepOptions } from '../run-step.js';

export default async function sealExecutor(options: StepOptions, context: ExecutorContext) {
  return runStep('seal', options, context, (step) => sealStep(step, options));
}
