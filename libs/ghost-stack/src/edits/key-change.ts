// Key changes: add the new release key next to the ones a consumer trusts (rotation), or remove the old one once
// nothing needs it (retirement). Shared by every sysext the key signs, so nothing here names a sysext.
import { KeyEntryUpdater, type KeyEntry } from '../butane-key.js';
import { ButaneError } from '../butane-scan.js';
import type { ConsumerEdit, EditDecision, Relation } from '../edit.js';
import { isKeyMarker, keyBranchName, keyBranchPrefix, keyCommitMessage, keyPrBody, keyPrTitle, type Marker } from '../pr-body.js';
import type { KeyringKey } from '@alloy-sysext/signing';

export interface KeyChangeOptions {
  /** `storage.files[].path` of the entry holding the consumer's release keys */
  keyPath: string;
}

const fingerprints = (entry: KeyEntry) => entry.keys.map((k) => k.fingerprint);

/**
 * Adds `key` to the consumer's key entry. A newer rotation supersedes an open one for another key (that key was never
 * trusted everywhere, so nothing switched to it).
 */
export function addKey(key: KeyringKey, o: KeyChangeOptions): ConsumerEdit<KeyEntry> {
  const updater = new KeyEntryUpdater(o.keyPath);
  return {
    marker: { edit: 'add-key', key: key.fingerprint },
    branch: keyBranchName('add-key', key.fingerprint),
    family: keyBranchPrefix('add-key'),
    subject: `trusting release key ${key.fingerprint}`,
    describe: (other) => (isKeyMarker(other) ? `trusting release key ${other.key}` : `version ${other.version}`),
    async decide(text, { consumer, label }): Promise<EditDecision<KeyEntry>> {
      const entry = await updater.read(text, label);
      if (fingerprints(entry).includes(key.fingerprint))
        return { kind: 'up-to-date', state: entry, reason: `${consumer.path} on ${consumer.base} already trusts ${key.fingerprint}` };
      const out = await updater.addKey(text, key, label);
      return { kind: 'change', state: entry, text: out, ...keyProposal('add-key', key, entry, consumer, o.keyPath) };
    },
    relation: (other) => keyRelation('add-key', key.fingerprint, other, 'older'),
  };
}

/**
 * Removes the key with `key.fingerprint`, refusing a file that does not hold `o.keep` (the key that signs what hosts
 * verify now: without it they would trust nothing). Retirements of different keys are independent of each other.
 */
export function removeKey(
  key: Pick<KeyringKey, 'fingerprint' | 'userIds'>,
  o: KeyChangeOptions & { keep?: string },
): ConsumerEdit<KeyEntry> {
  const updater = new KeyEntryUpdater(o.keyPath);
  return {
    marker: { edit: 'remove-key', key: key.fingerprint },
    branch: keyBranchName('remove-key', key.fingerprint),
    family: keyBranchPrefix('remove-key'),
    subject: `retiring release key ${key.fingerprint}`,
    describe: (other) => (isKeyMarker(other) ? `retiring release key ${other.key}` : `version ${other.version}`),
    async decide(text, { consumer, label }): Promise<EditDecision<KeyEntry>> {
      const entry = await updater.read(text, label);
      if (!fingerprints(entry).includes(key.fingerprint))
        return { kind: 'up-to-date', state: entry, reason: `${consumer.path} on ${consumer.base} no longer holds ${key.fingerprint}` };
      if (o.keep && !fingerprints(entry).includes(o.keep))
        throw new ButaneError(
          `${label}: ${o.keyPath} does not trust ${o.keep} yet, the key SHA256SUMS is signed by; removing ${key.fingerprint} ` +
            'would leave its hosts unable to verify it. Merge the pull request that adds the new key first (release-bot keys rotate)',
        );
      const out = await updater.removeKey(text, key.fingerprint, label);
      return { kind: 'change', state: entry, text: out, ...keyProposal('remove-key', key, entry, consumer, o.keyPath) };
    },
    relation: (other) => keyRelation('remove-key', key.fingerprint, other, 'unrelated'),
  };
}

function keyRelation(edit: 'add-key' | 'remove-key', fingerprint: string, other: Marker, otherKey: Relation): Relation {
  if (!isKeyMarker(other) || other.edit !== edit) return 'unrelated';
  return other.key === fingerprint ? 'same' : otherKey;
}

function keyProposal(
  edit: 'add-key' | 'remove-key',
  key: Pick<KeyringKey, 'fingerprint' | 'userIds'>,
  entry: KeyEntry,
  consumer: { name: string; path: string },
  keyPath: string,
) {
  const before = fingerprints(entry);
  const after = edit === 'add-key' ? [...before, key.fingerprint] : before.filter((f) => f !== key.fingerprint);
  return {
    title: keyPrTitle(edit, key.fingerprint),
    body: keyPrBody({ edit, consumer: consumer.name, path: consumer.path, keyPath, key, before, after }),
    commitMessage: keyCommitMessage({ edit, consumer: consumer.name, fingerprint: key.fingerprint, path: consumer.path, keyPath }),
  };
}
