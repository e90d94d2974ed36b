// SLSA provenance v1 for one published version: an in-toto Statement whose subjects are the version's images, built
// here, in one place, from what this run checked: the images publish verified, the recipe and unit as they are now, and
// each upstream asset re-checked against its digest root now (never a record a cache restored). Signed, or the
// bucket's statement kept when it says the same. The build type is documented in docs/build-type.md; everything but
// runDetails is a function of the build's inputs.
import path from 'node:path';
import { sha256File } from '@alloy-sysext/common';
import { Manifest } from '@alloy-sysext/manifest';
import type { ObjectStore } from '@alloy-sysext/r2';
import { signBytes, verifyDetached, type SigningKey } from '@alloy-sysext/signing';
import {
  imageParameters,
  toolVersions,
  type AssetKind,
  type Compressor,
  type ImageFormat,
  type ToolVersions,
} from '@alloy-sysext/sysext-image';
import { versionImages } from './artifacts.js';
import type { DigestRoot, DigestSource } from './digest-roots.js';
import type { versionLayout } from './layout.js';
import type { PublishTarget } from './publish-target.js';
import type { Recipe } from './recipe.js';
import type { VerifiedAsset } from './upstream-trust.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://slsa.dev/provenance/v1';
/** Where the build type is documented (docs/build-type.md in this repository). */
export const BUILD_TYPE = 'https://github.com/noahwhite/alloy-sysext/blob/main/docs/build-type.md#v1';
/** `runDetails.builder.id` outside GitHub Actions. */
export const LOCAL_BUILDER = 'local';
/** Media type of an in-toto statement (in-toto attestation spec). */
export const STATEMENT_MEDIA_TYPE = 'application/vnd.in-toto+json';

/** Object name of a version's provenance; its detached signature is `<name>.asc`. */
export function provenanceFile(recipe: Pick<Recipe, 'name'>, version: string): string {
  return `${recipe.name}-${version}.intoto.json`;
}

export interface Subject {
  name: string;
  digest: { sha256: string };
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: typeof PREDICATE_TYPE;
  predicate: {
    buildDefinition: {
      buildType: string;
      externalParameters: {
        version: string;
        recipe: { path: string; sha256: string; unit?: { path: string; sha256: string } };
        format: ImageFormat;
        compressor?: Compressor;
      };
      internalParameters: { tools: ToolVersions };
      resolvedDependencies: ResolvedDependency[];
    };
    runDetails: RunDetails;
  };
}

/** One upstream asset the images were built from. */
export interface ResolvedDependency {
  uri: string;
  name: string;
  digest: { sha256: string };
  annotations: { arch: string; kind: AssetKind; entry?: string; digestSource: DigestSource; pinned: boolean };
}

export interface RunDetails {
  builder: { id: string };
  metadata: { invocationId?: string; startedOn: string; finishedOn: string };
}

export interface ProvenanceInputs {
  version: string;
  /** This version's SHA256SUMS entries (image file and sha256). */
  entries: { file: string; sha256: string }[];
  /** Paths relative to the workspace root, POSIX separators. */
  recipe: { path: string; sha256: string; unit?: { path: string; sha256: string } };
  image: { format: ImageFormat; compressor?: Compressor };
  /** Each upstream asset as its digest root vouches for it now, with the sha256 of the bytes checked. */
  upstream: { root: DigestRoot; sha256: string }[];
  tools: ToolVersions;
}

/** The dependency an asset is, from its root: where it comes from, what it is, its sha256 and who vouched for it. */
export function resolvedDependency(root: DigestRoot, sha256: string): ResolvedDependency {
  const { asset } = root;
  return {
    uri: root.uri,
    name: asset.name,
    digest: { sha256 },
    annotations: {
      arch: asset.arch,
      kind: asset.kind,
      ...(asset.entry ? { entry: asset.entry } : {}),
      digestSource: root.source,
      pinned: root.pinned,
    },
  };
}

/** The statement; subjects in SHA256SUMS order, so they are the same list as this version's manifest lines. */
export function buildStatement(inputs: ProvenanceInputs, runDetails: RunDetails): Statement {
  const subject = Manifest.empty()
    .upsert(inputs.entries)
    .entries.map((e) => ({ name: e.file, digest: { sha256: e.sha256 } }));
  return {
    _type: STATEMENT_TYPE,
    subject,
    predicateType: PREDICATE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          version: inputs.version,
          recipe: inputs.recipe,
          format: inputs.image.format,
          ...(inputs.image.format === 'squashfs' && inputs.image.compressor ? { compressor: inputs.image.compressor } : {}),
        },
        internalParameters: { tools: inputs.tools },
        resolvedDependencies: [...inputs.upstream]
          .sort((a, b) => a.root.asset.arch.localeCompare(b.root.asset.arch))
          .map((u) => resolvedDependency(u.root, u.sha256)),
      },
      runDetails,
    },
  };
}

/**
 * Who ran the build: in GitHub Actions the workflow (`GITHUB_WORKFLOW_REF`, e.g. owner/repo/.github/workflows/release.yml@refs/heads/main)
 * and the run's URL, otherwise `local` and no invocation id (a host name would leak into a public file).
 */
