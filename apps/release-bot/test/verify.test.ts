// `release-bot verify` against a version published to the S3 peer (fetch → … → publish with the libs/pipeline steps,
// upstream from the release host peer). Each attack is applied to the bucket (or the recipe), verified, then undone.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createDirectoryStore, createS3Store, type ObjectStore } from '@alloy-sysext/r2';
import { generateKey, loadPrivateKey, signBytes, type GeneratedKey } from '@alloy-sysext/signing';
import { fetchStep, imageStep, manifestStep, prepareStep, publishStep, signStep } from '@alloy-sysext/pipeline';
import { startUpstreamHost, type UpstreamHost } from '@alloy-sysext/test-peers/upstream';
import { r2Env, startS3Peer, type S3Peer } from '@alloy-sysext/test-peers/s3';
import { startStaticServer } from '@alloy-sysext/test-peers/static-http';
import { EXIT, main } from '../src/index.js';
import { capture, WORKSPACE, tempWorkspace } from './helpers.js';

const VERSION = '1.10.2';
const IMAGES = [`alloy-${VERSION}-amd64.raw`, `alloy-${VERSION}-arm64.raw`, `alloy-${VERSION}.raw`];
let ws: { root: string; cleanup: () => Promise<void> };
let upstream: UpstreamHost;
let s3: S3Peer;
let key: GeneratedKey;
let env: NodeJS.ProcessEnv;
let bucket: ObjectStore;
const unit = () => path.join(ws.root, 'apps/alloy/files/alloy.service');

beforeAll(async () => {
  ws = await tempWorkspace({ signing: { identity: 'Verify test <v@example.org>', publicKey: 'release-key.asc' } });
  await mkdir(path.join(ws.root, 'apps/alloy/files'), { recursive: true });
  await copyFile(path.join(WORKSPACE, 'apps/alloy/files/alloy.service'), unit());
  key = await generateKey({ identity: 'Verify test <v@example.org>', outDir: path.join(ws.root, 'keys') });
  await copyFile(key.publicKeyPath, path.join(ws.root, 'apps/alloy/release-key.asc'));
  upstream = await startUpstreamHost({ releases: [{ version: VERSION }] });
  s3 = await startS3Peer();
  env = { ...r2Env(s3), ALLOY_UPSTREAM_API_URL: upstream.apiUrl };
  bucket = createS3Store({ endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, ...s3.credentials, prefix: 'alloy/' });
  const step = await prepareStep(
    { version: VERSION },
    { root: ws.root, env: { ...env, ALLOY_SIGNING_KEY: await readFile(key.privateKeyPath, 'utf8') }, log: () => {} },
  );
  for (const run of [fetchStep, imageStep, signStep, manifestStep, publishStep]) await run(step);
}, 240_000);
afterAll(async () => {
  await Promise.all([upstream?.stop(), s3?.stop()]);
  await ws?.cleanup();
});

/** Runs the literal command line; returns exit code, stdout and the table's rows by check name. */
async function verify(args: string[] = []) {
  const c = capture(ws.root, env);
  const code = await main(['verify', '--version', VERSION, ...args], c.ctx);
  const rows = new Map(
    c
      .stdout()
      .split('\n')
      .map((l) => /^(\S.*?)\s{2,}(ok|FAIL)\s{2,}(.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m![1]!, { result: m![2]!, detail: m![3]! }]),
  );
  const failed = [...rows].filter(([, r]) => r.result === 'FAIL').map(([check]) => check);
  return { code, stdout: c.stdout(), stderr: c.stderr(), rows, failed };
}

/** Applies `tamper` to one bucket object, runs `body`, and restores the original bytes. */
async function tampered(object: string, tamper: (bytes: Buffer) => Buffer | Promise<Buffer>, body: () => Promise<void>) {
  const original = (await bucket.get(object))!.body;
  await bucket.putBytes(object, await tamper(Buffer.from(original)));
  try {
    await body();
  } finally {
    await bucket.putBytes(object, original);
  }
}

