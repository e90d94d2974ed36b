// One row of the verify table: what was checked, whether it holds, and the evidence or the problem.

export type CheckResult = 'ok' | 'FAIL';

export interface Check {
  check: string;
  result: CheckResult;
  detail: string;
}

export const ok = (check: string, detail: string): Check => ({ check, result: 'ok', detail });
export const fail = (check: string, detail: string): Check => ({ check, result: 'FAIL', detail });
