// Executor `publish`: options → libs/pipeline `publishStep`.
import type { ExecutorContext } from '@nx/devkit';
import { publishStep, type PublishStepOptions } from '@alloy-sysext/pipeline';
import { runStep, type StepOptions } from '../run-step.js';

export default async function publishExecutor(options: StepOptions & PublishStepOptions, context: ExecutorContext) {
  return runStep('publish', options, context, (step) => publishStep(step, options));
}