describe('release-bot verify', () => {
  it('passes on an intact bucket: signatures, hashes, provenance, and a rebuild from upstream with identical bytes', async () => {
    const r = await verify();
    expect({ code: r.code, failed: r.failed, stderr: r.code ? r.stderr : '' }).toEqual({ code: EXIT.OK, failed: [], stderr: '' });
    expect(r.stdout).toMatch(/^check\s+result\s+detail\n/);
    for (const check of [
      'release key',
      'SHA256SUMS.gpg',
      `SHA256SUMS lists ${VERSION}`,
      ...IMAGES.flatMap((f) => [`${f} = SHA256SUMS`, `${f}.sha256`, `${f}.asc`, `rebuild ${f}`]),
      `alloy-${VERSION}.intoto.json.asc`,
      `alloy-${VERSION}.intoto.json subjects`,
      'upstream alloy-linux-amd64.zip',
      'upstream alloy-linux-arm64.zip',
    ]) {
      expect([check, r.rows.get(check)?.result]).toEqual([check, 'ok']);
    }
    expect(r.rows.get('release key')!.detail).toContain('recipe signing.publicKey');
    expect(r.rows.get(`rebuild alloy-${VERSION}-arm64.raw`)!.detail).toMatch(/^identical bytes \(sha256 [0-9a-f]{64}, squashfs zstd\)$/);
    expect(r.stdout).toContain(`alloy ${VERSION}: all ${r.rows.size} checks hold`);
  }, 120_000);

  it('fails on one flipped image byte, naming the image against SHA256SUMS, its .sha256, its .asc and the rebuild', async () => {
    const file = `alloy-${VERSION}-arm64.raw`;
    await tampered(
      file,
      (b) => ((b[b.length - 100] ^= 0x01), b),
      async () => {
        const r = await verify();
        expect(r.code).toBe(EXIT.VERIFY_FAILED);
        expect(r.failed).toEqual([
          `${file} = SHA256SUMS`,
          `${file}.sha256`,
          `${file}.asc`,
          `alloy-${VERSION}.intoto.json subjects`,
          `rebuild ${file}`,
        ]);
        expect(r.rows.get(`${file}.asc`)!.detail).toContain('BAD signature');
        expect(r.rows.get(`rebuild ${file}`)!.detail).toMatch(/^rebuilt sha256 [0-9a-f]{64}, the bucket has [0-9a-f]{64}$/);
      },
    );
  }, 120_000);

  it("fails on a swapped .asc (another image's valid signature)", async () => {
    const amd64Asc = (await bucket.get(`alloy-${VERSION}-amd64.raw.asc`))!.body;
    await tampered(
      `alloy-${VERSION}-arm64.raw.asc`,
      () => amd64Asc,
      async () => {
        const r = await verify();
        expect(r.code).toBe(EXIT.VERIFY_FAILED);
        expect(r.failed).toEqual([`alloy-${VERSION}-arm64.raw.asc`]);
      },
    );
  }, 120_000);

  it('fails on a line injected into SHA256SUMS: the signature no longer verifies and the extra image is named', async () => {
    await tampered(
      'SHA256SUMS',
      (b) => Buffer.concat([b, Buffer.from(`${'ab'.repeat(32)}  alloy-${VERSION}-riscv64.raw\n`)]),
      async () => {
        const r = await verify();
        expect(r.code).toBe(EXIT.VERIFY_FAILED);
        expect(r.failed).toEqual(['SHA256SUMS.gpg', `SHA256SUMS lists ${VERSION}`, `alloy-${VERSION}.intoto.json subjects`]);
        expect(r.rows.get(`SHA256SUMS lists ${VERSION}`)!.detail).toBe(`unexpected alloy-${VERSION}-riscv64.raw`);
        expect(r.rows.get('SHA256SUMS.gpg')!.detail).toContain('BAD signature');
      },
    );
  }, 120_000);

  it('fails when the bucket is re-signed by another key along with its keyring: the bucket is not a trust root', async () => {
    const attacker = await generateKey({ identity: 'Mallory <m@example.org>', outDir: path.join(ws.root, `mallory-${Date.now()}`) });
    const signer = await loadPrivateKey(await readFile(attacker.privateKeyPath, 'utf8'));
    const keyring = (await bucket.get('import-pubring.gpg'))!.body;
    await bucket.putBytes('import-pubring.gpg', signer.publicKeyBinary());
    try {
      await tampered(
        'SHA256SUMS.gpg',
        async () => Buffer.from(await signBytes((await bucket.get('SHA256SUMS'))!.body, signer)),
        async () => {
          const r = await verify();
          expect(r.code).toBe(EXIT.VERIFY_FAILED);
          expect(r.failed).toEqual(['SHA256SUMS.gpg']);
          expect(r.rows.get('SHA256SUMS.gpg')!.detail).toContain(`not by the expected key ${key.fingerprint}`);
          // Trusting the attacker's key (--key) makes the manifest verify, and then every image signature fails instead.
          const trusting = await verify(['--key', path.relative(ws.root, attacker.publicKeyPath)]);
          expect(trusting.rows.get('release key')!.detail).toBe(
            `${attacker.fingerprint} (--key ${path.relative(ws.root, attacker.publicKeyPath)})`,
          );
          expect(trusting.rows.get('SHA256SUMS.gpg')!.result).toBe('ok');
          expect(trusting.failed).toEqual([...IMAGES.map((f) => `${f}.asc`), `alloy-${VERSION}.intoto.json.asc`]);
        },
      );
    } finally {
      await bucket.putBytes('import-pubring.gpg', keyring);
    }
  }, 120_000);

  it('fails when the rebuild differs (the recipe changed: another unit file), naming what changed since the build', async () => {
    const original = await readFile(unit(), 'utf8');
    await writeFile(unit(), original.replace('[Service]', '[Service]\nNice=5'));
    try {
      const r = await verify();
      expect(r.code).toBe(EXIT.VERIFY_FAILED);
      expect(r.failed).toEqual(IMAGES.map((f) => `rebuild ${f}`));
      expect(r.rows.get(`rebuild alloy-${VERSION}-amd64.raw`)!.detail).toMatch(
        /^rebuilt sha256 [0-9a-f]{64}, the bucket has [0-9a-f]{64}; unit apps\/alloy\/files\/alloy\.service has sha256 [0-9a-f]{64}, the build used [0-9a-f]{64}$/,
      );
    } finally {
      await writeFile(unit(), original);
    }
  }, 120_000);

  it('--zipDir rebuilds from local zips (no upstream request) and still proves the bytes', async () => {
    const zipDir = path.join(ws.root, 'zips');
    await mkdir(zipDir, { recursive: true });
    const upstreamDir = path.join(ws.root, 'dist/alloy', VERSION, 'upstream');
    for (const f of (await readdir(upstreamDir)).filter((f) => f.endsWith('.zip')))
      await copyFile(path.join(upstreamDir, f), path.join(zipDir, f));
    const before = upstream.requests.length;
    const r = await verify(['--zipDir', zipDir]);
    expect({ code: r.code, failed: r.failed }).toEqual({ code: EXIT.OK, failed: [] });
    // the zips' sha256 are proved by the rebuild; the live digest the build was checked against is out of reach offline
    expect(r.rows.get('upstream alloy-linux-amd64.zip')!.detail).toContain(
      'github-asset-digest, not re-checked: verify ran from an asset directory',
    );
    expect(upstream.requests.slice(before)).toEqual([]);
  }, 120_000);

  // The provenance the key signed when publish copied an edited fetch record (issue 20, finding 1): validly signed,
  // subjects intact, zips' sha256 intact. Only its dependencies' other fields lie; verify checks them against the roots.
  it.each<[string, (deps: any[]) => any[], string, RegExp]>([
    [
      'another uri',
      (deps) => deps.map((d) => ({ ...d, uri: `https://evil.example/${d.name}` })),
      'upstream alloy-linux-amd64.zip',
      /^uri: the provenance records "https:\/\/evil\.example\/alloy-linux-amd64\.zip", expected http:\/\/127\.0\.0\.1:\d+\/grafana\/alloy\/releases\/download\/v1\.10\.2\/alloy-linux-amd64\.zip$/,
    ],
    [
      'a digest source nobody checked',
      (deps) => deps.map((d) => ({ ...d, annotations: { ...d.annotations, digestSource: 'recipe-pin', pinned: true } })),
      'upstream alloy-linux-arm64.zip',
      /pinned: the provenance records true, expected false; digestSource: the provenance records "recipe-pin", which does not vouch for it now/,
    ],
    [
      'an extra zip',
      (deps) => [...deps, { ...deps[0], name: 'backdoor.zip', uri: 'https://evil.example/backdoor.zip' }],
      'upstream dependencies',
      /^the provenance lists "backdoor\.zip", which the recipe builds from no such asset$/,
    ],
  ])(
    'fails on a validly signed provenance naming %s for the upstream zips',
    async (_what, forge, check, detail) => {
      const name = `alloy-${VERSION}.intoto.json`;
      const signer = await loadPrivateKey(await readFile(key.privateKeyPath, 'utf8'));
      const original = { json: (await bucket.get(name))!.body, asc: (await bucket.get(`${name}.asc`))!.body };
      const statement = JSON.parse(original.json.toString('utf8'));
      const deps = statement.predicate.buildDefinition.resolvedDependencies;
      statement.predicate.buildDefinition.resolvedDependencies = forge(deps);
      const forged = Buffer.from(`${JSON.stringify(statement, null, 2)}\n`);
      await bucket.putBytes(name, forged);
      await bucket.putBytes(`${name}.asc`, Buffer.from(await signBytes(forged, signer)));
      try {
        const r = await verify();
        expect(r.code).toBe(EXIT.VERIFY_FAILED);
        // forged for every arch: the amd64 and arm64 rows fail alike
        expect(r.failed).toEqual(
          check === 'upstream dependencies' ? [check] : ['upstream alloy-linux-amd64.zip', 'upstream alloy-linux-arm64.zip'],
        );
        expect(r.rows.get(check)!.detail).toMatch(detail);
        expect(r.rows.get(`${name}.asc`)!.result).toBe('ok');
      } finally {
        await bucket.putBytes(name, original.json);
        await bucket.putBytes(`${name}.asc`, original.asc);
      }
    },
    120_000,
  );

  it('a version that is not published fails without downloading upstream', async () => {
    const before = upstream.requests.length;
    const c = capture(ws.root, env);
    expect(await main(['verify', '--version', '1.10.3'], c.ctx)).toBe(EXIT.VERIFY_FAILED);
    expect(c.stdout()).toMatch(
      /SHA256SUMS lists 1\.10\.3\s+FAIL\s+missing alloy-1\.10\.3-amd64\.raw, alloy-1\.10\.3-arm64\.raw, alloy-1\.10\.3\.raw/,
    );
    expect(c.stdout()).toMatch(/rebuild\s+FAIL\s+skipped: s3:\/\/\S+ at http:\/\/127\.0\.0\.1:\d+ holds no image of 1\.10\.3/);
    expect(upstream.requests.slice(before)).toEqual([]);
  });

  it('a symlink in the local bucket (SHA256SUMS or an image, same bytes) fails that check naming it: exit 4, not 1', async () => {
    // the published version copied into a directory bucket, then one object swapped for a link to a copy of itself
    const dir = path.join(ws.root, 'linked-bucket');
    const local = createDirectoryStore(dir, { prefix: 'alloy/' });
    for (const { key } of await bucket.list('')) await local.putBytes(key, (await bucket.get(key))!.body);
    const localEnv = { ALLOY_UPSTREAM_API_URL: upstream.apiUrl, ALLOY_LOCAL_BUCKET: dir };
    for (const [object, check] of [
      ['SHA256SUMS', 'SHA256SUMS'],
      [IMAGES[0]!, IMAGES[0]!],
      [`${IMAGES[1]}.asc`, `${IMAGES[1]}.asc`],
    ] as const) {
      const file = path.join(dir, 'alloy', object);
      await copyFile(file, `${file}.outside`);
      await rm(file);
      await symlink(`${file}.outside`, file);
      const c = capture(ws.root, localEnv);
      expect([object, await main(['verify', '--version', VERSION], c.ctx)]).toEqual([object, EXIT.VERIFY_FAILED]);
      expect(c.stdout()).toMatch(
        new RegExp(`${check.replace(/\./g, '\\.')}\\s+FAIL\\s+cannot be read: .*is a symlink: refusing to follow it`),
      );
      await rm(file);
      await rename(`${file}.outside`, file);
    }
  }, 180_000);

  it('without a trusted key (no --key, no recipe signing.publicKey) it is a usage error that says where to put one', async () => {
    const bare = await tempWorkspace();
    try {
      const c = capture(bare.root, env);
      expect(await main(['verify', '--version', VERSION], c.ctx)).toBe(EXIT.USAGE);
      expect(c.stderr()).toContain('no trusted release key: pass --key FILE');
      expect(c.stderr()).toContain("The bucket's import-pubring.gpg is not used");
    } finally {
      await bare.cleanup();
    }
  });

  it('README "Verify a release yourself": the gpg/sha256sum commands and `npm run release-bot -- verify` work as written', async () => {
    const readme = await readFile(path.join(WORKSPACE, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Verify a release yourself'));
    const [manual, rebuild] = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(rebuild!.trim()).toBe(`npm run release-bot -- verify --version ${VERSION} --key release-key.asc`);

    // The bucket as its public URL serves it.
    const served = path.join(ws.root, 'served');
    for (const o of await bucket.list('')) {
      await mkdir(path.dirname(path.join(served, o.key)), { recursive: true });
      await writeFile(path.join(served, o.key), (await bucket.get(o.key))!.body);
    }
    const http = await startStaticServer({ root: served });
    // Where the user types the commands: inside the clone (dist/ is git-ignored), holding the release key.
    await mkdir(path.join(WORKSPACE, 'dist'), { recursive: true });
    const here = await mkdtemp(path.join(WORKSPACE, 'dist', 'readme-verify-'));
    try {
      await copyFile(key.publicKeyPath, path.join(here, 'release-key.asc'));
      await mkdir(path.join(here, 'gnupg'), { mode: 0o700 });
      const shell = (script: string) =>
        execa('bash', ['-euo', 'pipefail', '-c', script.replace('https://sysext.example.com/alloy', http.url.replace(/\/$/, ''))], {
          cwd: here,
          env: { PATH: process.env.PATH, GNUPGHOME: path.join(here, 'gnupg') },
          extendEnv: false,
          reject: false,
          all: true,
        });
      const good = await shell(manual!);
      expect({ code: good.exitCode, out: good.all }).toEqual({ code: 0, out: expect.stringContaining(`alloy-${VERSION}-amd64.raw: OK`) });
      expect(good.all!.match(/Good signature from "Verify test <v@example\.org>"/g)).toHaveLength(3);

      const image = path.join(served, `alloy-${VERSION}-amd64.raw`);
      const bytes = await readFile(image);
      bytes[4096] ^= 0xff;
      await writeFile(image, bytes);
      await rm(path.join(here, `alloy-${VERSION}-amd64.raw`));
      const bad = await shell(manual!);
      expect(bad.exitCode).not.toBe(0);
      expect(bad.all).toContain(`alloy-${VERSION}-amd64.raw: FAILED`);

      const cli = await execa('bash', ['-c', rebuild!], {
        cwd: here,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
        extendEnv: false,
        reject: false,
        all: true,
      });
      expect({ code: cli.exitCode, out: cli.exitCode === 0 ? '' : cli.all }).toEqual({ code: 0, out: '' });
      expect(cli.stdout).toMatch(new RegExp(`rebuild alloy-${VERSION.replaceAll('.', '\\.')}-amd64\\.raw\\s+ok\\s+identical bytes`));
      expect(cli.stdout).toContain(`(--key release-key.asc)`);
    } finally {
      await http.close();
      await rm(here, { recursive: true, force: true });
    }
  }, 180_000);
});
