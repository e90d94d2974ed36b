// Step `fetch`: download (or take from the asset directory) each arch's upstream release asset, keep it only if it hashes
// to its digest root (digest-roots.ts), and extract the binary (a working copy in dist/.work, not an output). Its output
// is each asset's .sha256, the asset itself a blob (blobs.ts): image, sign and publish check it against the roots again
// (upstream-trust.ts).
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatChecksumLine } from '@alloy-sysext/common';
import { fetchUpstream } from '@alloy-sysext/sysext-image';
import { assetDirOption, digestRoots, type UpstreamTrustOptions } from '../digest-roots.js';
import { progressReporter } from '../progress.js';
import { writeEntryReceipt } from '../receipts.js';
import type { StepContext } from '../step.js';

export interface FetchStepOptions extends UpstreamTrustOptions {
  allowPrerelease?: boolean;
  /** Where download progress goes (default stdout; `release-bot verify` keeps stdout for its table). */
  progress?: NodeJS.WriteStream;
}

/** Files an older alloy-sysext left in fetch's output: a binary beside the zip, the fetch record (never trusted). */
const STALE_OUTPUTS = ['amd64', 'arm64', 'fetched.json'];

export async function fetchStep(ctx: StepContext, options: FetchStepOptions = {}): Promise<void> {
  const { recipe, layout, log } = ctx;
  const dir = assetDirOption(options);
  const roots = await digestRoots(ctx, options).catch((error: Error) => {
    if (!dir && /cannot reach|no answer within/.test(error.message)) {
      error.message +=
        `\nThe upstream release could not be reached at ${recipe.upstream.apiUrl}. For air-gapped runs put the release ` +
        `assets in a directory with a checksum file and pass --assetDir=<dir> (or --zipDir=<dir>).`;
    }
    throw error;
  });
  for (const stale of STALE_OUTPUTS) await rm(path.join(layout.upstream, stale), { recursive: true, force: true });
  const report = progressReporter({ stream: options.progress });
  const fetched = await fetchUpstream({
    assets: Object.values(roots).map((r) => ({ asset: r.asset, sha256: r.sha256, vouchedBy: r.label, from: r.from })),
    outDir: layout.upstream,
    // the binary is a working copy outside the outputs: caches store only the asset it comes from
    binariesDir: layout.binaries,
    maxBinaryBytes: recipe.upstream.maxBinaryBytes,
    log,
    onProgress: (p) => report({ name: p.asset, done: p.received, total: p.total }),
  });
  for (const root of Object.values(roots)) {
    const f = fetched[root.asset.arch]!;
    // this workspace extracted the binary just now: image and sign then check it against this hash, not a new read
    const entry = root.asset.entry ?? root.asset.name;
    await writeEntryReceipt(layout.receipts, root.asset.arch, { zipSha256: f.sha256, entry, entrySha256: f.binarySha256 });
    // fetch's cache entry is each asset's .sha256 (it keys image's hash; nothing trusts it): the asset travels as a blob,
    // restored by the sha256 of this run's digest root when a step reads it (upstream-trust.ts)
    await writeFile(`${f.file}.sha256`, formatChecksumLine(f.sha256, path.basename(f.file)));
    await ctx.blobs?.keep(f.file, f.sha256);
  }
}
