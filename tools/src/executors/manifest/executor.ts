// Executor `manifest`: options → libs/pipeline `manifestStep`.
import type { ExecutorContext } from '@nx/devkit';
import { manifestStep } from '@alloy-sysext/pipeline';
import { runStep, type StepOptions } from '../run-step.js';

export default async function manifestExecutor(options: StepOptions, context: ExecutorContext) {
  return runStep('manifest', options, context, (step) => manifestStep(step));
}
