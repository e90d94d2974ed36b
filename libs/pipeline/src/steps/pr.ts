// Step `pr`: one pull request per configured consumer bumping the pinned version and hash in its Butane file. Every
// consumer is attempted; the run ends with a table of outcomes and fails if any consumer failed.
import type { StepContext } from '../step.js';
import { failedConsumers, summaryTable, updateConsumers } from '../update-consumers.js';

export interface PrStepOptions {
  /** Only this consumer (a recipe `consumers[].name`). */
  consumer?: string;
  dryRun?: boolean;
}

export async function prStep({ recipe, version, layout, log }: StepContext, options: PrStepOptions = {}): Promise<void> {
  const consumers = recipe.consumers.filter((c) => !options.consumer || c.name === options.consumer);
  if (options.consumer && consumers.length === 0) {
    throw new Error(
      `no consumer named "${options.consumer}" in ${recipe.file}; expected one of: ${recipe.consumers.map((c) => c.name).join(', ')}`,
    );
  }
  const outcomes = await updateConsumers({ recipe, version, layout, consumers, dryRun: options.dryRun, log });
  log(`\n${summaryTable(outcomes)}`);
  const failed = failedConsumers(outcomes);
  if (failed.length)
    throw new Error(
      `${failed.length} of ${outcomes.length} consumers failed: ${failed.map((o) => o.consumer).join(', ')} (see the table above)`,
    );
}
