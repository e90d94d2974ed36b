// verifyFetched and fetch's digest roots against the loopback upstream host, playing someone who rewrote dist/ or a
// cache entry of fetch: nothing restored is used unless it re-verifies against a root outside it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeSyntheticBinary, makeZip, startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { fetchStep } from '../src/steps/fetch.js';
import { localBlobStore } from '../src/blobs.js';
import { prepareStep, type StepContext } from '../src/step.js';
import { verifiedEntries, verifyFetched } from '../src/upstream-trust.js';

const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/alloy');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const zipOf = (arch: 'amd64' | 'arm64', tag: string) => {
  const data = makeSyntheticBinary(arch, 64 * 1024);
  data.write(tag, 256, 'latin1');
  return makeZip([{ name: `alloy-linux-${arch}`, data, mode: 0o100755 }]);
};

let upstream: UpstreamHost;
let root: string;
const genuine = { amd64: zipOf('amd64', 'genuine'), arm64: zipOf('arm64', 'genuine') };

beforeAll(async () => {
  upstream = await startUpstreamHost({ releases: [{ version: '1.0.0', assets: genuine }] });
  root = await mkdtemp(path.join(os.tmpdir(), 'upstream-trust-'));
  for (const f of ['sysext.json', 'sysext.schema.json', 'files'])
    await cp(path.join(APP, f), path.join(root, 'apps/alloy', f), { recursive: true });
});
afterAll(async () => {
  await upstream?.stop();
  await rm(root, { recursive: true, force: true });
});

async function context(lines: string[] = []): Promise<StepContext> {
  return prepareStep({ version: '1.0.0' }, { root, env: { ALLOY_UPSTREAM_API_URL: upstream.apiUrl }, log: (l) => lines.push(l) });
}
const upstreamDir = () => path.join(root, 'dist/alloy/1.0.0/upstream');
/** Where fetch inflates the binary: a working copy outside every Nx output. */
const binaryFile = (arch = 'amd64') => path.join(root, `dist/.work/alloy/1.0.0/upstream/${arch}/alloy-linux-${arch}`);
const fresh = async () => {
  await rm(path.join(root, 'dist'), { recursive: true, force: true });
  await fetchStep(await context());
};

describe('verifyFetched: a restored fetch output carries no trust', () => {
  it('a clean fetch re-verifies against the live asset digest and says what it checked', async () => {
    await fresh();
    const lines: string[] = [];
    const binaries = await verifyFetched(await context(lines));
    expect(binaries.amd64.path).toBe(binaryFile());
    // fetch's output (what a cache stores) is the zips' .sha256 files, the zips blobs: no record, and no binary
    expect((await readdir(upstreamDir())).sort()).toEqual(
      ['amd64', 'arm64'].flatMap((a) => [`alloy-linux-${a}.zip`, `alloy-linux-${a}.zip.sha256`]),
    );
    expect(binaries.amd64.sha256).toBe(sha256(await readFile(binaries.amd64.path)));
    expect(lines.join('\n')).toContain(
      `amd64: re-checked alloy-linux-amd64.zip (sha256 ${sha256(genuine.amd64)}) against the release's asset digest at ${upstream.apiUrl}`,
    );
  });

  it('a replaced binary (zip untouched) is refused, naming it and a recovery that skips the cache', async () => {
    await fresh();
    const binary = binaryFile();
    const evil = makeSyntheticBinary('amd64', 64 * 1024);
    evil.write('evil', 256, 'latin1');
    await writeFile(binary, evil);
    const error = await verifyFetched(await context()).catch((e: Error) => e);
    expect((error as Error).message).toContain(
      `${binary} (sha256 ${sha256(evil)}) is not the alloy-linux-amd64 that ${path.join(upstreamDir(), 'alloy-linux-amd64.zip')} holds`,
    );
    expect((error as Error).message).toContain('npx nx run alloy:publish --version=1.0.0 --skip-nx-cache');
  });

  it('restored without the binary (a fresh clone: the cache holds the zip): extracted from the zip once it verifies', async () => {
    await fresh();
    const genuineBinary = await readFile(binaryFile());
    await rm(path.join(root, 'dist/.work'), { recursive: true, force: true });
    await rm(path.join(root, 'dist/.receipts'), { recursive: true, force: true });
    const lines: string[] = [];
    const binaries = await verifyFetched(await context(lines));
    expect((await readFile(binaryFile())).equals(genuineBinary)).toBe(true);
    expect(binaries.amd64).toEqual({ path: binaryFile(), sha256: sha256(genuineBinary) });
    expect(lines.join('\n')).toContain('alloy-linux-amd64 inflated from it to dist/.work/alloy/1.0.0/upstream/amd64/alloy-linux-amd64');
  });

  it('a poisoned zip restored without the binary is refused before anything is inflated from it', async () => {
    await fresh();
    await rm(path.join(root, 'dist/.work'), { recursive: true, force: true });
    const evilZip = zipOf('amd64', 'evil');
    await writeFile(path.join(upstreamDir(), 'alloy-linux-amd64.zip'), evilZip);
    await expect(verifyFetched(await context())).rejects.toThrow(`has sha256 ${sha256(evilZip)}, but the release's asset digest`);
    await expect(readFile(binaryFile())).rejects.toThrow();
  });

  it("verifiedEntries (sign's check) names the zip's entry without reading the binary, and refuses a poisoned zip", async () => {
    await fresh();
    const genuineBinary = await readFile(binaryFile());
    await writeFile(binaryFile(), 'not read by verifiedEntries');
    expect((await verifiedEntries(await context())).amd64).toEqual({ sha256: sha256(genuineBinary) });
    await rm(path.join(root, 'dist/.receipts'), { recursive: true, force: true }); // no receipt: the zip's entry is inflated into a hash
    expect((await verifiedEntries(await context())).amd64).toEqual({ sha256: sha256(genuineBinary) });
    const evilZip = zipOf('amd64', 'evil');
    await writeFile(path.join(upstreamDir(), 'alloy-linux-amd64.zip'), evilZip);
    await expect(verifiedEntries(await context())).rejects.toThrow(`has sha256 ${sha256(evilZip)}, but the release's asset digest`);
  });

  it('zip, binary and a record naming them rewritten consistently are refused against the live digest', async () => {
    await fresh();
    const evilZip = zipOf('amd64', 'evil');
    await writeFile(path.join(upstreamDir(), 'alloy-linux-amd64.zip'), evilZip);
    // what an older fetch left beside the zips, forged to match: nothing reads it
    const record = { version: '1.0.0', zips: [{ arch: 'amd64', name: 'alloy-linux-amd64.zip', sha256: sha256(evilZip) }] };
    await writeFile(path.join(upstreamDir(), 'fetched.json'), JSON.stringify(record));
    const error = (await verifyFetched(await context()).catch((e: Error) => e)) as Error;
    expect(error.message).toContain(
      `${path.join(upstreamDir(), 'alloy-linux-amd64.zip')} has sha256 ${sha256(evilZip)}, but the release's asset digest at ${upstream.apiUrl} says ${sha256(genuine.amd64)}`,
    );
  });
});

