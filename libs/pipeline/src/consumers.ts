import type { Consumer } from '@alloy-sysext/ghost-stack';
import type { AuthRef, ConsumerRecipe } from './recipe.js';

/**
 * Credentials for a consumer, from the environment variables its recipe entry names (a GitHub App per owner, or a
 * token), falling back to ALLOY_GITHUB_TOKEN. None at all → the PR step runs dry.
 */
export function consumerAuth(auth: AuthRef | undefined, env: NodeJS.ProcessEnv = process.env): Consumer['auth'] {
  if (auth?.app) {
    const id = env[auth.app.idEnv]?.trim();
    const privateKey = env[auth.app.privateKeyEnv];
    if (id && privateKey) return { app: { id, privateKey } };
    if (id || privateKey) {
      throw new Error(`GitHub App for this consumer is partly configured: set both ${auth.app.idEnv} and ${auth.app.privateKeyEnv}`);
    }
  }
  const token = (auth?.tokenEnv && env[auth.tokenEnv]) || env.ALLOY_GITHUB_TOKEN;
  return token ? { token } : {};
}

export function toConsumer(recipe: ConsumerRecipe, env: NodeJS.ProcessEnv = process.env): Consumer {
  return { ...recipe, auth: consumerAuth(recipe.auth, env) };
}

/** GitHub API base for consumers, the mirror and the release bot (the GitHub double in tests). */
export function githubApiUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.ALLOY_GITHUB_API_URL || undefined;
}