export function runDetailsFromEnv(env: NodeJS.ProcessEnv, times: { startedOn: Date; finishedOn: Date }): RunDetails {
  const metadata = { startedOn: times.startedOn.toISOString(), finishedOn: times.finishedOn.toISOString() };
  if (env.GITHUB_ACTIONS !== 'true' || !env.GITHUB_WORKFLOW_REF) return { builder: { id: LOCAL_BUILDER }, metadata };
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const run =
    env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}/attempts/${env.GITHUB_RUN_ATTEMPT || '1'}`
      : undefined;
  return { builder: { id: `${server}/${env.GITHUB_WORKFLOW_REF}` }, metadata: { ...(run ? { invocationId: run } : {}), ...metadata } };
}

/** The bytes published: two-space JSON with a final newline (key order is fixed by buildStatement). */
export function serializeStatement(statement: Statement): string {
  return `${JSON.stringify(statement, null, 2)}\n`;
}

/** Everything but runDetails: equal for two builds of the same inputs. */
export function deterministicPart(statement: Statement): string {
  const { runDetails: _, ...rest } = statement.predicate;
  return JSON.stringify({ ...statement, predicate: rest });
}

/** Parses a statement read from the bucket; checks the envelope and subjects, which verify compares against. */
export function parseStatement(text: string): Statement {
  let value: Statement;
  try {
    value = JSON.parse(text) as Statement;
  } catch (error) {
    throw new Error(`provenance is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (value?._type !== STATEMENT_TYPE) throw new Error(`provenance _type is ${JSON.stringify(value?._type)}, expected ${STATEMENT_TYPE}`);
  if (value.predicateType !== PREDICATE_TYPE) {
    throw new Error(`provenance predicateType is ${JSON.stringify(value.predicateType)}, expected ${PREDICATE_TYPE}`);
  }
  if (
    !Array.isArray(value.subject) ||
    value.subject.some((s) => typeof s?.name !== 'string' || !/^[0-9a-f]{64}$/.test(s?.digest?.sha256 ?? ''))
  ) {
    throw new Error('provenance subject must be a list of {name, digest: {sha256: <64 hex>}}');
  }
  if (typeof value.predicate?.buildDefinition?.externalParameters !== 'object') {
    throw new Error('provenance has no predicate.buildDefinition.externalParameters');
  }
  return value;
}

/** Everything a statement is made of except run details: the verified images and upstream assets, the recipe as it is. */
export async function provenanceInputs(opts: {
  recipe: Recipe;
  version: string;
  layout: ReturnType<typeof versionLayout>;
  entries: { file: string; sha256: string }[];
  /** The upstream assets verifyAssets re-checked against their digest roots in this run. */
  upstream: VerifiedAsset[];
  /** Workspace root: recipe paths are recorded relative to it. */
  root: string;
}): Promise<ProvenanceInputs> {
  const { recipe, version, layout } = opts;
  const images = versionImages(recipe, version, layout.images);
  const params = await Promise.all(images.map((i) => imageParameters(i.path)));
  const differing = params.find((p) => p.format !== params[0]!.format || p.compressor !== params[0]!.compressor);
  if (differing) {
    throw new Error(
      `the images of ${version} were built differently (${params.map((p, i) => `${images[i]!.file}: ${p.format} ${p.compressor ?? ''}`).join(', ')}): rebuild them with one format`,
    );
  }
  const relative = (file: string) => path.relative(opts.root, file).split(path.sep).join('/');
  return {
    version,
    entries: opts.entries,
    recipe: {
      path: relative(recipe.file),
      sha256: await sha256File(recipe.file),
      ...(recipe.tree.unit ? { unit: { path: relative(recipe.tree.unit.source), sha256: await sha256File(recipe.tree.unit.source) } } : {}),
    },
    image: params[0]!,
    upstream: opts.upstream.map((a) => ({ root: a.root, sha256: a.sha256 })),
    tools: await toolVersions(),
  };
}

/**
 * This version's statement (`<name>-<version>.intoto.json`) and its signature, as the seal carries them. When the bucket
 * already holds a validly signed statement for this version that differs only in run details, its bytes are kept, so a
 * rerun uploads nothing.
 */
export async function signedProvenance(
  opts: Pick<PublishTarget, 'recipe' | 'version' | 'layout' | 'store' | 'publicKey' | 'log'> & {
    key: SigningKey;
    entries: { file: string; sha256: string }[];
    upstream: VerifiedAsset[];
    root: string;
    env: NodeJS.ProcessEnv;
  },
): Promise<{ name: string; text: string; signature: string }> {
  const startedOn = new Date();
  const name = provenanceFile(opts.recipe, opts.version);
  const statement = buildStatement(await provenanceInputs(opts), runDetailsFromEnv(opts.env, { startedOn, finishedOn: new Date() }));
  const published = await publishedStatement(opts.store, name, opts.publicKey);
  if (published && deterministicPart(published.statement) === deterministicPart(statement)) {
    opts.log(`${name}: the bucket's provenance already states this build; kept`);
    return { name, text: published.text, signature: published.signature };
  }
  const text = serializeStatement(statement);
  opts.log(`${name}: provenance for ${statement.subject.length} images signed by ${opts.key.fingerprint}`);
  return { name, text, signature: await signBytes(Buffer.from(text), opts.key) };
}

/** The bucket's statement for this version when it parses and its signature verifies with the release key. */
async function publishedStatement(store: ObjectStore, name: string, publicKey: string) {
  const [object, asc] = await Promise.all([store.get(name), store.get(`${name}.asc`)]);
  if (!object || !asc) return undefined;
  try {
    await verifyDetached({ data: object.body, signature: asc.body.toString('utf8'), publicKey });
    const text = object.body.toString('utf8');
    return { statement: parseStatement(text), text, signature: asc.body.toString('utf8') };
  } catch {
    return undefined;
  }
}
