// Witnesses of the version state outside the bucket: a bucket writer who puts back an older state together with an
// older SHA256SUMS leaves the bucket consistent, and only a record kept elsewhere shows it. This workspace's last state
// (dist/.witness, outside every Nx output and cache, like dist/.receipts), the mirror repository's copy (its git
// history is append-only for anyone without push access to it), and the release tags (read by release-bot).
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Bytes, writeFileAtomic } from '@alloy-sysext/common';
import type { ObjectStore } from '@alloy-sysext/r2';
import { consumerAuth, githubApiUrl } from './consumers.js';
import { readMirrorFile } from './mirror.js';
import type { Recipe } from './recipe.js';
import { parseState, readSigned, stateKey, type VersionState } from './version-state.js';

type Named = Pick<Recipe, 'name'>;

/** A state some witness recorded; `checked` when a trusted key's signature over it was verified here. */
export interface WitnessedState {
  source: string;
  state: VersionState;
  object: string;
  checked: boolean;
}

export interface Witnesses {
  states: WitnessedState[];
  /** Versions with a release tag `<name>-v<version>` (release-bot creates one per released version). */
  tags?: { source: string; versions: string[] };
  /** Witnesses there are but could not be read here, and why. */
  unavailable: string[];
}

/** dist/.witness/<name>/<sha256 of the store's description>.asc: one file per bucket this workspace used. */
export function localWitnessFile(witnessDir: string, store: ObjectStore): string {
  return path.join(witnessDir, `${sha256Bytes(store.describe()).slice(0, 16)}.asc`);
}

async function witnessed(
  source: string,
  object: string | undefined,
  recipe: Named,
  keys: string[],
  unavailable: string[],
): Promise<WitnessedState | undefined> {
  if (object === undefined) return undefined;
  const read = await readSigned(object, '', keys, (text) => parseState(text, recipe.name));
  if (read.kind === 'invalid') {
    unavailable.push(`${source}: ignored, ${read.why}`);
    return undefined;
  }
  return { source, state: read.value, object, checked: read.kind === 'valid' };
}

/** The last state this workspace signed or saw for `store`. */
export async function readLocalWitness(
  file: string,
  recipe: Named,
  keys: string[],
  unavailable: string[],
): Promise<WitnessedState | undefined> {
  const object = await readFile(file, 'utf8').catch(() => undefined);
  return witnessed(`this workspace's last state (${file})`, object, recipe, keys, unavailable);
}

/** Keeps `object` as this workspace's witness unless the witness already holds a state at least as new. */
export async function rememberState(file: string, seen: { state: VersionState; object: string }, recipe: Named): Promise<void> {
  const kept = await readLocalWitness(file, recipe, [], []);
  if (kept && kept.state.sequence >= seen.state.sequence) return;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, seen.object);
}

/** The state committed to the recipe's mirror repository (head of its branch), when one is configured and readable. */
export async function readMirrorWitness(
  recipe: Pick<Recipe, 'name' | 'mirror'>,
  keys: string[],
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  unavailable: string[],
): Promise<WitnessedState | undefined> {
  const mirror = recipe.mirror;
  if (!mirror) return undefined;
  const where = `mirror ${mirror.repo}@${mirror.branch}`;
  const auth = consumerAuth(mirror.auth, env);
  if (!auth.app && !auth.token) {
    unavailable.push(`${where}: not read, no GitHub credentials (the variables in recipe.mirror.auth, or ALLOY_GITHUB_TOKEN)`);
    return undefined;
  }
  const file = path.posix.join(mirror.path, stateKey(recipe));
  try {
    const { repo, branch } = mirror;
    const bytes = await readMirrorFile({ repo, branch, path: file, auth, githubUrl: githubApiUrl(env), log });
    return witnessed(`${where} (${file})`, bytes?.toString('utf8'), recipe, keys, unavailable);
  } catch (error) {
    unavailable.push(`${where}: not read (${(error as Error).message})`);
    return undefined;
  }
}

/** Every witness this run can read: this workspace's file, the mirror, and the release tags the caller read. */
export async function gatherWitnesses(opts: {
  recipe: Pick<Recipe, 'name' | 'mirror'>;
  keys: string[];
  localFile?: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  tags?: Witnesses['tags'];
}): Promise<Witnesses> {
  const unavailable: string[] = [];
  const { recipe, keys, localFile } = opts;
  const local = localFile ? await readLocalWitness(localFile, recipe, keys, unavailable) : undefined;
  const mirror = await readMirrorWitness(recipe, keys, opts.env, opts.log, unavailable);
  return { states: [local, mirror].filter((w): w is WitnessedState => w !== undefined), tags: opts.tags, unavailable };
}
