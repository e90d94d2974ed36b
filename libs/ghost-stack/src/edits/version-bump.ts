// The version bump: pin a new version and hash of one sysext image in the consumer's Butane file.
import semver from 'semver';
import { ButaneUpdater, type Pinned } from '../butane.js';
import type { ConsumerEdit, EditDecision, Relation } from '../edit.js';
import { GitHubError } from '../github.js';
import { branchName, commitMessage, isKeyMarker, prBody, prTitle, type Marker } from '../pr-body.js';

export interface VersionBumpOptions {
  /** sysext name: images are <name>-<version>-<arch>.raw */
  name: string;
  version: string;
  sha256: string;
  /** URL of this version's image for the consumer's arch (ends in .raw), or the base URL the image file lives under */
  imageUrl: string;
  release: { url: string; notes?: string };
  /** what the pipeline believes the consumer pinned before; only compared with the file and logged */
  previous?: { version: string; sha256?: string };
}

function imageUrlFor(imageUrl: string, file: string): string {
  if (/\.raw$/.test(new URL(imageUrl).pathname)) return imageUrl.slice(0, imageUrl.lastIndexOf('/') + 1) + file;
  return imageUrl.replace(/\/+$/, '') + '/' + file;
}

/** The edit that bumps a consumer's pin; a newer proposal wins, an older one is superseded. */
export function versionBump(o: VersionBumpOptions): ConsumerEdit<Pinned> {
  try {
    new URL(o.imageUrl);
  } catch {
    throw new GitHubError(`imageUrl ${JSON.stringify(o.imageUrl)} is not a URL`);
  }
  const { name, version, sha256 } = o;
  return {
    marker: { version, sha256 },
    branch: branchName(name, version),
    family: branchName(name, ''),
    subject: `${version} (sha256 ${sha256})`,
    describe: (other) => (isKeyMarker(other) ? `key ${other.key}` : `${name} ${other.version}`),

    async decide(text, { consumer, label, log }): Promise<EditDecision<Pinned>> {
      const tag = `[${consumer.name}]`;
      const updater = new ButaneUpdater({ name, version, sha256, arch: consumer.arch, imageUrl: (f) => imageUrlFor(o.imageUrl, f) });
      const pinned = updater.readPinned(text, label);
      const prev = o.previous;
      if (prev && (prev.version !== pinned.version || (prev.sha256 && prev.sha256 !== pinned.sha256)))
        log(`${tag} note: expected the base to pin ${prev.version}, it pins ${pinned.version} (sha256 ${pinned.sha256})`);
      const where = `${consumer.path} on ${consumer.base}`;
      if (pinned.version === version && pinned.sha256 === sha256)
        return { kind: 'up-to-date', state: pinned, reason: `${where} already pins ${name} ${version} (sha256 ${sha256}); nothing to do` };
      if (semver.valid(pinned.version) && semver.gt(pinned.version, version))
        return {
          kind: 'up-to-date',
          state: pinned,
          reason: `${where} pins ${name} ${pinned.version}, newer than ${version}; not downgrading`,
        };
      const file = updater.targetFile(pinned);
      const imageUrl = imageUrlFor(o.imageUrl, file);
      return {
        kind: 'change',
        state: pinned,
        text: updater.updateContent(text, label),
        title: prTitle(name, version),
        body: prBody({
          name,
          consumer: consumer.name,
          path: consumer.path,
          old: { version: pinned.version, sha256: pinned.sha256, file: pinned.file },
          version,
          sha256,
          file,
          imageUrl,
          release: o.release,
        }),
        commitMessage: commitMessage({ name, consumer: consumer.name, version, sha256, imageUrl, path: consumer.path }),
      };
    },

    relation(other: Marker): Relation {
      if (isKeyMarker(other)) return 'unrelated';
      if (other.version === version && other.sha256 === sha256) return 'same';
      return semver.valid(other.version) && semver.gt(other.version, version) ? 'newer' : 'older';
    },
  };
}
