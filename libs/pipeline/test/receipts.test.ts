// The local receipts (receipts.ts), playing someone who swaps the binary or the image between steps (rewritten with its
// .sha256, or restored from elsewhere with other bytes) or plants a receipt for other bytes. Real fetch → image → sign
// against the upstream host peer, real mksquashfs behind a PATH shim that counts its runs, real gpg verifying signatures.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { chmod, copyFile, cp, mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage } from '@alloy-sysext/sysext-image';
import { generateKey, loadPrivateKey, signFile, type GeneratedKey } from '@alloy-sysext/signing';
import { makeSyntheticBinary, startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { fetchStep, imageStep, manifestStep, prepareStep, signStep, type StepContext } from '../src/index.js';
import { imageChecker } from '../src/artifacts.js';
import { verifyFetched } from '../src/upstream-trust.js';

const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/alloy');
const VERSION = '1.0.0';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let upstream: UpstreamHost;
let root: string;
let key: GeneratedKey;
let calls: string;
const savedPath = process.env.PATH;

beforeAll(async () => {
  upstream = await startUpstreamHost({
    releases: [{ version: VERSION, arches: ['amd64'], binaries: { amd64: makeSyntheticBinary('amd64', 2 * 1024 * 1024) } }],
  });
  root = await mkdtemp(path.join(os.tmpdir(), 'receipts-'));
  for (const f of ['sysext.schema.json', 'files']) await cp(path.join(APP, f), path.join(root, 'apps/alloy', f), { recursive: true });
  const recipe = JSON.parse(await readFile(path.join(APP, 'sysext.json'), 'utf8'));
  await writeFile(path.join(root, 'apps/alloy/sysext.json'), JSON.stringify({ ...recipe, arches: ['amd64'] }));
  key = await generateKey({ identity: 'Receipt test <r@example.org>', outDir: path.join(root, 'keys') });
  // every mksquashfs run (image's build, sign's rebuild) appends a line here, then the real tool runs
  const shims = path.join(root, 'shims');
  calls = path.join(root, 'mksquashfs.calls');
  await mkdir(shims);
  const real = (await execa('sh', ['-c', 'command -v mksquashfs'])).stdout.trim();
  await writeFile(path.join(shims, 'mksquashfs'), `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${real}' "$@"\n`);
  await chmod(path.join(shims, 'mksquashfs'), 0o755);
  process.env.PATH = `${shims}:${savedPath}`;
}, 120_000);
afterAll(async () => {
  process.env.PATH = savedPath;
  await upstream?.stop();
  await rm(root, { recursive: true, force: true });
});

const images = () => path.join(root, `dist/alloy/${VERSION}/images`);
const image = () => path.join(images(), `alloy-${VERSION}-amd64.raw`);
const copy = () => path.join(images(), `alloy-${VERSION}.raw`);
const receipt = () => path.join(root, `dist/.receipts/alloy/${VERSION}/amd64.json`);
const entryReceipt = () => path.join(root, `dist/.receipts/alloy/${VERSION}/upstream-amd64.json`);
const zip = () => path.join(root, `dist/alloy/${VERSION}/upstream/alloy-linux-amd64.zip`);
const binary = () => path.join(root, `dist/.work/alloy/${VERSION}/upstream/amd64/alloy-linux-amd64`);
const flip = async (file: string) => {
  const bytes = await readFile(file);
  bytes[bytes.length - 100]! ^= 0xff;
  await writeFile(file, bytes);
  return bytes;
};
const mksquashfsRuns = async () => (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

async function context(lines: string[] = []): Promise<StepContext> {
  const env = {
    PATH: process.env.PATH,
    ALLOY_UPSTREAM_API_URL: upstream.apiUrl,
    ALLOY_SIGNING_KEY: await readFile(key.privateKeyPath, 'utf8'),
  };
  return prepareStep({ version: VERSION }, { root, env, log: (l) => lines.push(l) });
}

/** sign's log and how many times it ran mksquashfs, or the error it refused with. */
async function sign(options: Parameters<typeof signStep>[1] = {}) {
  const lines: string[] = [];
  const before = await mksquashfsRuns();
  const error = await signStep(await context(lines), options).then(
    () => undefined,
    (e: Error) => e,
  );
  return { log: lines.join('\n'), rebuilds: (await mksquashfsRuns()) - before, error };
}

async function gpgVerifies(file: string): Promise<string> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'receipt-gpg-'));
  try {
    await execa('gpg', ['--homedir', home, '--batch', '--import', key.publicKeyPath]);
    const r = await execa('gpg', ['--homedir', home, '--batch', '--status-fd', '1', '--verify', `${file}.asc`, file], { reject: false });
    return r.stdout;
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

beforeEach(async () => {
  await rm(path.join(root, 'dist'), { recursive: true, force: true });
  const ctx = await context();
  await fetchStep(ctx);
  await imageStep(ctx);
});

describe('sign and the build receipt', () => {
  it('image leaves a receipt outside every cached output, naming the binary, the settings and the image bytes', async () => {
    const r = JSON.parse(await readFile(receipt(), 'utf8'));
    const binary = await readFile(path.join(root, `dist/.work/alloy/${VERSION}/upstream/amd64/alloy-linux-amd64`));
    expect(r).toEqual(
      expect.objectContaining({
        receipt: 1,
        binarySha256: sha256(binary),
        image: `alloy-${VERSION}-amd64.raw`,
        imageSha256: sha256(await readFile(image())),
      }),
    );
    expect(r.settings).toEqual(expect.objectContaining({ version: VERSION, arch: 'amd64', format: 'squashfs', compressor: 'zstd' }));
    // not under dist/alloy/<version>/{upstream,images,manifest}: the paths apps/alloy/project.json declares as outputs
    const outputs = JSON.stringify(JSON.parse(await readFile(path.join(APP, 'project.json'), 'utf8')).targets, null, 0);
    expect(outputs).not.toContain('.receipts');
    expect(outputs).not.toContain('.work'); // nor the binary fetch inflated (dist/.work)
    expect(path.relative(path.join(root, 'dist/alloy'), receipt()).startsWith('..')).toBe(true);
  });

  it('a fresh build is signed without a rebuild; the compatibility name is no file: one image, one signature', async () => {
    const { log, rebuilds, error } = await sign();
    expect(error).toBeUndefined();
    expect(rebuilds).toBe(0);
    expect(log).toContain(
      `amd64: alloy-${VERSION}-amd64.raw built here by image (receipt dist/.receipts/alloy/${VERSION}/amd64.json); not rebuilt`,
    );
    expect(log).not.toContain('bit for bit');
    expect(await gpgVerifies(image())).toContain(`VALIDSIG ${key.fingerprint}`);
    for (const f of [copy(), `${copy()}.sha256`, `${copy()}.asc`]) expect([f, existsSync(f)]).toEqual([f, false]);
    await manifestStep(await context());
    // SHA256SUMS still lists both names, with the amd64 file's sha256
    const sums = await readFile(path.join(root, `dist/alloy/${VERSION}/manifest/SHA256SUMS`), 'utf8');
    const amd64 = sha256(await readFile(image()));
    expect(sums).toBe(`${amd64}  alloy-${VERSION}.raw\n${amd64}  alloy-${VERSION}-amd64.raw\n`);
  });

  it('an image replaced after the build, with its .sha256 rewritten, is rebuilt and refused', async () => {
    const bytes = await readFile(image());
    bytes[bytes.length - 100]! ^= 0xff;
    await writeFile(image(), bytes);
    await writeFile(`${image()}.sha256`, `${sha256(bytes)}  alloy-${VERSION}-amd64.raw\n`);
    const { log, rebuilds, error } = await sign();
    expect(rebuilds).toBe(1);
    expect(log).toContain(`alloy-${VERSION}-amd64.raw has sha256 ${sha256(bytes)}, but ${receipt()} records`);
    expect(error?.message).toContain(`refusing to sign ${image()}: it has sha256 ${sha256(bytes)}, but the recipe builds`);
    expect(existsSync(`${image()}.asc`)).toBe(false);
  });

  it('a receipt beside an image restored from elsewhere with other bytes does not vouch for it: rebuilt and refused', async () => {
    // a well-formed image of the same version and arch, built elsewhere (another compressor), restored with its .sha256
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), 'receipt-elsewhere-'));
    try {
      const ctx = await context();
      const other = await buildImage({
        version: VERSION,
        arch: 'amd64',
        binary: path.join(ctx.layout.binaries, 'amd64/alloy-linux-amd64'),
        tree: ctx.recipe.tree,
        image: { format: 'squashfs', compressor: 'gzip' },
        outDir: elsewhere,
      });
      for (const f of [other.image, `${other.image}.sha256`]) await copyFile(f, path.join(images(), path.basename(f)));
      expect(existsSync(receipt())).toBe(true);
      const { log, rebuilds, error } = await sign();
      expect(rebuilds).toBe(1);
      expect(log).toContain(`has sha256 ${other.sha256}, but ${receipt()} records`);
      expect(error?.message).toContain(`refusing to sign ${image()}: it has sha256 ${other.sha256}`);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('with the receipts, sign needs no binary: deleted after the build, it is neither read nor inflated again', async () => {
    await rm(path.join(root, 'dist/.work'), { recursive: true, force: true });
    const { log, rebuilds, error } = await sign();
    expect(error).toBeUndefined();
    expect(rebuilds).toBe(0);
    expect(log).toContain('alloy-linux-amd64 in it has sha256');
    expect(existsSync(binary())).toBe(false);
    expect(await gpgVerifies(image())).toContain(`VALIDSIG ${key.fingerprint}`);
  });

  it('no receipt and no binary (a fresh clone restored zip and images): the binary is inflated from the verified zip and the image rebuilt', async () => {
    await rm(path.join(root, 'dist/.receipts'), { recursive: true, force: true });
    await rm(path.join(root, 'dist/.work'), { recursive: true, force: true });
    const { log, rebuilds, error } = await sign();
    expect(error).toBeUndefined();
    expect(rebuilds).toBe(1);
    expect(log).toContain(`alloy-linux-amd64 inflated from it to dist/.work/alloy/${VERSION}/upstream/amd64/alloy-linux-amd64`);
    expect(await gpgVerifies(image())).toContain(`VALIDSIG ${key.fingerprint}`);
  });

  it('without a receipt (a cache restore, a fresh clone) sign rebuilds exactly as before and signs the genuine bytes', async () => {
    await rm(path.join(root, 'dist/.receipts'), { recursive: true, force: true });
    const { log, rebuilds, error } = await sign();
    expect(error).toBeUndefined();
    expect(rebuilds).toBe(1);
    expect(log).toContain(`no build receipt at ${receipt()}`);
    expect(log).toContain(`amd64: rebuilt the image bit for bit (sha256 ${sha256(await readFile(image()))}) before signing`);
    expect(await gpgVerifies(image())).toContain(`VALIDSIG ${key.fingerprint}`);
  });

  it('a receipt for other build settings is stale: sign with another compressor rebuilds and refuses the zstd image', async () => {
    const { log, rebuilds, error } = await sign({ compressor: 'gzip' });
    expect(rebuilds).toBe(1);
    expect(log).toContain(`${receipt()} records other build settings than this run's`);
    expect(error?.message).toContain(`refusing to sign ${image()}`);
  });
});

describe('the compatibility name', () => {
  it('a file planted under the old name in dist/images is never read: the manifest lists the amd64 bytes under that name', async () => {
    expect((await sign()).error).toBeUndefined();
    // other bytes, their own .sha256, and a signature by the release key over them (a restored old file, or a swap)
    await copyFile(image(), copy());
    const planted = await flip(copy());
    await writeFile(`${copy()}.sha256`, `${sha256(planted)}  alloy-${VERSION}.raw\n`);
    await writeFile(`${copy()}.asc`, await signFile(copy(), await loadPrivateKey(await readFile(key.privateKeyPath, 'utf8'))));
    expect(await gpgVerifies(copy())).toContain(`VALIDSIG ${key.fingerprint}`);
    await manifestStep(await context());
    const sums = await readFile(path.join(root, `dist/alloy/${VERSION}/manifest/SHA256SUMS`), 'utf8');
    expect(sums).toContain(`${sha256(await readFile(image()))}  alloy-${VERSION}.raw\n`);
    expect(sums).not.toContain(sha256(planted));
  });
});

describe('verifyFetched and the entry receipt fetch leaves', () => {
  it('fetch records the entry it inflated; image and sign check the binary against it without inflating again', async () => {
    const r = JSON.parse(await readFile(entryReceipt(), 'utf8'));
    expect(r).toEqual({
      receipt: 1,
      zipSha256: sha256(await readFile(zip())),
      entry: 'alloy-linux-amd64',
      entrySha256: sha256(await readFile(binary())),
    });
    const lines: string[] = [];
    await verifyFetched(await context(lines));
    expect(lines.join('\n')).toContain(
      "alloy-linux-amd64 is its entry byte for byte (its entry's sha256 from this workspace's fetch receipt)",
    );
  });

  it('a binary replaced after fetch is refused against the receipt', async () => {
    const poisoned = await flip(binary());
    await expect(verifyFetched(await context())).rejects.toThrow(
      `${binary()} (sha256 ${sha256(poisoned)}) is not the alloy-linux-amd64 that ${zip()} holds (sha256 ${JSON.parse(await readFile(entryReceipt(), 'utf8')).entrySha256})`,
    );
  });

  it('a receipt planted for another zip is not believed: the entry is inflated again and the poisoned binary refused', async () => {
    const genuine = sha256(await readFile(binary()));
    const poisoned = await flip(binary());
    await writeFile(
      entryReceipt(),
      JSON.stringify({ receipt: 1, zipSha256: 'e'.repeat(64), entry: 'alloy-linux-amd64', entrySha256: sha256(poisoned) }),
    );
    await expect(verifyFetched(await context())).rejects.toThrow(`is not the alloy-linux-amd64 that ${zip()} holds (sha256 ${genuine})`);
  });

  it('without a receipt (fetch restored from a cache) the entry is inflated again, and the receipt written for next time', async () => {
    await rm(entryReceipt());
    const lines: string[] = [];
    await verifyFetched(await context(lines));
    expect(lines.join('\n')).toContain('alloy-linux-amd64 is its entry byte for byte (inflated again here)');
    expect(JSON.parse(await readFile(entryReceipt(), 'utf8')).entrySha256).toBe(sha256(await readFile(binary())));
  });
});

describe('the verification receipt manifest and publish leave', () => {
  const check = async () => imageChecker(await readFile(key.publicKeyPath, 'utf8'), { receipts: receiptsDir() })({ path: image() });
  const receiptsDir = () => path.join(root, `dist/.receipts/alloy/${VERSION}`);

  it('a file verified here and untouched since is not read again; a copy of it (another file) is read and verified', async () => {
    expect((await sign()).error).toBeUndefined();
    const genuine = sha256(await readFile(image()));
    expect(await check()).toEqual({ kind: 'verified', sha256: genuine, receipt: false });
    expect(existsSync(path.join(receiptsDir(), `verified-alloy-${VERSION}-amd64.raw.json`))).toBe(true);
    expect(await check()).toEqual({ kind: 'verified', sha256: genuine, receipt: true });
    // what a cache restore does: the same bytes in a new file
    await copyFile(image(), `${image()}.tmp`);
    await rm(image());
    await copyFile(`${image()}.tmp`, image());
    await rm(`${image()}.tmp`);
    expect(await check()).toEqual({ kind: 'verified', sha256: genuine, receipt: false });
  });

  it('bytes rewritten in place with size and mtime put back are read again and refused (the ctime moved)', async () => {
    expect((await sign()).error).toBeUndefined();
    expect((await check()).kind).toBe('verified');
    const before = await stat(image(), { bigint: true });
    const bytes = await readFile(image());
    bytes[bytes.length - 100]! ^= 0xff;
    const fh = await open(image(), 'r+'); // same inode
    await fh.write(bytes, 0, bytes.length, 0);
    await fh.close();
    // the mtime put back to the nanosecond (touch; utimes() takes a double of seconds)
    const ns = before.mtimeNs;
    await execa('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, image()]);
    const after = await stat(image(), { bigint: true });
    expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);
    expect(after.ctimeNs).not.toBe(before.ctimeNs);
    expect(await check()).toEqual({
      kind: 'refused',
      problem: `${image()} has sha256 ${sha256(bytes)} but alloy-${VERSION}-amd64.raw.sha256 says ${(await readFile(`${image()}.sha256`, 'utf8')).slice(0, 64)}`,
    });
  });

  it('another signature beside the same file, or another key, is verified again, not taken from the receipt', async () => {
    expect((await sign()).error).toBeUndefined();
    expect((await check()).kind).toBe('verified');
    const other = await generateKey({ identity: 'Other <o@example.org>', outDir: path.join(root, 'other-key') });
    await writeFile(`${image()}.asc`, await signFile(image(), await loadPrivateKey(await readFile(other.privateKeyPath, 'utf8'))));
    const verdict = await check();
    expect(verdict.kind).toBe('refused');
    expect(verdict.kind === 'refused' && verdict.problem).toContain(`${image()}.asc does not verify it`);
  });
});
