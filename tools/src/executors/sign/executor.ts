// Executor `sign`: options → libs/pipeline `signStep`.
import type { ExecutorContext } from '@nx/devkit';
import { signStep, type ImageStepOptions } from '@alloy-sysext/pipeline';
import { runStep, type StepOptions } from '../run-step.js';

export default async function signExecutor(options: StepOptions & ImageStepOptions, context: ExecutorContext) {
  return runStep('sign', options, context, (step) => signStep(step, options));
}
