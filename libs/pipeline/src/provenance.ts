// SLSA provenance v1 for one published version: an in-toto Statement whose subjects are the version's images.
// The build type is documented in docs/build-type.md; everything but runDetails is a function of the build's inputs.
import { Manifest } from '@alloy-sysext/manifest';
import type { Compressor, ImageFormat, ToolVersions } from '@alloy-sysext/sysext-image';
import type { FetchedZip } from './fetch-record.js';
import type { Recipe } from './recipe.js';

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
        recipe: { path: string; sha256: string; unit: { path: string; sha256: string } };
        format: ImageFormat;
        compressor?: Compressor;
      };
      internalParameters: { tools: ToolVersions };
      resolvedDependencies: Array<{
        uri: string;
        name: string;
        digest: { sha256: string };
        annotations: { arch: string; digestSource: FetchedZip['digestSource']; pinned: boolean };
      }>;
    };
    runDetails: RunDetails;
  };
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
  recipe: { path: string; sha256: string; unit: { path: string; sha256: string } };
  image: { format: ImageFormat; compressor?: Compressor };
  zips: FetchedZip[];
  tools: ToolVersions;
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
        resolvedDependencies: inputs.zips.map((z) => ({
          uri: z.uri,
          name: z.name,
          digest: { sha256: z.sha256 },
          annotations: { arch: z.arch, digestSource: z.digestSource, pinned: z.pinned },
        })),
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
