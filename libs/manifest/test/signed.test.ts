// Manifests against the real tools: sha256sum -c, gpg 2.2 (temp GNUPGHOME) and sqop.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, loadPrivateKey, type SigningKey } from '@alloy-sysext/signing';
import { imageEntries, mergeManifest, signManifest } from '../src/index.js';

let dir: string;
let key: SigningKey;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'manifest-test-'));
  const gen = await generateKey({ identity: 'Manifest test <m@example.org>', outDir: join(dir, 'keys') });
  key = await loadPrivateKey(await readFile(gen.privateKeyPath, 'utf8'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes images and their .sha256 files the way the build step does: with the real sha256sum. */
async function buildImages(sub: string, version: string): Promise<string> {
  const d = join(dir, sub);
  await execa('mkdir', ['-p', d]);
  for (const f of [`alloy-${version}-amd64.raw`, `alloy-${version}-arm64.raw`, `alloy-${version}.raw`]) {
    await writeFile(join(d, f), randomBytes(4096));
    const { stdout } = await execa('sha256sum', [f], { cwd: d });
    await writeFile(join(d, `${f}.sha256`), `${stdout}\n`);
  }
  return d;
}

async function gpgVerify(pub: string, sig: string, data: string) {
  const home = await mkdtemp(join(tmpdir(), 'gnupg-'));
  try {
    await writeFile(join(home, 'pub.asc'), pub);
    await execa('gpg', ['--homedir', home, '--batch', '--quiet', '--import', join(home, 'pub.asc')]);
    return await execa('gpg', ['--homedir', home, '--batch', '--status-fd', '1', '--verify', sig, data], { reject: false });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

describe('published manifest', () => {
  it('imageEntries + mergeManifest: sha256sum -c passes; gpg and sqop verify SHA256SUMS.gpg', async () => {
    const bucket = await buildImages('bucket', '1.9.0');
    const v10 = await buildImages('bucket', '1.10.0');
    expect(v10).toBe(bucket);
    const entries = await imageEntries(bucket, '1.10.0', { verify: true });
    expect(entries.map((e) => e.file)).toEqual(['alloy-1.10.0-amd64.raw', 'alloy-1.10.0-arm64.raw', 'alloy-1.10.0.raw']);

    let text = mergeManifest(null, await imageEntries(bucket, '1.9.0'));
    text = mergeManifest(text, entries);
    await writeFile(join(bucket, 'SHA256SUMS'), text);
    const sum = await execa('sha256sum', ['--strict', '-c', 'SHA256SUMS'], { cwd: bucket, reject: false });
    expect(sum.stderr).toBe('');
    expect(sum.exitCode).toBe(0);
    expect(sum.stdout.split('\n')).toHaveLength(6);
    expect(text.split('\n').slice(0, 3)).toEqual(
      ['alloy-1.9.0.raw', 'alloy-1.9.0-amd64.raw', 'alloy-1.9.0-arm64.raw'].map((f) =>
        expect.stringMatching(new RegExp(`^[0-9a-f]{64}  ${f.replace(/\./g, '\\.')}$`)),
      ),
    );

    await writeFile(join(bucket, 'SHA256SUMS.gpg'), await signManifest(text, key));
    const g = await gpgVerify(key.publicKeyArmored, join(bucket, 'SHA256SUMS.gpg'), join(bucket, 'SHA256SUMS'));
    expect(g.exitCode).toBe(0);
    expect(g.stdout).toContain(`[GNUPG:] VALIDSIG ${key.fingerprint}`);
    await writeFile(join(bucket, 'cert.asc'), key.publicKeyArmored);
    const s = await execa('sqop', ['verify', 'SHA256SUMS.gpg', 'cert.asc'], {
      cwd: bucket,
      inputFile: join(bucket, 'SHA256SUMS'),
      reject: false,
    });
    expect(s.exitCode).toBe(0);

    // A changed payload fails sha256sum -c; a changed manifest fails gpg and sqop.
    await appendFile(join(bucket, 'alloy-1.10.0-arm64.raw'), 'x');
    const bad = await execa('sha256sum', ['-c', 'SHA256SUMS'], { cwd: bucket, reject: false });
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toContain('alloy-1.10.0-arm64.raw: FAILED');
    await appendFile(join(bucket, 'SHA256SUMS'), `${'f'.repeat(64)}  evil.raw\n`);
    expect((await gpgVerify(key.publicKeyArmored, join(bucket, 'SHA256SUMS.gpg'), join(bucket, 'SHA256SUMS'))).exitCode).not.toBe(0);
    const s2 = await execa('sqop', ['verify', 'SHA256SUMS.gpg', 'cert.asc'], {
      cwd: bucket,
      inputFile: join(bucket, 'SHA256SUMS'),
      reject: false,
    });
    expect(s2.exitCode).not.toBe(0);
  });

  it('imageEntries refuses a .sha256 that names another file or does not match the image', async () => {
    const d = await buildImages('odd', '2.0.0');
    await writeFile(join(d, 'alloy-2.0.0-arm64.raw.sha256'), `${'0'.repeat(64)}  alloy-2.0.0-amd64.raw\n`);
    await expect(imageEntries(d, '2.0.0')).rejects.toThrow(
      `${join(d, 'alloy-2.0.0-arm64.raw.sha256')} is not a sha256sum line for alloy-2.0.0-arm64.raw (got "${'0'.repeat(64)}  alloy-2.0.0-amd64.raw\\n")`,
    );
    await writeFile(join(d, 'alloy-2.0.0-arm64.raw.sha256'), `${'0'.repeat(64)}  alloy-2.0.0-arm64.raw\n`);
    expect((await imageEntries(d, '2.0.0')).find((e) => e.file === 'alloy-2.0.0-arm64.raw')?.sha256).toBe('0'.repeat(64));
    await expect(imageEntries(d, '2.0.0', { verify: true })).rejects.toThrow(
      new RegExp(`alloy-2\\.0\\.0-arm64\\.raw: sha256 is [0-9a-f]{64}, but alloy-2\\.0\\.0-arm64\\.raw\\.sha256 says 0{64}`),
    );
    await expect(imageEntries(d, '9.9.9')).rejects.toThrow(`imageEntries: no <image>.sha256 files for version 9.9.9 in ${d}`);
  });
});
