// Where trust in the upstream bytes comes from: the digest root per arch (live asset digest, SHA256SUMS beside --zipDir
// zips, recipe pin, or nothing with --allowUnverified), the record fetch leaves, and verifyFetched / verifiedEntries,
// which image and sign run before they use dist/<name>/<version>/upstream (a cache restore carries no trust).
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { githubTokenFor, sha256File } from '@alloy-sysext/common';
import { binaryEntrySha256, extractUpstreamBinary, getRelease, type DigestSource } from '@alloy-sysext/sysext-image';
import { restoreMissing } from './blobs.js';
import { FETCH_RECORD, readFetchRecord, readFetchRecordAsIs, type FetchedZip } from './fetch-record.js';
import { receiptEntrySha256, writeEntryReceipt } from './receipts.js';
import type { Arch, Recipe } from './recipe.js';
import type { StepContext } from './step.js';

/** The options every step that touches upstream bytes takes (forwarded along the chain by `params: forward`). */
export interface UpstreamTrustOptions {
  /** Directory holding the release zips (air-gapped runs), with a SHA256SUMS in sha256sum format beside them. */
  zipDir?: string;
  /** Accept zips nothing vouches for (no SHA256SUMS beside them, no pin). Logged loudly, never called verified. */
  allowUnverified?: boolean;
}

/** What one arch's zip must hash to, and who says so. `sha256` is undefined only for `unverified`. */
export interface DigestRoot {
  sha256?: string;
  source: DigestSource;
  /** For messages: "the release's asset digest at https://…", "/zips/SHA256SUMS", … */
  label: string;
  /** Where the zip comes from, as fetch records it (the release's download URL, `file:<asset>` with --zipDir). */
  uri: string;
}

/** The file with the air-gapped digests, beside the zips. */
export const ZIP_DIR_SUMS = 'SHA256SUMS';

export class UpstreamTrustError extends Error {
  override name = 'UpstreamTrustError';
}

/**
 * What a user does when something restored fails its check. A plain rerun restores the same Nx cache entry again
 * (deleting dist/ does not help), so the advice skips the cache; `nx reset` then drops the local entry.
 */
export function recoveryAdvice(version: string): string {
  return (
    `It came from dist/ or an Nx cache entry (local .nx/cache or the remote cache), which a plain rerun restores again. ` +
    `Rebuild from upstream without the cache: rerun your command with --skip-nx-cache, e.g. ` +
    `npx nx run alloy:publish --version=${version} --skip-nx-cache ` +
    `(then npx nx reset drops the local entry; a remote cache entry must be deleted on the cache server).`
  );
}

export function assetName(recipe: Pick<Recipe, 'upstream'>, arch: Arch): string {
  return recipe.upstream.asset.replaceAll('{arch}', arch);
}

export function binaryName(recipe: Pick<Recipe, 'upstream'>, arch: Arch): string {
  return recipe.upstream.binary.replaceAll('{arch}', arch);
}

/**
 * `<hex>  <name>` / `<hex> *<name>` lines of a sha256sum file; a malformed line is an error naming it, and so is a file
 * named twice (by the same base name): no line may silently outweigh another.
 */
export function parseSha256Sums(text: string, file: string): Map<string, string> {
  const sums = new Map<string, string>();
  const lineOf = new Map<string, number>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.replace(/\r$/, ''));
    if (!m) throw new UpstreamTrustError(`${file} line ${i + 1} "${line.slice(0, 100)}" is not a sha256sum line (<64 hex>  <file name>)`);
    const name = path.basename(m[2]!);
    const sha256 = m[1]!.toLowerCase();
    const first = lineOf.get(name);
    if (first !== undefined) {
      throw new UpstreamTrustError(
        `${file} lists ${name} twice: line ${first} (sha256 ${sums.get(name)}) and line ${i + 1} (sha256 ${sha256}); ` +
          'refusing both: keep only the line you checked against the release',
      );
    }
    lineOf.set(name, i + 1);
    sums.set(name, sha256);
  });
  return sums;
}

/**
 * The root each arch's zip is checked against, chosen from this run's options and the recipe — never from anything in
 * dist/ or a cache. Online: the release's asset digest fetched live (and the pin, which must agree). Air-gapped: the pin,
 * else SHA256SUMS beside the zips, else refused unless allowUnverified.
 */
