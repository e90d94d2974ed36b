// Which versions of an image the bucket keeps: the newest N, and every version a consumer pins (a host being
// provisioned downloads the pinned image at first boot, so deleting it breaks new hosts). One decision, used by
// `release-bot prune` and the recipe's `bucket.keep`.
import semver from 'semver';
import type { Manifest } from './manifest.js';

/** A version something depends on, and who (printed as the reason it is kept). */
export interface Pin {
  version: string;
  by: string;
}

export interface RetentionPlan {
  /** Versions kept, newest first, each with why. */
  keep: Array<{ version: string; reasons: string[] }>;
  /** Versions to remove, oldest first. */
  remove: string[];
}

export function planRetention(manifest: Manifest, name: string, opts: { keep: number; pins: readonly Pin[] }): RetentionPlan {
  if (!Number.isInteger(opts.keep) || opts.keep < 1)
    throw new Error(`retention for ${name}: keep must be a whole number >= 1, got ${opts.keep}`);
  const versions = manifest.versions(name); // oldest first, semver
  const reasons = new Map<string, string[]>(versions.map((v) => [v, []]));
  versions
    .slice(-opts.keep)
    .reverse()
    .forEach((v, i) => reasons.get(v)!.push(`newest ${opts.keep} (#${i + 1})`));
  for (const pin of opts.pins) {
    const clean = semver.valid(pin.version);
    const listed = versions.find((v) => semver.valid(v) === clean);
    if (listed) reasons.get(listed)!.push(`pinned by ${pin.by}`);
  }
  const keep = versions
    .filter((v) => reasons.get(v)!.length > 0)
    .reverse()
    .map((version) => ({ version, reasons: reasons.get(version)! }));
  return { keep, remove: versions.filter((v) => reasons.get(v)!.length === 0) };
}