describe('blobs: a cache entry of fetch holds no zip', () => {
  const withBlobs = async (lines: string[] = []) => {
    const ctx = await context(lines);
    return { ...ctx, blobs: localBlobStore(path.join(root, 'blobs'), (l) => lines.push(l)) };
  };

  it("a zip left out is restored from the blob the live digest's sha256 names, then verified", async () => {
    await rm(path.join(root, 'dist'), { recursive: true, force: true });
    await fetchStep(await withBlobs());
    await rm(path.join(upstreamDir(), 'alloy-linux-amd64.zip'));
    const lines: string[] = [];
    await verifyFetched(await withBlobs(lines));
    expect((await readFile(path.join(upstreamDir(), 'alloy-linux-amd64.zip'))).equals(genuine.amd64)).toBe(true);
    expect(lines.join('\n')).toContain(`alloy-linux-amd64.zip: restored from the blob store (sha256 ${sha256(genuine.amd64)})`);
  });

  it("fetch's .sha256 naming other bytes, planted as a blob: refused, and the planted blob never restored", async () => {
    await rm(path.join(root, 'dist'), { recursive: true, force: true });
    const ctx = await withBlobs();
    await fetchStep(ctx);
    const evilZip = zipOf('amd64', 'evil');
    const planted = path.join(root, 'evil.zip');
    await writeFile(planted, evilZip);
    await ctx.blobs.keep(planted, sha256(evilZip));
    const zip = path.join(upstreamDir(), 'alloy-linux-amd64.zip');
    await rm(zip);
    await writeFile(`${zip}.sha256`, `${sha256(evilZip)}  alloy-linux-amd64.zip\n`);
    await expect(verifyFetched(await withBlobs())).rejects.toThrow(
      `${zip}.sha256 (fetch's output) names sha256 ${sha256(evilZip)}, but the release's asset digest at ${upstream.apiUrl} says ${sha256(genuine.amd64)}`,
    );
    await expect(readFile(zip)).rejects.toThrow();
  });
});

