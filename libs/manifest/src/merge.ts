// The pure step of a compare-and-swap publish loop: read the remote SHA256SUMS (and its ETag), call mergeManifest,
// write conditionally (If-Match / If-None-Match); on 412 read again and call it again. Because it only adds or replaces
// this version's entries, two publishers of different versions both survive whichever order they land in.
import { Manifest } from './manifest.js';

/** `current`: the remote manifest text, or null when none exists yet. Returns the new canonical text. */
export function mergeManifest(current: string | null, entries: readonly { file: string; sha256: string }[]): string {
  const base = current === null ? Manifest.empty() : Manifest.parse(current);
  return base.upsert(entries).serialize();
}
