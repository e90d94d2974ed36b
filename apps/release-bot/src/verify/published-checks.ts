// The checks that need only the bucket and the trusted key: the signed manifest, each image against it, its .sha256 and
// .asc, and the signed provenance. Each returns rows; nothing read from the bucket is believed before it is checked.
import { parseChecksumLine, parseImageName, sha256Bytes } from '@alloy-sysext/common';
import { Manifest } from '@alloy-sysext/manifest';
import { StoreError, type ObjectStore } from '@alloy-sysext/r2';
import { verifyDetached } from '@alloy-sysext/signing';
import {
  MANIFEST,
  MANIFEST_SIGNATURE,
  parseStatement,
  provenanceFile,
  versionImages,
  type Recipe,
  type Statement,
} from '@alloy-sysext/pipeline';
import { fail, ok, type Check } from './check.js';
import type { TrustedKey } from './trusted-key.js';

/** An object's bytes (none when absent), or why the store refuses to read it (a symlink in the local bucket). */
async function fetchObject(store: ObjectStore, key: string): Promise<{ body?: Buffer; refused?: string }> {
  try {
    return { body: (await store.get(key))?.body };
  } catch (error) {
    if (error instanceof StoreError && error.kind === 'refused-object') return { refused: `cannot be read: ${error.message}` };
    throw error;
  }
}

async function signatureProblem(
  data: Uint8Array,
  signature: { body?: Buffer; refused?: string },
  key: TrustedKey,
): Promise<string | undefined> {
  if (signature.refused) return signature.refused;
  if (!signature.body) return 'missing';
  try {
    await verifyDetached({ data, signature: signature.body.toString('utf8'), publicKey: key.armored });
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^verify [^:]+: /, '');
  }
}

/** SHA256SUMS.gpg verifies SHA256SUMS; SHA256SUMS lists exactly the recipe's images for this version. Returns its entries. */
export async function checkManifest(opts: { store: ObjectStore; recipe: Recipe; version: string; key: TrustedKey }) {
  const { store, recipe, version, key } = opts;
  const rows: Check[] = [];
  const [manifest, signature] = await Promise.all([fetchObject(store, MANIFEST), fetchObject(store, MANIFEST_SIGNATURE)]);
  if (!manifest.body) {
    return { rows: [fail(MANIFEST, manifest.refused ?? `not in ${store.describe()}`)], entries: new Map<string, string>() };
  }
  const problem = await signatureProblem(manifest.body, signature, key);
  rows.push(
    problem
      ? fail(MANIFEST_SIGNATURE, `does not verify ${MANIFEST} with ${key.fingerprint}: ${problem}`)
      : ok(MANIFEST_SIGNATURE, `verifies ${MANIFEST} with ${key.fingerprint}`),
  );
  let parsed: Manifest;
  try {
    parsed = Manifest.parse(manifest.body.toString('utf8'));
  } catch (error) {
    rows.push(fail(MANIFEST, `malformed: ${(error as Error).message}`));
    return { rows, entries: new Map<string, string>() };
  }
  const expected = versionImages(recipe, version, '.').map((i) => i.file);
  const listed = parsed.entries.filter((e) => {
    const name = parseImageName(e.file);
    return name?.name === recipe.name && name.version.replace(/^v/, '') === version;
  });
  const missing = expected.filter((f) => !listed.some((e) => e.file === f));
  const extra = listed.filter((e) => !expected.includes(e.file)).map((e) => e.file);
  const duplicated = expected.filter((f) => listed.filter((e) => e.file === f).length > 1);
  if (missing.length || extra.length || duplicated.length) {
    const parts = [
      missing.length && `missing ${missing.join(', ')}`,
      extra.length && `unexpected ${extra.join(', ')}`,
      duplicated.length && `listed twice ${duplicated.join(', ')}`,
    ];
    rows.push(fail(`${MANIFEST} lists ${version}`, parts.filter(Boolean).join('; ')));
  } else {
    rows.push(ok(`${MANIFEST} lists ${version}`, expected.join(', ')));
  }
  return { rows, entries: new Map(listed.map((e) => [e.file, e.sha256] as const)) };
}

