// Publish's provenance objects: assemble and sign this version's statement, or keep the bucket's when it says the same.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStore, PublishObject } from '@alloy-sysext/r2';
import { signBytes, verifyDetached } from '@alloy-sysext/signing';
import { sha256File } from '@alloy-sysext/common';
import { imageParameters, toolVersions } from '@alloy-sysext/sysext-image';
import { versionImages } from './artifacts.js';
import type { BlobStore } from './blobs.js';
import type { versionLayout } from './layout.js';
import {
  buildStatement,
  deterministicPart,
  parseStatement,
  provenanceFile,
  runDetailsFromEnv,
  serializeStatement,
  STATEMENT_MEDIA_TYPE,
  type ProvenanceInputs,
} from './provenance.js';
import type { Recipe } from './recipe.js';
import type { PublishTarget } from './publish.js';
import { rootedZips, type UpstreamTrustOptions } from './upstream-trust.js';

/**
 * Everything a statement is made of except run details, read from the verified artifacts and the fetch record checked
 * against this run's digest roots (rootedZips: the record may be a cache restore).
 */
export async function provenanceInputs(opts: {
  recipe: Recipe;
  version: string;
  layout: ReturnType<typeof versionLayout>;
  entries: { file: string; sha256: string }[];
  /** Workspace root: recipe paths are recorded relative to it. */
  root: string;
  /** The run's environment and options: where this run's digest roots come from (upstream-trust.ts digestRoots). */
  env: NodeJS.ProcessEnv;
  upstream?: UpstreamTrustOptions;
  blobs?: BlobStore;
  log?: (line: string) => void;
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
      unit: { path: relative(recipe.tree.unit.source), sha256: await sha256File(recipe.tree.unit.source) },
    },
    image: params[0]!,
    zips: await rootedZips({ recipe, version, layout, env: opts.env, log: opts.log ?? (() => {}), blobs: opts.blobs }, opts.upstream ?? {}),
    tools: await toolVersions(),
  };
}

/**
 * Writes `<name>-<version>.intoto.json` and its `.asc` under publish/ and returns them as objects to upload. When the
 * bucket already holds a validly signed statement for this version that differs only in run details, its bytes are kept,
 * so a rerun uploads nothing.
 */
export async function provenanceObjects(
  opts: PublishTarget & {
    entries: { file: string; sha256: string }[];
    root: string;
    env: NodeJS.ProcessEnv;
    upstream?: UpstreamTrustOptions;
  },
): Promise<PublishObject[]> {
  const startedOn = new Date();
  const name = provenanceFile(opts.recipe, opts.version);
  const statement = buildStatement(await provenanceInputs(opts), runDetailsFromEnv(opts.env, { startedOn, finishedOn: new Date() }));
  let text = serializeStatement(statement);
  let signature: string | undefined;
  const published = await publishedStatement(opts.store, name, opts.publicKey);
  if (published && deterministicPart(published.statement) === deterministicPart(statement)) {
    ({ text, signature } = published);
    opts.log(`${name}: the bucket's provenance already states this build; kept`);
  } else {
    signature = await signBytes(Buffer.from(text), opts.key);
    opts.log(`${name}: provenance for ${statement.subject.length} images signed by ${opts.key.fingerprint}`);
  }
  await mkdir(opts.layout.publish, { recursive: true });
  const file = path.join(opts.layout.publish, name);
  await writeFile(file, text);
  await writeFile(`${file}.asc`, signature);
  return [
    { key: name, path: file, contentType: STATEMENT_MEDIA_TYPE, cacheControl: 'no-cache' },
    { key: `${name}.asc`, path: `${file}.asc`, contentType: 'application/pgp-signature', cacheControl: 'no-cache' },
  ];
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
