// Re-establishing trust in dist/<name>/<version>/upstream before its bytes are used (image, sign and publish run this;
// a cache restore carries no trust): each asset must hash to its digest root (digest-roots.ts), checked in this run,
// and each binary in dist/.work must be that asset's binary byte for byte.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseChecksumLine, sha256File, type Arch } from '@alloy-sysext/common';
import { binaryFileName, extractUpstreamBinary, upstreamBinarySha256 } from '@alloy-sysext/sysext-image';
import { digestRoots, UpstreamTrustError, type DigestRoot, type UpstreamTrustOptions } from './digest-roots.js';
import { restoreMissing } from './blobs.js';
import { receiptEntrySha256, writeEntryReceipt } from './receipts.js';
import type { StepContext } from './step.js';

/**
 * What a user does when something restored fails its check. A plain rerun restores the same Nx cache entry again
 * (deleting dist/ does not help), so the advice skips the cache; `nx reset` then drops the local entry.
 */
export function recoveryAdvice(name: string, version: string): string {
  return (
    `It came from dist/ or an Nx cache entry (local .nx/cache or the remote cache), which a plain rerun restores again. ` +
    `Rebuild from upstream without the cache: rerun your command with --skip-nx-cache, e.g. ` +
    `npx nx run ${name}:publish --version=${version} --skip-nx-cache ` +
    `(then npx nx reset drops the local entry; a remote cache entry must be deleted on the cache server).`
  );
}

/** The binary in dist/.work that verifyFetched has just proved to be the upstream zip's entry, with its sha256. */
export interface VerifiedBinary {
  path: string;
  sha256: string;
}

/** One arch's asset, proved to be upstream's: its file, its sha256 and its root. */
export interface VerifiedAsset {
  arch: Arch;
  file: string;
  sha256: string;
  root: DigestRoot;
  /** What receipts call the binary inside it (the entry, or the asset itself for kind binary). */
  entry: string;
  /** The binary's sha256 if this workspace extracted it from exactly this asset (its receipt), else undefined. */
  receipted?: string;
}

const refusal = (name: string, version: string, why: string) =>
  new UpstreamTrustError(`refusing to use the fetched upstream files: ${why}\n${recoveryAdvice(name, version)}`);

/**
 * Re-establishes trust in the assets under dist/<name>/<version>/upstream (a cache restore carries none): each must hash
 * to its digest root, computed now. Nothing else in that directory is read.
 */
export async function verifyAssets(ctx: StepContext, options: UpstreamTrustOptions = {}): Promise<VerifiedAsset[]> {
  const { layout, version } = ctx;
  const name = ctx.recipe.name;
  const roots = await digestRoots(ctx, options);
  const assets: VerifiedAsset[] = [];
  for (const root of Object.values(roots)) {
    const { arch } = root.asset;
    const file = path.join(layout.upstream, root.asset.name);
    await refuseOtherFetch(name, version, file, root);
    // fetch's cache entry holds no asset: the blob named by this run's digest root (checked against that name) stands in
    const restored = await restoreMissing(ctx, file, root.sha256);
    const actual = restored
      ? root.sha256!
      : await sha256File(file).catch(() => {
          throw refusal(name, version, `${file} is missing`);
        });
    if (root.sha256 && actual !== root.sha256)
      throw refusal(name, version, `${file} has sha256 ${actual}, but ${root.label} says ${root.sha256}`);
    const entry = root.asset.entry ?? root.asset.name;
    assets.push({ arch, file, sha256: actual, root, entry, receipted: await receiptEntrySha256(layout.receipts, arch, actual, entry) });
  }
  return assets;
}

/**
 * fetch's output (the asset's .sha256, maybe restored from a cache) is never what an asset is checked against or
 * restored by; one naming other bytes than this run's root is refused (a poisoned entry, or upstream changed the asset
 * since fetch was cached) rather than built beside.
 */
async function refuseOtherFetch(name: string, version: string, file: string, root: DigestRoot): Promise<void> {
  const text = await readFile(`${file}.sha256`, 'utf8').catch(() => undefined);
  if (text === undefined || !root.sha256) return;
  let named: string;
  try {
    named = parseChecksumLine(text, path.basename(file), `${file}.sha256`);
  } catch (error) {
    throw refusal(name, version, (error as Error).message);
  }
  if (named !== root.sha256) {
    throw refusal(name, version, `${file}.sha256 (fetch's output) names sha256 ${named}, but ${root.label} says ${root.sha256}`);
  }
}

