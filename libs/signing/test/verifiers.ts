// Real third-party verifiers for tests: gpg 2.2 in a throwaway GNUPGHOME, and Sequoia's sqop.
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface VerifierResult {
  ok: boolean;
  output: string;
}

/** `gpg --verify` with only `publicKeyArmored` imported; `ok` also requires a VALIDSIG status line. */
export async function gpgVerify(
  publicKeyArmored: string,
  signaturePath: string,
  dataPath: string,
): Promise<VerifierResult & { validsig?: string[] }> {
  const home = await mkdtemp(join(tmpdir(), 'gnupg-'));
  try {
    await writeFile(join(home, 'pub.asc'), publicKeyArmored);
    await execa('gpg', ['--homedir', home, '--batch', '--quiet', '--import', join(home, 'pub.asc')]);
    return await gpgVerifyIn(home, [], signaturePath, dataPath);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** `gpg --verify` of a cleartext-signed file (text and signature in one) with only `publicKeyArmored` imported. */
export async function gpgVerifyCleartext(publicKeyArmored: string, signedPath: string): Promise<VerifierResult & { validsig?: string[] }> {
  const home = await mkdtemp(join(tmpdir(), 'gnupg-'));
  try {
    await writeFile(join(home, 'pub.asc'), publicKeyArmored);
    await execa('gpg', ['--homedir', home, '--batch', '--quiet', '--import', join(home, 'pub.asc')]);
    const r = await execa('gpg', ['--homedir', home, '--batch', '--trust-model', 'always', '--status-fd', '1', '--verify', signedPath], {
      reject: false,
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith('[GNUPG:] VALIDSIG '));
    return { ok: r.exitCode === 0 && !!line, output: `${r.stdout}\n${r.stderr}`, validsig: line?.split(' ').slice(2) };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** What systemd-pull does: `gpg --no-default-keyring --keyring <binary keyring> --verify`. */
export async function gpgVerifyWithKeyring(
  keyringPath: string,
  signaturePath: string,
  dataPath: string,
): Promise<VerifierResult & { validsig?: string[] }> {
  const home = await mkdtemp(join(tmpdir(), 'gnupg-'));
  try {
    return await gpgVerifyIn(home, ['--no-default-keyring', '--keyring', keyringPath], signaturePath, dataPath);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

async function gpgVerifyIn(home: string, extra: string[], sig: string, data: string) {
  const r = await execa(
    'gpg',
    ['--homedir', home, '--batch', '--trust-model', 'always', '--status-fd', '1', ...extra, '--verify', sig, data],
    { reject: false },
  );
  const line = r.stdout.split('\n').find((l) => l.startsWith('[GNUPG:] VALIDSIG '));
  return { ok: r.exitCode === 0 && !!line, output: `${r.stdout}\n${r.stderr}`, validsig: line?.split(' ').slice(2) };
}

/** `sqop verify SIG CERT < data`. */
export async function sqopVerify(publicKeyArmored: string, signaturePath: string, dataPath: string): Promise<VerifierResult> {
  const dir = await mkdtemp(join(tmpdir(), 'sqop-'));
  try {
    const cert = join(dir, 'cert.asc');
    await writeFile(cert, publicKeyArmored);
    const r = await execa('sqop', ['verify', signaturePath, cert], { inputFile: dataPath, reject: false });
    return { ok: r.exitCode === 0, output: `${r.stdout}\n${r.stderr}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