/** Each image's bytes against SHA256SUMS, its `.sha256` line and its `.asc`. Returns the sha256 of the bytes found. */
export async function checkImages(opts: {
  store: ObjectStore;
  recipe: Recipe;
  version: string;
  key: TrustedKey;
  entries: Map<string, string>;
}) {
  const rows: Check[] = [];
  const actual = new Map<string, string>();
  for (const { file } of versionImages(opts.recipe, opts.version, '.')) {
    const image = await fetchObject(opts.store, file);
    if (!image.body) {
      rows.push(fail(file, image.refused ?? `not in ${opts.store.describe()}`));
      continue;
    }
    const hash = sha256Bytes(image.body);
    actual.set(file, hash);
    const listed = opts.entries.get(file);
    rows.push(
      listed === hash
        ? ok(`${file} = ${MANIFEST}`, `sha256 ${hash}`)
        : fail(`${file} = ${MANIFEST}`, `bytes have sha256 ${hash}, ${MANIFEST} lists ${listed ?? 'nothing'}`),
    );
    const checksumFile = await fetchObject(opts.store, `${file}.sha256`);
    const line = checksumFile.body?.toString('utf8');
    const recorded = line === undefined ? undefined : checksumOf(line, file);
    rows.push(
      line === undefined
        ? fail(`${file}.sha256`, checksumFile.refused ?? 'missing')
        : recorded === hash
          ? ok(`${file}.sha256`, 'matches the bytes')
          : fail(`${file}.sha256`, `says ${JSON.stringify(line.trim().slice(0, 120))}, the bytes have sha256 ${hash}`),
    );
    const problem = await signatureProblem(image.body, await fetchObject(opts.store, `${file}.asc`), opts.key);
    rows.push(problem ? fail(`${file}.asc`, problem) : ok(`${file}.asc`, `verifies with ${opts.key.fingerprint}`));
  }
  return { rows, actual };
}

/** The provenance's signature, and its subjects against SHA256SUMS and the bytes. Returns the statement when it verified. */
export async function checkProvenance(opts: {
  store: ObjectStore;
  recipe: Recipe;
  version: string;
  key: TrustedKey;
  entries: Map<string, string>;
  actual: Map<string, string>;
}) {
  const name = provenanceFile(opts.recipe, opts.version);
  const rows: Check[] = [];
  const object = await fetchObject(opts.store, name);
  if (!object.body) return { rows: [fail(name, object.refused ?? `not in ${opts.store.describe()}`)] };
  const problem = await signatureProblem(object.body, await fetchObject(opts.store, `${name}.asc`), opts.key);
  if (problem) return { rows: [fail(`${name}.asc`, problem)] };
  rows.push(ok(`${name}.asc`, `verifies with ${opts.key.fingerprint}`));
  let statement: Statement;
  try {
    statement = parseStatement(object.body.toString('utf8'));
  } catch (error) {
    return { rows: [...rows, fail(name, (error as Error).message)] };
  }
  const subjects = new Map(statement.subject.map((s) => [s.name, s.digest.sha256] as const));
  const problems: string[] = [];
  for (const [file, listed] of opts.entries) {
    const subject = subjects.get(file);
    if (subject !== listed) problems.push(`${file}: subject ${subject ?? 'missing'}, ${MANIFEST} ${listed}`);
    const bytes = opts.actual.get(file);
    if (bytes && subject !== bytes) problems.push(`${file}: subject ${subject ?? 'missing'}, bytes ${bytes}`);
  }
  for (const file of subjects.keys()) if (!opts.entries.has(file)) problems.push(`${file}: a subject ${MANIFEST} does not list`);
  if (statement.predicate.buildDefinition.externalParameters.version !== opts.version) {
    problems.push(`externalParameters.version is ${statement.predicate.buildDefinition.externalParameters.version}`);
  }
  rows.push(
    problems.length
      ? fail(`${name} subjects`, problems.join('; '))
      : ok(`${name} subjects`, `${subjects.size} images, identical to ${MANIFEST}`),
  );
  return { rows, statement: problems.length ? undefined : statement };
}

/** The sha256 a checksum file records for `file`, or undefined when it is not one sha256sum line naming it. */
function checksumOf(text: string, file: string): string | undefined {
  try {
    return parseChecksumLine(text, file, `${file}.sha256`);
  } catch {
    return undefined;
  }
}
