// Executor `image`: options → libs/pipeline `imageStep`.
import type { ExecutorContext } from '@nx/devkit';
import { imageStep, type ImageStepOptions } from '@alloy-sysext/pipeline';
import { runStep, type StepOptions } from '../run-step.js';

export default async function imageExecutor(options: StepOptions & ImageStepOptions, context: ExecutorContext) {
  return runStep('image', options, context, (step) => imageStep(step, options));
}
