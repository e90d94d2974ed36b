// The bucket's version history for `check` and `status`: its signed state against SHA256SUMS and every witness this run
// can read (this workspace's last state, the mirror, the release tags), with the repair that never re-signs a removed
// version.
import path from 'node:path';
import type { ObjectStore } from '@alloy-sysext/r2';
import {
  gatherWitnesses,
  historyVerdict,
  localWitnessFile,
  readHistory,
  rememberState,
  stateKey,
  taggedButMissing,
  witnessDir,
  type History,
  type Recipe,
  type Witnesses,
} from '@alloy-sysext/pipeline';
import { logger, type Ctx } from './context.js';
import { thisRepo } from './github.js';
import { releaseTag, taggedVersions } from './release-tag.js';

export interface HistoryReport {
  ok: boolean;
  /** The bucket's signed state, in words. */
  state: string;
  /** One line per rollback, revived version or other history problem, naming it. */
  problems: string[];
  /** Newest version the bucket should serve: what a repair publishes (never a removed version). */
  repairVersion?: string;
  /** Versions a prune or revoke removed for good. */
  removed: string[];
  /** What SHA256SUMS should list, whatever it lists now: the newest state's versions, and tagged ones it lacks. */
  expected: string[];
  /** What each witness said, or why it could not be read. */
  witnesses: string[];
}

/** What a broken bucket's repair publishes: the newest version it should serve, never a removed one. */
export function repairVersion(history: HistoryReport | undefined, listed: string[]): string | undefined {
  return history?.repairVersion ?? listed.filter((v) => !history?.removed.includes(v)).at(-1);
}

/** The versions SHA256SUMS lists, for a report line: a removed one listed again says so. */
export function listedText(listed: string[], history: HistoryReport | undefined): string {
  return listed.map((v) => (history?.removed.includes(v) ? `${v} (removed, listed again)` : v)).join(', ') || '(none)';
}

/** The release tags as a witness, or why they cannot be read here. */
async function tagWitness(ctx: Ctx, recipe: Recipe, unavailable: string[]): Promise<Witnesses['tags']> {
  const target = await thisRepo(ctx).catch((error: Error) => ({ ok: false as const, reason: error.message }));
  const what = `release tags ${releaseTag(recipe.name, '*')}`;
  if (!target.ok) {
    unavailable.push(`${what}: not read, ${target.reason}`);
    return undefined;
  }
  try {
    return { source: `${what} in ${target.gh.full}`, versions: await taggedVersions(target.gh, recipe.name) };
  } catch (error) {
    unavailable.push(`${what}: not read (${(error as Error).message})`);
    return undefined;
  }
}

function stateText(history: History): string {
  const b = history.bucket;
  const first = 'the next publish, prune or revoke starts it';
  if (b.kind === 'absent') return `no signed state yet (a bucket from before signed states: ${first})`;
  if (b.kind === 'invalid') return `${stateKey({ name: history.name })} is not a state a trusted key signed`;
  const how = b.kind === 'valid' ? 'signature valid' : 'unchecked: no trusted key known here';
  return `state #${b.value.sequence} (${how}), ${b.value.versions.length} versions, ${b.value.removed.length} removed`;
}

/**
 * Reads the history and judges it against the versions SHA256SUMS lists. Unless `remember` is false (a dry run), a
 * verified state newer than this workspace's witness becomes the witness.
 */
export async function bucketHistory(
  ctx: Ctx,
  recipe: Recipe,
  store: ObjectStore,
  keys: string[],
  listed: string[],
  opts: { remember: boolean },
): Promise<HistoryReport> {
  const unavailable: string[] = [];
  const tags = await tagWitness(ctx, recipe, unavailable);
  const localFile = localWitnessFile(witnessDir(ctx.root, recipe), store);
  const witnesses = await gatherWitnesses({ recipe, keys, localFile, env: ctx.env, log: logger(ctx), tags });
  witnesses.unavailable.push(...unavailable);
  const history = await readHistory({ store, recipe, keys, witnesses });
  const verdict = historyVerdict(history, listed);
  if (opts.remember && history.bucket.kind === 'valid')
    await rememberState(localFile, { state: history.bucket.value, object: history.bucket.object }, recipe);
  return {
    ok: verdict.problems.length === 0,
    state: stateText(history),
    problems: verdict.problems,
    repairVersion: verdict.repairVersion,
    removed: [...history.removed.keys()],
    expected: [...(history.last?.state.versions ?? []), ...taggedButMissing(history, listed)],
    witnesses: [
      ...witnesses.states.map((w) => `${w.source}: state #${w.state.sequence}${w.checked ? '' : ' (unchecked)'}`),
      ...(tags ? [`${tags.source}: ${tags.versions.length} tagged`] : []),
      ...witnesses.unavailable,
    ].map((line) => line.replace(`${ctx.root}${path.sep}`, '')),
  };
}