export async function digestRoots(
  ctx: Pick<StepContext, 'recipe' | 'version' | 'env' | 'log'>,
  options: UpstreamTrustOptions,
): Promise<Record<Arch, DigestRoot>> {
  const { recipe, version, env, log } = ctx;
  const pins = recipe.upstream.sha256?.[version] ?? {};
  const roots = {} as Record<Arch, DigestRoot>;
  if (options.zipDir) {
    const sumsFile = path.join(await zipDirectory(options.zipDir), ZIP_DIR_SUMS);
    const text = await readFile(sumsFile, 'utf8').catch(() => undefined);
    const sums = text === undefined ? new Map<string, string>() : parseSha256Sums(text, sumsFile);
    for (const arch of recipe.arches) {
      const asset = assetName(recipe, arch);
      const pin = pins[arch];
      const listed = sums.get(asset);
      const uri = `file:${asset}`;
      if (pin && listed && pin !== listed) {
        throw new UpstreamTrustError(`${sumsFile} lists ${asset} with sha256 ${listed}, but the recipe pins ${pin}: refusing both`);
      }
      if (pin) roots[arch] = { sha256: pin, source: 'recipe-pin', label: `the recipe pin upstream.sha256["${version}"].${arch}`, uri };
      else if (listed) roots[arch] = { sha256: listed, source: 'zip-dir-sha256sums', label: sumsFile, uri };
      else if (options.allowUnverified) roots[arch] = { source: 'unverified', label: 'nothing (--allowUnverified)', uri };
      else {
        throw new UpstreamTrustError(
          `${path.join(path.resolve(options.zipDir), asset)} has no digest to be verified against: put a ${ZIP_DIR_SUMS} in sha256sum ` +
            `format listing ${asset} beside the zips (${sumsFile}), or pin upstream.sha256["${version}"].${arch} in ${recipe.file}, ` +
            `or pass --allowUnverified to build from it anyway (the logs then say UNVERIFIED).`,
        );
      }
    }
    return roots;
  }
  const token = githubTokenFor(recipe.upstream.apiUrl, env.GITHUB_TOKEN, env);
  const release = await getRelease({ apiUrl: recipe.upstream.apiUrl, repo: recipe.upstream.repo, version, token, log });
  for (const arch of recipe.arches) {
    const asset = release.assets.find((a) => a.name === assetName(recipe, arch));
    const digest = asset?.digest ? /^sha256:([0-9a-f]{64})$/.exec(asset.digest)?.[1] : undefined;
    const pin = pins[arch];
    if (digest && pin && digest !== pin) {
      throw new UpstreamTrustError(
        `${assetName(recipe, arch)} of v${version}: the release's digest sha256:${digest} differs from the pinned ${pin}`,
      );
    }
    const uri = asset?.browser_download_url ?? '';
    if (digest) {
      const label = `the release's asset digest at ${recipe.upstream.apiUrl}`;
      roots[arch] = { sha256: digest, source: 'github-asset-digest', label, uri };
    } else if (pin) roots[arch] = { sha256: pin, source: 'recipe-pin', label: `the recipe pin upstream.sha256["${version}"].${arch}`, uri };
    else {
      throw new UpstreamTrustError(
        `${assetName(recipe, arch)} of v${version} has no published sha256 digest at ${recipe.upstream.apiUrl} and no pin: pin upstream.sha256["${version}"].${arch} in ${recipe.file}`,
      );
    }
  }
  return roots;
}

/** The --zipDir directory, resolved; one that does not exist is named as such (not as zips without a digest). */
async function zipDirectory(zipDir: string): Promise<string> {
  const dir = path.resolve(zipDir);
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new UpstreamTrustError(`--zipDir ${zipDir}: the directory ${dir} does not exist`);
  if (!st.isDirectory()) throw new UpstreamTrustError(`--zipDir ${zipDir}: ${dir} is not a directory`);
  return dir;
}

/** The binary in dist/.work that verifyFetched has just proved to be the upstream zip's entry, with its sha256. */
export interface VerifiedBinary {
  path: string;
  sha256: string;
}

