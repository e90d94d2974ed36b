// Defaults for the objects this project publishes: versioned artifacts never change once published (immutable);
// the manifest and its signature change with every release and must be revalidated (no-cache).
import { MANIFEST, MANIFEST_SIGNATURE } from '@alloy-sysext/common';

export function isManifestKey(key: string): boolean {
  const base = key.split('/').pop() ?? key;
  return base === MANIFEST || base === MANIFEST_SIGNATURE;
}

export function cacheControlFor(key: string): string {
  return isManifestKey(key) ? 'no-cache' : 'public, max-age=31536000, immutable';
}

export function contentTypeFor(key: string): string {
  const base = key.split('/').pop() ?? key;
  if (base === MANIFEST || base.endsWith('.sha256')) return 'text/plain; charset=utf-8';
  if (base.endsWith('.asc')) return 'application/pgp-signature';
  if (base.endsWith('.gpg')) return 'application/pgp-signature';
  if (base.endsWith('.json')) return 'application/json';
  return 'application/octet-stream';
}
