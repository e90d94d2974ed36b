// The checks that need only the bucket and the trusted key: the signed manifest, each image against it, its .sha256 and
// .asc, and the signed provenance. Each returns rows; nothing read from the bucket is believed before it is checked.
import { parseChecksumLine, parseImageName, sha256Bytes } from '@alloy-sysext/common';
import { Manifest } from '@alloy-sysext/manifest';
import type { ObjectStore } from '@alloy-sysext/r2';
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

async function signatureProblem(data: Uint8Array, signature: Buffer | undefined, key: TrustedKey): Promise<string | undefined> {
  if (!signature) return 'missing';
  try {
    await verifyDetached({ data, signature: signature.toString('utf8'), publicKey: key.armored });
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^verify [^:]+: /, '');
  }
}

/** SHA256SUMS.gpg verifies SHA256SUMS; SHA256SUMS lists exactly the recipe's images for this version. Returns its entries. */
export async function checkManifest(opts: { store: ObjectStore; recipe: Recipe; version: string; key: TrustedKey }) {
  const { store, recipe, version, key } = opts;
  const rows: Check[] = [];
  const [manifest, signature] = await Promise.all([store.get(MANIFEST), store.get(MANIFEST_SIGNATURE)]);
  if (!manifest) return { rows: [fail(MANIFEST, `not in ${store.describe()}`)], entries: new Map<string, string>() };
  const problem = await signatureProblem(manifest.body, signature?.body, key);
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
    const image = await opts.store.get(file);
    if (!image) {
      rows.push(fail(file, `not in ${opts.store.describe()}`));
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
    const line = (await opts.store.get(`${file}.sha256`))?.body.toString('utf8');
    const recorded = line === undefined ? undefined : checksumOf(line, file);
    rows.push(
      line === undefined
        ? fail(`${file}.sha256`, 'missing')
        : recorded === hash
          ? ok(`${file}.sha256`, 'matches the bytes')
          : fail(`${file}.sha256`, `says ${JSON.stringify(line.trim().slice(0, 120))}, the bytes have sha256 ${hash}`),
    );
    const problem = await signatureProblem(image.body, (await opts.store.get(`${file}.asc`))?.body, opts.key);
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
  const object = await opts.store.get(name);
  if (!object) return { rows: [fail(name, `not in ${opts.store.describe()}`)] };
  const problem = await signatureProblem(object.body, (await opts.store.get(`${name}.asc`))?.body, opts.key);
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
