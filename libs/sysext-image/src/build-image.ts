import {
  parseArch,
  type Arch,
  commitAll,
  sha256File,
  sha256Bytes,
  normalizeVersion,
  formatChecksumLine,
  imageFileName,
  type Log,
} from '@alloy-sysext/common';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { assertElfFor } from './elf.js';
import { checkFormat, makeFilesystem, type Compressor, type ImageFormat } from './formats.js';
import { expectedEntries, renderExtensionRelease, renderUnit, stageTree, type TreeOptions } from './tree.js';

export interface ImageOptions {
  format: ImageFormat;
  /** squashfs only; default zstd. */
  compressor?: Compressor;
}

export interface BuildImageOptions {
  version: string;
  arch: Arch;
  /** The extracted upstream binary. */
  binary: string;
  tree: TreeOptions;
  image: ImageOptions;
  /** dist/alloy/<version>/images */
  outDir: string;
  log?: Log;
}

export interface BuiltImage {
  image: string;
  sha256: string;
}

/** Everything besides the binary's bytes that decides what buildImage writes, in a canonical form (build receipts record it). */
export interface BuildSettings {
  version: string;
  arch: Arch;
  format: ImageFormat;
  /** squashfs only (the effective one: the default when none is set). */
  compressor?: Compressor;
  binaryPath: string;
  /** The unit's place and sha256 as it goes into the image ({{binaryPath}} substituted); absent without a unit. */
  unitPath?: string;
  unitSha256?: string;
  /** sha256 of extension-release as it goes into the image. */
  extensionReleaseSha256: string;
}

/** The settings buildImage would build with, resolved and hashed the way it resolves them (unit and extension-release rendered). */
export async function buildSettings(opts: Pick<BuildImageOptions, 'version' | 'arch' | 'tree' | 'image'>): Promise<BuildSettings> {
  const arch = parseArch(opts.arch);
  const { format, compressor } = checkFormat(opts.image.format, opts.image.compressor);
  expectedEntries(opts.tree);
  return {
    version: normalizeVersion(opts.version, { allowPrerelease: true }),
    arch,
    format,
    ...(compressor ? { compressor } : {}),
    binaryPath: opts.tree.binaryPath,
    ...(opts.tree.unit ? { unitPath: opts.tree.unit.path, unitSha256: sha256Bytes((await renderUnit(opts.tree))!) } : {}),
    extensionReleaseSha256: sha256Bytes(renderExtensionRelease(opts.tree.extensionRelease, arch)),
  };
}

/**
 * Build the sysext image of one arch. The same inputs give the same bytes whatever the staging tree's mtimes, owners,
 * umask or location. Writes `<image>` and `<image>.sha256` atomically: on any failure neither
 * exists under its final name.
 */
export async function buildImage(opts: BuildImageOptions): Promise<BuiltImage> {
  const version = normalizeVersion(opts.version, { allowPrerelease: true });
  const arch = parseArch(opts.arch);
  const { format, compressor } = checkFormat(opts.image.format, opts.image.compressor);
  if (format !== 'squashfs' && opts.image.compressor !== undefined) {
    // the recipe's compressor stays set when a run overrides the format, so this is not an error
    opts.log?.(`image.compressor ${opts.image.compressor} ignored: it applies to squashfs only, not ${format}`);
  }
  const entries = expectedEntries(opts.tree);
  if (!(await stat(opts.binary).catch(() => undefined))?.isFile()) {
    throw new Error(`binary ${opts.binary} does not exist or is not a file: fetch the upstream release first`);
  }
  await assertElfFor(opts.binary, arch, `binary ${opts.binary}`);

  await mkdir(opts.outDir, { recursive: true });
  const image = join(opts.outDir, imageFileName(opts.tree.name, version, arch));
  const finals = [image, `${image}.sha256`];

  const work = await mkdtemp(join(tmpdir(), 'sysext-image-'));
  try {
    const root = join(work, 'root');
    await mkdir(root);
    await stageTree({ root, binary: opts.binary, arch, tree: opts.tree });
    opts.log?.(`${arch}: building ${format}${compressor ? ` (${compressor})` : ''} image ${basename(image)}`);
    const started = Date.now();
    return await commitAll(finals, async ([tImage, tSum]) => {
      await makeFilesystem({ format, compressor, root, dest: tImage!, workDir: work, entries }).catch((err: Error & { code?: string }) => {
        if (err.code === 'ENOSPC') throw new Error(`no space left building ${image}: free disk space in ${opts.outDir} and ${tmpdir()}`);
        throw err;
      });
      const sha256 = await sha256File(tImage!);
      await writeFile(tSum!, formatChecksumLine(sha256, basename(image)));
      const size = (await stat(tImage!)).size;
      opts.log?.(`${arch}: ${basename(image)} ${size} bytes, sha256 ${sha256} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      return { image, sha256 };
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
