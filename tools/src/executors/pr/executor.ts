import type { ExecutorContext } from '@nx/devkit';
import { failedConsumers, summaryTable, updateConsumers } from '../../pipeline/update-consumers.js';
import { runStep, type StepOptions } from '../run-step.js';

export interface PrOptions extends StepOptions {
  consumer?: string;
  dryRun?: boolean;
}

export default async function prExecutor(options: PrOptions, context: ExecutorContext) {
  return runStep('pr', options, context, async ({ recipe, version, layout, log }) => {
    const consumers = recipe.consumers.filter((c) => !options.consumer || c.name === options.consumer);
    if (options.consumer && consumers.length === 0) {
      throw new Error(`no consumer named "${options.consumer}" in ${recipe.file}; expected one of: ${recipe.consumers.map((c) => c.name).join(', ')}`);
    }
    const outcomes = await updateConsumers({ recipe, version, layout, consumers, dryRun: options.dryRun, log });
    log(`\n${summaryTable(outcomes)}`);
    const failed = failedConsumers(outcomes);
    if (failed.length) throw new Error(`${failed.length} of ${outcomes.length} consumers failed: ${failed.map((o) => o.consumer).join(', ')} (see the table above)`);
  });
}