/** How the binary comes out of an asset, for logs: an archive's entry is inflated, a plain binary read. */
const verb = (a: VerifiedAsset) => (a.root.asset.kind === 'binary' ? 'read' : 'inflated');

/** One line saying what an asset was checked against (or UNVERIFIED), and what follows from it. */
export function logVerified(ctx: StepContext, a: VerifiedAsset, what: string): void {
  const name = path.basename(a.file);
  ctx.log(
    a.root.sha256
      ? `${a.arch}: re-checked ${name} (sha256 ${a.sha256}) against ${a.root.label}; ${what}`
      : `${a.arch}: UNVERIFIED: ${name} (sha256 ${a.sha256}) is checked against nothing (--allowUnverified); ${what}`,
  );
}

/**
 * The sha256 of each arch's binary as upstream's asset holds it, without reading the binary in dist/.work: the assets
 * are verified (verifyAssets), the binary's sha256 comes from this workspace's receipt for exactly that asset, else it is
 * read out of the asset into a hash here. What sign needs to match a build receipt.
 */
export async function verifiedEntries(ctx: StepContext, options: UpstreamTrustOptions = {}): Promise<Record<Arch, { sha256: string }>> {
  const entries = {} as Record<Arch, { sha256: string }>;
  for (const a of await verifyAssets(ctx, options)) {
    const sha256 = await entrySha256(ctx, a);
    logVerified(ctx, a, `${a.entry} in it has sha256 ${sha256} (${a.receipted ? "this workspace's fetch receipt" : `${verb(a)} here`})`);
    entries[a.arch] = { sha256 };
  }
  return entries;
}

/** The sha256 of a verified asset's binary: from this workspace's receipt for that asset, else read out and receipted. */
async function entrySha256(ctx: StepContext, a: VerifiedAsset): Promise<string> {
  if (a.receipted) return a.receipted;
  const sha256 = await upstreamBinarySha256({ file: a.file, asset: a.root.asset, maxBytes: ctx.recipe.upstream.maxBinaryBytes });
  await writeEntryReceipt(ctx.layout.receipts, a.arch, { zipSha256: a.sha256, entry: a.entry, entrySha256: sha256 });
  return sha256;
}

/**
 * Re-establishes trust in the fetched upstream files before a binary goes into an image: the assets are verified
 * (verifyAssets), and each binary in dist/.work must be byte for byte the asset's binary: its sha256 comes from this
 * workspace's receipt for that very asset, or it is read out of the asset and hashed again here. A missing binary (a
 * fresh clone restored fetch's asset from a cache; binaries are no output) is extracted from the verified asset. Returns
 * the verified binary per arch with its sha256. Anything else is refused with the file and a recovery that works.
 */
export async function verifyFetched(ctx: StepContext, options: UpstreamTrustOptions = {}): Promise<Record<Arch, VerifiedBinary>> {
  const { recipe, version, layout } = ctx;
  const binaries = {} as Record<Arch, VerifiedBinary>;
  for (const a of await verifyAssets(ctx, options)) {
    const binary = path.join(layout.binaries, a.arch, binaryFileName(a.root.asset));
    const maxBytes = recipe.upstream.maxBinaryBytes;
    const onDisk = await sha256File(binary).catch(() => undefined);
    if (onDisk === undefined) {
      const { sha256 } = await extractUpstreamBinary({ file: a.file, asset: a.root.asset, dest: binary, maxBytes });
      if (a.receipted && a.receipted !== sha256) {
        throw refusal(
          recipe.name,
          version,
          `${a.file} holds ${a.entry} with sha256 ${sha256}, but this workspace's receipt records ${a.receipted}`,
        );
      }
      if (!a.receipted) await writeEntryReceipt(layout.receipts, a.arch, { zipSha256: a.sha256, entry: a.entry, entrySha256: sha256 });
      logVerified(ctx, a, `${a.entry} ${verb(a)} from it to ${path.relative(ctx.root, binary)} (binaries are no cached output)`);
      binaries[a.arch] = { path: binary, sha256 };
      continue;
    }
    // The binary's sha256: from this workspace's receipt for exactly this asset (it extracted it), else read out again here.
    const want = await entrySha256(ctx, a);
    if (want !== onDisk)
      throw refusal(recipe.name, version, `${binary} (sha256 ${onDisk}) is not the ${a.entry} that ${a.file} holds (sha256 ${want})`);
    const how = a.receipted ? `its entry's sha256 from this workspace's fetch receipt` : `${verb(a)} again here`;
    logVerified(ctx, a, `${path.basename(binary)} is its entry byte for byte (${how})`);
    binaries[a.arch] = { path: binary, sha256: onDisk };
  }
  return binaries;
}
