// Executor `pr`: options → libs/pipeline `prStep`.
import type { ExecutorContext } from '@nx/devkit';
import { prStep, type PrStepOptions } from '@alloy-sysext/pipeline';
import { runStep, type StepOptions } from '../run-step.js';

export default async function prExecutor(options: StepOptions & PrStepOptions, context: ExecutorContext) {
  return runStep('pr', options, context, (step) => prStep(step, options));
}