/** One arch's zip, proved to be upstream's; `receipted` is its entry's sha256 if this workspace inflated that zip itself. */
interface VerifiedZip {
  arch: Arch;
  zip: string;
  sha256: string;
  root: DigestRoot;
  entry: string;
  receipted?: string;
}

const refusal = (version: string, why: string) =>
  new UpstreamTrustError(`refusing to use the fetched upstream files: ${why}\n${recoveryAdvice(version)}`);

/**
 * Re-establishes trust in the zips under dist/<name>/<version>/upstream (a cache restore carries none): each must hash to
 * its digest root (see digestRoots) and to fetch's record.
 */
async function verifyZips(ctx: StepContext, options: UpstreamTrustOptions): Promise<VerifiedZip[]> {
  const { recipe, version, layout } = ctx;
  const recordFile = path.join(layout.upstream, FETCH_RECORD);
  const record = await readFetchRecordAsIs(layout.upstream).catch((error: Error) => {
    throw refusal(version, `${recordFile} is missing or unreadable (${error.message}); run the fetch target for this version`);
  });
  const roots = await digestRoots(ctx, options);
  const zips: VerifiedZip[] = [];
  for (const arch of recipe.arches) {
    const zip = path.join(layout.upstream, assetName(recipe, arch));
    // fetch's cache entry holds no zip: one named by this run's digest root (else the record) comes from the blob store
    const named = roots[arch].sha256 ?? record.zips?.find?.((z) => z.arch === arch)?.sha256;
    const restored = await restoreMissing(ctx, zip, named);
    const actual = restored
      ? named!
      : await sha256File(zip).catch(() => {
          throw refusal(version, `${zip} is missing`);
        });
    const root = roots[arch];
    if (root.sha256 && actual !== root.sha256) throw refusal(version, `${zip} has sha256 ${actual}, but ${root.label} says ${root.sha256}`);
    if (record.version !== version || !Array.isArray(record.zips) || record.zips.find((z) => z.arch === arch)?.sha256 !== actual) {
      throw refusal(version, `${recordFile} does not record ${zip} with sha256 ${actual} for ${version}`);
    }
    const entry = binaryName(recipe, arch);
    zips.push({ arch, zip, sha256: actual, root, entry, receipted: await receiptEntrySha256(layout.receipts, arch, actual, entry) });
  }
  return zips;
}

function logVerified(ctx: StepContext, z: VerifiedZip, what: string): void {
  ctx.log(
    z.root.sha256
      ? `${z.arch}: re-checked ${path.basename(z.zip)} (sha256 ${z.sha256}) against ${z.root.label}; ${what}`
      : `${z.arch}: UNVERIFIED: ${path.basename(z.zip)} (sha256 ${z.sha256}) is checked against nothing (--allowUnverified); ${what}`,
  );
}

/**
 * The sha256 of each arch's binary as upstream's zip holds it, without reading the binary: the zips are verified
 * (verifyZips), the entry's sha256 comes from this workspace's receipt for exactly that zip, else the entry is inflated
 * into a hash here. What sign needs to match a build receipt.
 */
export async function verifiedEntries(ctx: StepContext, options: UpstreamTrustOptions = {}): Promise<Record<Arch, { sha256: string }>> {
  const entries = {} as Record<Arch, { sha256: string }>;
  for (const z of await verifyZips(ctx, options)) {
    const sha256 = await entrySha256(ctx, z);
    logVerified(ctx, z, `${z.entry} in it has sha256 ${sha256} (${z.receipted ? "this workspace's fetch receipt" : 'inflated here'})`);
    entries[z.arch] = { sha256 };
  }
  return entries;
}

/** The sha256 of a verified zip's entry: from this workspace's receipt for that zip, else inflated into a hash and receipted. */
async function entrySha256(ctx: StepContext, z: VerifiedZip): Promise<string> {
  if (z.receipted) return z.receipted;
  const sha256 = await binaryEntrySha256({ zip: z.zip, binary: z.entry, maxBytes: ctx.recipe.upstream.maxBinaryBytes });
  await writeEntryReceipt(ctx.layout.receipts, z.arch, { zipSha256: z.sha256, entry: z.entry, entrySha256: sha256 });
  return sha256;
}