describe('--zipDir: needs a digest beside the zips or a pin', () => {
  const zipDir = () => path.join(root, 'zips');
  const writeZips = async (sums?: string) => {
    await rm(zipDir(), { recursive: true, force: true });
    await mkdir(zipDir());
    await writeFile(path.join(zipDir(), 'alloy-linux-amd64.zip'), genuine.amd64);
    await writeFile(path.join(zipDir(), 'alloy-linux-arm64.zip'), genuine.arm64);
    if (sums !== undefined) await writeFile(path.join(zipDir(), 'SHA256SUMS'), sums);
  };
  const sums = () => `${sha256(genuine.amd64)}  alloy-linux-amd64.zip\n${sha256(genuine.arm64)}  alloy-linux-arm64.zip\n`;

  it('without SHA256SUMS or pin: refused, naming the zip and the three ways on; nothing extracted', async () => {
    await writeZips();
    await rm(path.join(root, 'dist'), { recursive: true, force: true });
    const error = (await fetchStep(await context(), { zipDir: zipDir() }).catch((e: Error) => e)) as Error;
    expect(error.message).toContain(`${path.join(zipDir(), 'alloy-linux-amd64.zip')} has no digest to be verified against`);
    expect(error.message).toContain(`put a SHA256SUMS in sha256sum format listing alloy-linux-amd64.zip beside the assets`);
    expect(error.message).toContain('--allowUnverified');
    await expect(readFile(binaryFile())).rejects.toThrow();
  });

  it('with --allowUnverified: built from, logged UNVERIFIED, never "verified"; image/sign refuse it without the flag', async () => {
    await writeZips();
    await rm(path.join(root, 'dist'), { recursive: true, force: true });
    const lines: string[] = [];
    await fetchStep(await context(lines), { zipDir: zipDir(), allowUnverified: true });
    await verifyFetched(await context(lines), { zipDir: zipDir(), allowUnverified: true });
    expect(lines.filter((l) => /UNVERIFIED/.test(l))).toHaveLength(4); // fetch and verifyFetched, each arch
    expect(lines.filter((l) => /(?<!UN)verified/i.test(l))).toEqual([]);
    await expect(verifyFetched(await context(), { zipDir: zipDir() })).rejects.toThrow('has no digest to be verified against');
  });

  it('with SHA256SUMS beside the zips: verified against it; a wrong line is refused naming the file', async () => {
    await writeZips(sums());
    await rm(path.join(root, 'dist'), { recursive: true, force: true });
    const lines: string[] = [];
    await fetchStep(await context(lines), { zipDir: zipDir() });
    await verifyFetched(await context(lines), { zipDir: zipDir() });
    expect(lines.join('\n')).toContain(
      `amd64: re-checked alloy-linux-amd64.zip (sha256 ${sha256(genuine.amd64)}) against ${path.join(zipDir(), 'SHA256SUMS')}`,
    );
    // a SHA256SUMS line is no pin (issue 22, item 7): each line names the file that vouched
    expect(lines.filter((l) => /pin/.test(l))).toEqual([]);
    expect(lines.join('\n')).toContain(`verified against ${path.join(zipDir(), 'SHA256SUMS')}; extracted alloy-linux-amd64`);
    await writeZips(sums().replace(sha256(genuine.arm64), 'a'.repeat(64)));
    const error = (await fetchStep(await context(), { zipDir: zipDir() }).catch((e: Error) => e)) as Error;
    expect(error.message).toContain(
      `local asset ${path.join(zipDir(), 'alloy-linux-arm64.zip')} has sha256 ${sha256(genuine.arm64)}, but ${path.join(zipDir(), 'SHA256SUMS')} says ${'a'.repeat(64)}`,
    );
  });

  it('SHA256SUMS naming a zip twice (a line appended for a swapped zip): refused naming both lines, nothing extracted', async () => {
    // the attack: replace the amd64 zip and append a line for it; a parser where the last line wins "verifies" it
    const evil = zipOf('amd64', 'evil');
    await writeZips(`${sums()}${sha256(evil)}  alloy-linux-amd64.zip\n`);
    await writeFile(path.join(zipDir(), 'alloy-linux-amd64.zip'), evil);
    await rm(path.join(root, 'dist'), { recursive: true, force: true });
    const error = (await fetchStep(await context(), { zipDir: zipDir() }).catch((e: Error) => e)) as Error;
    expect(error.message).toBe(
      `${path.join(zipDir(), 'SHA256SUMS')} lists alloy-linux-amd64.zip twice: line 1 (sha256 ${sha256(genuine.amd64)}) and ` +
        `line 3 (sha256 ${sha256(evil)}); refusing both: keep only the line you checked against the release`,
    );
    await expect(readFile(binaryFile())).rejects.toThrow();
    // the same name through a directory ("sub/alloy-linux-amd64.zip") is the same zip to fetch: refused too
    await writeZips(`${sums()}${sha256(evil)}  sub/alloy-linux-amd64.zip\n`);
    await expect(fetchStep(await context(), { zipDir: zipDir() })).rejects.toThrow('lists alloy-linux-amd64.zip twice: line 1');
  });

  it('a --zipDir that does not exist is named as such, with or without --allowUnverified (issue 22, item 6)', async () => {
    const missing = path.join(root, 'no-such-dir');
    for (const allowUnverified of [false, true]) {
      await expect(fetchStep(await context(), { zipDir: missing, allowUnverified })).rejects.toThrow(
        `--zipDir ${missing}: the directory ${missing} does not exist`,
      );
    }
    await writeFile(path.join(root, 'a-file'), '');
    await expect(fetchStep(await context(), { zipDir: path.join(root, 'a-file') })).rejects.toThrow('is not a directory');
  });
});
