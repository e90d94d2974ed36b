import { createPrivateKey } from 'node:crypto';
import type { Consumer } from '@alloy-sysext/ghost-stack';
import { normalizePrivateKey } from '@alloy-sysext/github';
import type { AuthRef, ConsumerRecipe } from './recipe.js';

/**
 * Credentials for a consumer, from the environment variables its recipe entry names (a GitHub App per owner, or a
 * token), falling back to ALLOY_GITHUB_TOKEN. None at all → the PR step runs dry.
 */
export function consumerAuth(auth: AuthRef | undefined, env: NodeJS.ProcessEnv = process.env): Consumer['auth'] {
  if (auth?.app) {
    const id = env[auth.app.idEnv]?.trim();
    const privateKey = env[auth.app.privateKeyEnv];
    if (id && privateKey)
      return { app: { id: checkAppId(id, auth.app.idEnv), privateKey: checkPrivateKey(privateKey, auth.app.privateKeyEnv) } };
    if (id || privateKey) {
      throw new Error(`GitHub App for this consumer is partly configured: set both ${auth.app.idEnv} and ${auth.app.privateKeyEnv}`);
    }
  }
  const token = (auth?.tokenEnv && env[auth.tokenEnv]) || env.ALLOY_GITHUB_TOKEN;
  return token ? { token } : {};
}

function checkAppId(id: string, variable: string): string {
  if (!/^[0-9]+$/.test(id)) throw new Error(`${variable} must be the GitHub App's numeric id, got ${JSON.stringify(id)}`);
  return id;
}

/** A key OpenSSL cannot load fails here, naming the variable, rather than later as a bare OpenSSL error. Never echoes it. */
function checkPrivateKey(value: string, variable: string): string {
  const pem = normalizePrivateKey(value, variable); // not a PEM nor base64 of one: says so, naming the variable
  try {
    createPrivateKey(pem);
    return value;
  } catch (error) {
    const reason = (error as Error).message.replace(/^error:[0-9A-F]+:/i, '');
    throw new Error(
      `${variable} is not a usable GitHub App private key (expected the PEM GitHub generated for the App, or base64 of it): ${reason}`,
      { cause: error },
    );
  }
}

/** Which environment variables a consumer's credentials come from, for error messages (names only, never values). */
export function credentialSource(auth: AuthRef | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (auth?.app && (env[auth.app.idEnv]?.trim() || env[auth.app.privateKeyEnv])) return `${auth.app.idEnv} + ${auth.app.privateKeyEnv}`;
  if (auth?.tokenEnv && env[auth.tokenEnv]) return auth.tokenEnv;
  if (env.ALLOY_GITHUB_TOKEN) return 'ALLOY_GITHUB_TOKEN';
  const names = [auth?.app && `${auth.app.idEnv} + ${auth.app.privateKeyEnv}`, auth?.tokenEnv, 'ALLOY_GITHUB_TOKEN'].filter(Boolean);
  return `none (set ${names.join(' or ')})`;
}

export function toConsumer(recipe: ConsumerRecipe, env: NodeJS.ProcessEnv = process.env): Consumer {
  return { ...recipe, auth: consumerAuth(recipe.auth, env) };
}

/** GitHub API base for consumers, the mirror and the release bot (the GitHub double in tests). */
export function githubApiUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.ALLOY_GITHUB_API_URL || undefined;
}
