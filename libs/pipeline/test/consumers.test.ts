import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { consumerAuth, credentialSource } from '../src/consumers.js';

const APP = { app: { idEnv: 'GHOST_STACK_APP_ID', privateKeyEnv: 'GHOST_STACK_APP_PRIVATE_KEY' } };

describe('consumer credentials from the environment', () => {
  it('a malformed App private key fails naming its variable, not as a bare OpenSSL error, and never echoes the key', () => {
    const garbage = '-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END RSA PRIVATE KEY-----\n';
    let error: Error | undefined;
    try {
      consumerAuth(APP, { GHOST_STACK_APP_ID: '12345', GHOST_STACK_APP_PRIVATE_KEY: garbage });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(/^GHOST_STACK_APP_PRIVATE_KEY is not a usable GitHub App private key/);
    expect(error?.message).not.toContain('bm90IGEga2V5');
    expect(error?.cause).toBeDefined();
    expect(() => consumerAuth(APP, { GHOST_STACK_APP_ID: '12345', GHOST_STACK_APP_PRIVATE_KEY: 'hello' })).toThrow(
      /^GHOST_STACK_APP_PRIVATE_KEY is neither a PEM/,
    );
    expect(() => consumerAuth(APP, { GHOST_STACK_APP_ID: 'ghost', GHOST_STACK_APP_PRIVATE_KEY: garbage })).toThrow(
      'GHOST_STACK_APP_ID must be the GitHub App\'s numeric id, got "ghost"',
    );
  });

  it('a good key (PEM, or base64 of it) passes', () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    for (const value of [privateKey, Buffer.from(privateKey).toString('base64')]) {
      expect(consumerAuth(APP, { GHOST_STACK_APP_ID: '12345', GHOST_STACK_APP_PRIVATE_KEY: value })).toEqual({
        app: { id: '12345', privateKey: value },
      });
    }
  });

  it('names where the credentials came from (variable names only)', () => {
    expect(credentialSource(APP, { GHOST_STACK_APP_ID: '1', GHOST_STACK_APP_PRIVATE_KEY: 'k', ALLOY_GITHUB_TOKEN: 't' })).toBe(
      'GHOST_STACK_APP_ID + GHOST_STACK_APP_PRIVATE_KEY',
    );
    expect(credentialSource(APP, { ALLOY_GITHUB_TOKEN: 'secret-token' })).toBe('ALLOY_GITHUB_TOKEN');
    expect(credentialSource(APP, {})).toBe('none (set GHOST_STACK_APP_ID + GHOST_STACK_APP_PRIVATE_KEY or ALLOY_GITHUB_TOKEN)');
  });
});
