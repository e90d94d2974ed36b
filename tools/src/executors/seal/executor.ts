// Executor `seal`: options → libs/pipeline `sealStep`.
import type { ExecutorContext } from '@nx/devkit';
import { sealStep, type SealStepOptions } from '@alloy-sysext/pipeline';
import { runStep, type StepOptions } from '../run-step.js';

export default async function sealExecutor(options: StepOptions & SealStepOptions, context: ExecutorContext) {
  return runStep('seal', options, context, (step) => sealStep(step, options));
}
