// Step `fetch`: download (or take from --zipDir) each arch's upstream release zip, verify it, extract the binary (a working
// copy in dist/.work, not an output), and record what each zip was verified against (fetched.json; image and sign re-check
// it all, see upstream-trust.ts).
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { githubTokenFor } from '@alloy-sysext/common';
import { fetchUpstream, type Arch, type DigestSource } from '@alloy-sysext/sysext-image';
import { writeFetchRecord } from '../fetch-record.js';
import { progressReporter } from '../progress.js';
import { writeEntryReceipt } from '../receipts.js';
import type { StepContext } from '../step.js';
import { assetName, digestRoots, type UpstreamTrustOptions } from '../upstream-trust.js';

export interface FetchStepOptions extends UpstreamTrustOptions {
  allowPrerelease?: boolean;
  /** Where download progress goes (default stdout; `release-bot verify` keeps stdout for its table). */
  progress?: NodeJS.WriteStream;
}

export async function fetchStep(ctx: StepContext, options: FetchStepOptions = {}): Promise<void> {
  const { recipe, version, layout, env, log } = ctx;
  const localZips = options.zipDir
    ? (Object.fromEntries(recipe.arches.map((arch) => [arch, path.resolve(options.zipDir!, assetName(recipe, arch))])) as Partial<
        Record<Arch, string>
      >)
    : undefined;
  // Air-gapped: the digests come from SHA256SUMS beside the zips or the pin (refused without one unless allowUnverified).
  const roots = localZips ? await digestRoots(ctx, options) : undefined;
  const pinned = roots
    ? Object.fromEntries(
        Object.entries(roots)
          .filter(([, r]) => r.sha256)
          .map(([arch, r]) => [arch, r.sha256]),
      )
    : recipe.upstream.sha256?.[version];
  // A binary an older alloy-sysext extracted beside the zip would be cached with fetch's output: binaries live in dist/.work.
  for (const arch of recipe.arches) await rm(path.join(layout.upstream, arch), { recursive: true, force: true });
  const report = progressReporter({ stream: options.progress });
  const fetched = await fetchUpstream({
    version,
    allowPrerelease: options.allowPrerelease,
    arches: recipe.arches,
    upstream: recipe.upstream,
    outDir: layout.upstream,
    // the binary is a working copy outside the outputs: caches store only the zip it comes from (and fetch's record)
    binariesDir: layout.binaries,
    token: githubTokenFor(recipe.upstream.apiUrl, env.GITHUB_TOKEN, env),
    localZips,
    pinnedSha256: pinned,
    // a SHA256SUMS beside the zips is named as such, not as a pin
    pinOrigin: roots,
    log,
    onProgress: (p) => report({ name: p.asset, done: p.received, total: p.total }),
  }).catch((error: Error) => {
    if (!localZips && /failed after \d+ attempts/.test(error.message)) {
      error.message += `\nThe upstream release could not be reached at ${recipe.upstream.apiUrl}. For air-gapped runs put the release zips in a directory and pass --zipDir=<dir>.`;
    }
    throw error;
  });
  const sources: Partial<Record<Arch, DigestSource>> = {};
  for (const [arch, f] of Object.entries(fetched) as [Arch, (typeof fetched)[Arch]][]) {
    // this workspace inflated the entry just now: image and sign then check the binary against this hash, not a new inflate
    await writeEntryReceipt(layout.receipts, arch, { zipSha256: f.zipSha256, entry: path.basename(f.binary), entrySha256: f.binarySha256 });
    const source = roots ? roots[arch].source : f.digestSource;
    sources[arch] = source;
    log(
      source === 'unverified'
        ? `${arch}: UNVERIFIED (--allowUnverified): ${path.basename(f.zip)} sha256 ${f.zipSha256} was checked against no digest`
        : `${arch}: ${path.basename(f.zip)} sha256 ${f.zipSha256} (checked against ${roots ? roots[arch].label : source} when fetched; image and sign check again)`,
    );
  }
  await writeFetchRecord(layout.upstream, version, fetched, sources);
  // fetch's cache entry is the record alone: the zips travel as blobs, to the steps that read them
  for (const f of Object.values(fetched)) await ctx.blobs?.keep(f.zip, f.zipSha256);
}
