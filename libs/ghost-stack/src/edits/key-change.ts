// Key changes: add the new release key next to the ones a consumer trusts (rotation), or remove the old one once
// nothing needs it (retirement). Shared by every sysext the key signs, so nothing here names a sysext.
import type { KeyringKey } from '@alloy-sysext/signing';
import { KeyEntryUpdater, type KeyEntry } from '../butane-key.js';
import { ButaneError } from '../butane-scan.js';
import type { Consumer } from '../consumer.js';
import type { ConsumerEdit, EditDecision, Relation } from '../edit.js';
import { isKeyMarker, keyBranchName, keyBranchPrefix, keyCommitMessage, keyPrBody, keyPrTitle, type KeyMarker } from '../pr-body.js';

export interface KeyChangeOptions {
  /** `storage.files[].path` of the entry holding the consumer's release keys */
  keyPath: string;
}

type KeyEdit = KeyMarker['edit'];
type Key = Pick<KeyringKey, 'fingerprint' | 'userIds'>;

const fingerprints = (entry: KeyEntry) => entry.keys.map((k) => k.fingerprint);

/**
 * Adds `key` to the consumer's key entry. A newer rotation supersedes an open one for another key (that key was never
 * trusted everywhere, so nothing switched to it).
 */
export function addKey(key: KeyringKey, o: KeyChangeOptions): ConsumerEdit<KeyEntry> {
  return keyChange('add-key', key, o, 'older', async (updater, text, entry, { consumer, label }) => {
    if (fingerprints(entry).includes(key.fingerprint))
      return { upToDate: `${consumer.path} on ${consumer.base} already trusts ${key.fingerprint}` };
    return { text: await updater.addKey(text, key, label) };
  });
}

/**
 * Removes the key with `key.fingerprint`, refusing a file that does not hold `o.keep` (the key that signs what hosts
 * verify now: without it they would trust nothing). Retirements of different keys are independent of each other.
 */
export function removeKey(key: Key, o: KeyChangeOptions & { keep?: string }): ConsumerEdit<KeyEntry> {
  return keyChange('remove-key', key, o, 'unrelated', async (updater, text, entry, { consumer, label }) => {
    if (!fingerprints(entry).includes(key.fingerprint))
      return { upToDate: `${consumer.path} on ${consumer.base} no longer holds ${key.fingerprint}` };
    if (o.keep && !fingerprints(entry).includes(o.keep))
      throw new ButaneError(
        `${label}: ${o.keyPath} does not trust ${o.keep} yet, the key SHA256SUMS is signed by; removing ${key.fingerprint} ` +
          'would leave its hosts unable to verify it. Merge the pull request that adds the new key first (release-bot keys rotate)',
      );
    return { text: await updater.removeKey(text, key.fingerprint, label) };
  });
}

/**
 * A key edit: `change` gets the file and its key entry and returns the new text, or why there is nothing to do.
 * `otherKeys` is how an open pull request of the same edit for another key stands to this one.
 */
function keyChange(
  edit: KeyEdit,
  key: Key,
  o: KeyChangeOptions,
  otherKeys: Relation,
  change: (
    updater: KeyEntryUpdater,
    text: string,
    entry: KeyEntry,
    at: { consumer: Consumer; label: string },
  ) => Promise<{ text: string } | { upToDate: string }>,
): ConsumerEdit<KeyEntry> {
  const updater = new KeyEntryUpdater(o.keyPath);
  const verb = edit === 'add-key' ? 'trusting' : 'retiring';
  return {
    marker: { edit, key: key.fingerprint },
    branch: keyBranchName(edit, key.fingerprint),
    family: keyBranchPrefix(edit),
    subject: `${verb} release key ${key.fingerprint}`,
    describe: (other) => (isKeyMarker(other) ? `${verb} release key ${other.key}` : `version ${other.version}`),
    async decide(text, at): Promise<EditDecision<KeyEntry>> {
      const entry = await updater.read(text, at.label);
      const before = fingerprints(entry);
      const out = await change(updater, text, entry, at);
      if ('upToDate' in out) return { kind: 'up-to-date', state: entry, reason: out.upToDate };
      const after = edit === 'add-key' ? [...before, key.fingerprint] : before.filter((f) => f !== key.fingerprint);
      const { name, path } = at.consumer;
      return {
        kind: 'change',
        state: entry,
        text: out.text,
        title: keyPrTitle(edit, key.fingerprint),
        body: keyPrBody({ edit, consumer: name, path, keyPath: o.keyPath, key, before, after }),
        commitMessage: keyCommitMessage({ edit, consumer: name, fingerprint: key.fingerprint, path, keyPath: o.keyPath }),
      };
    },
    relation(other) {
      if (!isKeyMarker(other) || other.edit !== edit) return 'unrelated';
      return other.key === key.fingerprint ? 'same' : otherKeys;
    },
  };
}
