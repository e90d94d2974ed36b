// Bearer tokens and their roles. Pull-request runners get read-only tokens: PR code is untrusted, and a task run by a
// PR can write any bytes it likes as the cache entry for a hash that main will later look up (cache poisoning).
import { createHash, timingSafeEqual } from 'node:crypto';

export type Role = 'read-write' | 'read-only';

export interface TokenTable {
  /** The role of a presented token, or null when unknown. Constant time per known token. */
  roleOf(token: string): Role | null;
  counts(): Record<Role, number>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Parses `read-write:<token>,read-only:<token>,…` (the format of NX_CACHE_TOKENS). Only the first `:` separates the
 * role, so tokens may contain `:`; they may not contain `,`.
 */
export function parseTokens(spec: string): TokenTable {
  const entries: Array<{ hash: Buffer; role: Role }> = [];
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const at = raw.indexOf(':');
    const role = at > 0 ? raw.slice(0, at) : '';
    const token = at > 0 ? raw.slice(at + 1) : '';
    if (role !== 'read-write' && role !== 'read-only') {
      throw new Error(`NX_CACHE_TOKENS entry #${entries.length + 1} must look like "read-write:<token>" or "read-only:<token>"`);
    }
    if (token.length < 16) {
      throw new Error(`NX_CACHE_TOKENS entry #${entries.length + 1} (${role}): token is shorter than 16 characters`);
    }
    entries.push({ hash: digest(token), role });
  }
  if (!entries.length) throw new Error('NX_CACHE_TOKENS is empty: configure at least one "read-write:<token>" or "read-only:<token>"');
  return {
    roleOf(token) {
      const h = digest(token);
      let found: Role | null = null;
      for (const e of entries) if (timingSafeEqual(e.hash, h) && !found) found = e.role;
      return found;
    },
    counts() {
      return {
        'read-write': entries.filter((e) => e.role === 'read-write').length,
        'read-only': entries.filter((e) => e.role === 'read-only').length,
      };
    },
  };
}
