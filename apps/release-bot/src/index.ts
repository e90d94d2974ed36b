// @alloy-sysext/release-bot: the orchestrator CLI's commands, usable as functions (ctx in, exit code out).
export { main, type MainDeps } from './cli.js';
export { check, checkUpstream, type CheckOptions, type CheckResult } from './commands/check.js';
export { release, type ReleaseOptions } from './commands/release.js';
export { plan, type Plan, type PlanItem, type PlanOptions } from './commands/plan.js';
export { finish, type FinishOptions } from './commands/finish.js';
export { prune, type PruneOptions } from './commands/prune.js';
export { revoke, type RevokeOptions } from './commands/revoke.js';
export { status, collectStatus, renderStatus, type StatusReport } from './commands/status.js';
export { verify, type VerifyOptions } from './commands/verify.js';
export { keysGenerate, DEFAULT_KEY_DIR, type KeysGenerateOptions } from './commands/keys.js';
export { keysRotate, keysRetire, type KeysRotateOptions, type KeysRetireOptions } from './commands/keys-change.js';
export { chainCommand, runNxChain, type ChainRunner, type ChainRun } from './chain.js';
export { EXIT, EXIT_CODES, exitCodesHelp, UsageError } from './exit-codes.js';
export { latestStable, listUpstreamReleases, type UpstreamRelease } from './upstream.js';
export { TRACKING_LABEL, trackingTitle } from './tracking-issue.js';
export { releaseTag } from './release-tag.js';
export type { Ctx, Writer } from './context.js';