/**
 * Re-establishes trust in the fetched upstream files before a binary goes into an image: the zips are verified
 * (verifyZips), and each binary in dist/.work must be byte for byte the zip's entry: its sha256 comes from this
 * workspace's receipt for that very zip, or the entry is inflated and hashed again here. A missing binary (a fresh clone
 * restored fetch's zip from a cache; binaries are no output) is inflated from the verified zip. Returns the verified
 * binary per arch with its sha256. Anything else is refused with the file and a recovery that works.
 */
export async function verifyFetched(ctx: StepContext, options: UpstreamTrustOptions = {}): Promise<Record<Arch, VerifiedBinary>> {
  const { recipe, version, layout } = ctx;
  const binaries = {} as Record<Arch, VerifiedBinary>;
  for (const z of await verifyZips(ctx, options)) {
    const binary = path.join(layout.binaries, z.arch, z.entry);
    const maxBytes = recipe.upstream.maxBinaryBytes;
    const onDisk = await sha256File(binary).catch(() => undefined);
    if (onDisk === undefined) {
      const { sha256 } = await extractUpstreamBinary({ zip: z.zip, binary: z.entry, dest: binary, arch: z.arch, maxBytes });
      if (z.receipted && z.receipted !== sha256) {
        throw refusal(version, `${z.zip} holds ${z.entry} with sha256 ${sha256}, but this workspace's receipt records ${z.receipted}`);
      }
      if (!z.receipted) await writeEntryReceipt(layout.receipts, z.arch, { zipSha256: z.sha256, entry: z.entry, entrySha256: sha256 });
      logVerified(ctx, z, `${z.entry} inflated from it to ${path.relative(ctx.root, binary)} (binaries are no cached output)`);
      binaries[z.arch] = { path: binary, sha256 };
      continue;
    }
    // The entry's sha256: from this workspace's receipt for exactly this zip (it inflated it), else inflated again here.
    const want = await entrySha256(ctx, z);
    if (want !== onDisk) throw refusal(version, `${binary} (sha256 ${onDisk}) is not the ${z.entry} that ${z.zip} holds (sha256 ${want})`);
    const how = z.receipted ? `its entry's sha256 from this workspace's fetch receipt` : 'inflated again here';
    logVerified(ctx, z, `${path.basename(binary)} is its entry byte for byte (${how})`);
    binaries[z.arch] = { path: binary, sha256: onDisk };
  }
  return binaries;
}

/**
 * What a signed statement may say about this version's upstream zips: fetch's record (dist/ may be a cache restore)
 * checked against this run's digest roots, its sha256, source and URI taken from those roots. No zip's bytes are needed,
 * so none is read or restored. Only for an arch nothing vouches for (--allowUnverified) is the record believed where the
 * zip beside it, or the blob it names, hashes to it; it stays `unverified`.
 */
export async function rootedZips(
  ctx: Pick<StepContext, 'recipe' | 'version' | 'layout' | 'env' | 'log' | 'blobs'>,
  options: UpstreamTrustOptions,
): Promise<FetchedZip[]> {
  const { recipe, version, layout } = ctx;
  const recordFile = path.join(layout.upstream, FETCH_RECORD);
  const roots = await digestRoots(ctx, options);
  const record = await readFetchRecordAsIs(layout.upstream).catch((error: Error) => {
    throw refusal(version, `${recordFile} is missing or unreadable (${error.message}); run the fetch target for this version`);
  });
  const unverified = recipe.arches.some((arch) => !roots[arch].sha256)
    ? await readFetchRecord(layout.upstream, version, recipe.arches, ctx)
    : undefined;
  const pins = recipe.upstream.sha256?.[version] ?? {};
  return [...recipe.arches]
    .sort((a, b) => a.localeCompare(b))
    .map((arch) => {
      const root = roots[arch];
      if (!root.sha256) return unverified!.zips.find((z) => z.arch === arch)!;
      const recorded = record.version === version && Array.isArray(record.zips) ? record.zips.find((z) => z.arch === arch) : undefined;
      if (recorded?.sha256 !== root.sha256) {
        throw refusal(
          version,
          `${recordFile} does not record ${assetName(recipe, arch)} with sha256 ${root.sha256} (${root.label}) for ${version}`,
        );
      }
      const name = assetName(recipe, arch);
      return { arch, name, uri: root.uri, sha256: root.sha256, digestSource: root.source, pinned: pins[arch] !== undefined };
    });
}
