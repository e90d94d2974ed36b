// Credentials the double accepts: minted personal-access-style tokens, GitHub App JWTs (RS256, verified with the
// registered public key) and installation tokens minted from them, each scoped the way GitHub scopes it.
import { createPublicKey, createVerify, randomBytes, type KeyObject } from 'node:crypto';
import { HttpError } from './errors.js';

/** permissions: GitHub App permission name → level; when omitted the installation may read and write everything served. */
export interface InstallationRec {
  id: number;
  owner: string;
  repos?: string[];
  appId: number;
  permissions?: Record<string, 'read' | 'write'>;
}
export interface AppRec {
  appId: number;
  slug: string;
  publicKey: KeyObject;
  installations: InstallationRec[];
  createdAt: string;
}

export type Actor =
  | { kind: 'none' }
  | { kind: 'token'; login: string; readOnly: boolean }
  | { kind: 'app-jwt'; app: AppRec }
  | { kind: 'installation'; app: AppRec; installation: InstallationRec; login: string; expiresAt: number };

export function actorLogin(a: Actor): string | undefined {
  if (a.kind === 'token' || a.kind === 'installation') return a.login;
  if (a.kind === 'app-jwt') return `${a.app.slug}[bot]`;
  return undefined;
}

/** GitHub answers 401 with this body for any token it does not know. */
export const badCredentials = (): HttpError => new HttpError(401, 'Bad credentials');

export class AuthState {
  readonly pats = new Map<string, { login: string; readOnly: boolean }>();
  readonly apps = new Map<number, AppRec>();
  readonly installationTokens = new Map<string, { app: AppRec; installation: InstallationRec; expiresAt: number }>();

  mintPat(login: string, readOnly: boolean): string {
    const token = `ghp_${randomBytes(18).toString('base64url')}`;
    this.pats.set(token, { login, readOnly });
    return token;
  }

  registerApp(opts: {
    appId: number;
    slug?: string;
    publicKeyPem: string;
    installations: Array<{ id: number; owner: string; repos?: string[]; permissions?: Record<string, 'read' | 'write'> }>;
  }): void {
    this.apps.set(opts.appId, {
      appId: opts.appId,
      slug: opts.slug ?? `app-${opts.appId}`,
      publicKey: createPublicKey(opts.publicKeyPem),
      installations: opts.installations.map((i) => ({ ...i, appId: opts.appId })),
      createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
  }

  mintInstallationToken(app: AppRec, installation: InstallationRec): { token: string; expiresAt: number } {
    const token = `ghs_${randomBytes(18).toString('base64url')}`;
    const expiresAt = Date.now() + 3600_000;
    this.installationTokens.set(token, { app, installation, expiresAt });
    return { token, expiresAt };
  }

  findInstallation(id: number): { app: AppRec; installation: InstallationRec } | undefined {
    for (const app of this.apps.values()) {
      const installation = app.installations.find((i) => i.id === id);
      if (installation) return { app, installation };
    }
    return undefined;
  }

  /** Throws the 401 GitHub would send; a missing header is anonymous access. */
  authenticate(header: string | undefined): Actor {
    if (!header) return { kind: 'none' };
    const m = /^(?:token|bearer)\s+(\S+)$/i.exec(header.trim());
    if (!m) throw badCredentials();
    const credential = m[1]!;
    const pat = this.pats.get(credential);
    if (pat) return { kind: 'token', ...pat };
    const inst = this.installationTokens.get(credential);
    if (inst) {
      if (inst.expiresAt <= Date.now()) throw badCredentials();
      return {
        kind: 'installation',
        app: inst.app,
        installation: inst.installation,
        login: `${inst.app.slug}[bot]`,
        expiresAt: inst.expiresAt,
      };
    }
    if (credential.split('.').length === 3) return { kind: 'app-jwt', app: this.verifyJwt(credential) };
    throw badCredentials();
  }

  private verifyJwt(jwt: string): AppRec {
    const [h, p, s] = jwt.split('.') as [string, string, string];
    let header: { alg?: string };
    let payload: { iss?: string | number; iat?: number; exp?: number };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    } catch {
      throw new HttpError(401, 'A JSON web token could not be decoded');
    }
    if (header.alg !== 'RS256') throw new HttpError(401, "'alg' must be RS256");
    const app = this.apps.get(Number(payload.iss));
    if (!app) throw new HttpError(401, `'Issuer' claim ('iss') must be an Integer or a String of an App ID or Client ID`);
    const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(app.publicKey, Buffer.from(s, 'base64url'));
    if (!ok) throw new HttpError(401, 'A JSON web token could not be decoded');
    const nowSec = Math.floor(Date.now() / 1000);
    if (typeof payload.exp !== 'number' || payload.exp <= nowSec)
      throw new HttpError(
        401,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    // GitHub allows clock drift but refuses JWTs living longer than 10 minutes.
    if (payload.exp > nowSec + 600 + 60) throw new HttpError(401, "'Expiration time' claim ('exp') is too far in the future");
    if (typeof payload.iat === 'number' && payload.iat > nowSec + 60)
      throw new HttpError(401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued");
    return app;
  }
}
