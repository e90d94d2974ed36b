// Pull request titles, bodies, commit messages and the hidden marker that makes reruns idempotent, for each edit a
// consumer can get: a version bump, or a release key added or removed.

/** What a version bump proposes (the marker every version pull request has carried). */
export interface VersionMarker {
  version: string;
  sha256: string;
  consumer?: string;
}

/** What a key change proposes: the key's fingerprint, added or removed. */
export interface KeyMarker {
  edit: 'add-key' | 'remove-key';
  key: string;
  consumer?: string;
}

export type Marker = VersionMarker | KeyMarker;

export const isKeyMarker = (m: Marker | undefined): m is KeyMarker => m !== undefined && 'key' in m;

const MARKER_RE = /<!--\s*alloy-sysext:\s*([^>]*?)\s*-->/g;

/** The marker's fields without the consumer, e.g. `version=1.11.0 sha256=…` or `edit=add-key key=…`. */
export function markerFields(m: Marker): string {
  return isKeyMarker(m) ? `edit=${m.edit} key=${m.key}` : `version=${m.version} sha256=${m.sha256}`;
}

export function renderMarker(m: Marker): string {
  return `<!-- alloy-sysext: ${markerFields(m)}${m.consumer ? ` consumer=${m.consumer}` : ''} -->`;
}

/** The last marker in a body (the bot writes it at the end; release notes cannot smuggle one in, see defuseNotes). */
export function parseMarker(body: string | null | undefined): Marker | undefined {
  const m = [...(body ?? '').matchAll(MARKER_RE)].pop();
  if (!m) return undefined;
  const fields = Object.fromEntries(m[1]!.split(/\s+/).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  if ((fields.edit === 'add-key' || fields.edit === 'remove-key') && fields.key)
    return { edit: fields.edit, key: fields.key, consumer: fields.consumer };
  if (!fields.version || !fields.sha256) return undefined;
  return { version: fields.version, sha256: fields.sha256, consumer: fields.consumer };
}

export function branchName(name: string, version: string): string {
  return `feature/update-${name}-sysext-to-${version}`;
}

export function prTitle(name: string, version: string): string {
  return `Update ${name} sysext to ${version}`;
}

export function commitMessage(o: {
  name: string;
  consumer: string;
  version: string;
  sha256: string;
  imageUrl: string;
  path: string;
}): string {
  return [
    `Update ${o.name} sysext to ${o.version}`,
    '',
    `Bump ${o.path} to ${o.imageUrl}`,
    `sha256 ${o.sha256}`,
    '',
    `Alloy-Sysext-Consumer: ${o.consumer}`,
  ].join('\n');
}

/** Keep release notes from pinging people, linking the consumer's issues, or carrying hidden markers. */
export function defuseNotes(notes: string, upstreamRepo?: string): string {
  let out = notes.replace(/<!--[\s\S]*?(-->|$)/g, '').replace(/(^|[^\w`])@([A-Za-z0-9][A-Za-z0-9-]*)/g, '$1@&#8203;$2');
  if (upstreamRepo) out = out.replace(/(^|[\s(])#(\d+)\b/g, `$1${upstreamRepo}#$2`);
  return out;
}

export function excerpt(notes: string, maxLines = 30, maxChars = 2500): { text: string; truncated: boolean } {
  const lines = notes.replace(/\r\n/g, '\n').trim().split('\n');
  const kept: string[] = [];
  let size = 0;
  for (const line of lines) {
    if (kept.length >= maxLines || size + line.length + 1 > maxChars) return { text: kept.join('\n'), truncated: true };
    kept.push(line);
    size += line.length + 1;
  }
  return { text: kept.join('\n'), truncated: false };
}

export interface BodyInput {
  name: string;
  consumer: string;
  path: string;
  old: { version: string; sha256: string; file: string };
  version: string;
  sha256: string;
  file: string;
  imageUrl: string;
  release: { url: string; notes?: string };
}

export function prBody(b: BodyInput): string {
  const upstream = /^https:\/\/github\.com\/([^/]+\/[^/]+)\/releases\//.exec(b.release.url)?.[1];
  const lines = [
    `Bumps the **${b.name}** systemd-sysext in \`${b.path}\` from **${b.old.version}** to **${b.version}**.`,
    '',
    '| | version | image | sha256 |',
    '|---|---|---|---|',
    `| old | ${b.old.version} | \`${b.old.file}\` | \`${b.old.sha256}\` |`,
    `| new | ${b.version} | \`${b.file}\` | \`${b.sha256}\` |`,
    '',
    `- Image: ${b.imageUrl}`,
    `- Signature: ${b.imageUrl}.asc`,
    `- Upstream release: ${b.release.url}`,
  ];
  if (b.release.notes?.trim()) {
    const ex = excerpt(defuseNotes(b.release.notes, upstream));
    lines.push(
      '',
      '<details><summary>Release notes (excerpt)</summary>',
      '',
      ex.text,
      ...(ex.truncated ? ['', `… [full release notes](${b.release.url})`] : []),
      '',
      '</details>',
    );
  }
  lines.push(
    '',
    '### Verification checklist',
    `- [ ] \`curl -fsSL ${b.imageUrl} | sha256sum\` prints \`${b.sha256}\``,
    `- [ ] \`gpg --verify ${b.file}.asc ${b.file}\` is a good signature from the alloy-sysext release key`,
    `- [ ] The config still renders (\`butane --strict\`, or \`tofu plan\` for templates)`,
    `- [ ] After rollout: \`systemd-sysext status\` lists ${b.name} and \`${b.name} --version\` reports ${b.version}`,
    '',
    `_Opened by alloy-sysext for consumer \`${b.consumer}\`. If you push to this branch the bot leaves it alone._`,
    '',
    renderMarker({ version: b.version, sha256: b.sha256, consumer: b.consumer }),
    '',
  );
  return lines.join('\n');
}

/** The hidden line that makes the blocked comment once per proposal and branch head. */
export function blockedMarker(m: Marker, head: string): string {
  return `<!-- alloy-sysext-blocked: ${markerFields(m)} head=${head} -->`;
}

export function blockedComment(o: { marker: Marker; proposal: string; head: string; authors: string[]; branch: string }): string {
  return [
    `alloy-sysext wanted to move \`${o.branch}\` to ${o.proposal}, but the branch has commits by ` +
      `${o.authors.map((a) => `\`${a}\``).join(', ')}, so it was left alone.`,
    '',
    'To let the bot take over again, delete the branch (or close this pull request and delete the branch); the next run recreates it.',
    '',
    blockedMarker(o.marker, o.head),
  ].join('\n');
}

/** Short form of a fingerprint for branch names and titles: its last 16 hex digits (the long key ID). */
export const keyId = (fingerprint: string) => fingerprint.slice(-16);

export function keyBranchName(edit: KeyMarker['edit'], fingerprint: string): string {
  return `${keyBranchPrefix(edit)}${keyId(fingerprint)}`;
}

/** Key pull requests are shared by every sysext the key signs, so their names carry no sysext name. */
export function keyBranchPrefix(edit: KeyMarker['edit']): string {
  return edit === 'add-key' ? 'feature/alloy-sysext-trust-key-' : 'feature/alloy-sysext-retire-key-';
}

export function keyPrTitle(edit: KeyMarker['edit'], fingerprint: string): string {
  return edit === 'add-key'
    ? `Trust the new alloy-sysext release key ${keyId(fingerprint)}`
    : `Retire the old alloy-sysext release key ${keyId(fingerprint)}`;
}

export interface KeyBodyInput {
  edit: KeyMarker['edit'];
  consumer: string;
  /** the consumer's Butane file */
  path: string;
  /** the storage.files entry holding the keys */
  keyPath: string;
  key: { fingerprint: string; userIds: string[] };
  before: string[];
  after: string[];
}

export function keyPrBody(b: KeyBodyInput): string {
  const adding = b.edit === 'add-key';
  const list = (fprs: string[]) => fprs.map((f) => `\`${f}\``).join('<br>');
  return [
    adding
      ? `Adds the new alloy-sysext release key \`${b.key.fingerprint}\` to \`${b.keyPath}\` in \`${b.path}\`, next to the ` +
        'key(s) hosts trust now. Hosts provisioned from this file then verify SHA256SUMS signed by either key; the ' +
        'release pipeline refuses to publish with the new key until every consumer trusts it.'
      : `Removes the old alloy-sysext release key \`${b.key.fingerprint}\` from \`${b.keyPath}\` in \`${b.path}\`. ` +
        'Every line of the published SHA256SUMS is signed by the new key, so hosts no longer need the old one.',
    '',
    '| | fingerprints |',
    '|---|---|',
    `| before | ${list(b.before)} |`,
    `| after | ${list(b.after)} |`,
    '',
    `- Key: \`${b.key.fingerprint}\`${b.key.userIds.length ? ` (${b.key.userIds.join(', ').replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'))})` : ''}`,
    '',
    '### Verification checklist',
    `- [ ] The fingerprint \`${b.key.fingerprint}\` matches the one the operator announced out of band (not this pull request)`,
    `- [ ] The config still renders (\`butane --strict\`, or \`tofu plan\` for templates)`,
    adding
      ? '- [ ] After rollout: `gpg --no-default-keyring --keyring /etc/systemd/import-pubring.gpg --list-keys` on a host lists both keys'
      : '- [ ] After rollout: `systemd-sysupdate list` on a host still verifies SHA256SUMS',
    '',
    `_Opened by alloy-sysext for consumer \`${b.consumer}\`. If you push to this branch the bot leaves it alone._`,
    '',
    renderMarker({ edit: b.edit, key: b.key.fingerprint, consumer: b.consumer }),
    '',
  ].join('\n');
}

export function keyCommitMessage(o: {
  edit: KeyMarker['edit'];
  consumer: string;
  fingerprint: string;
  path: string;
  keyPath: string;
}): string {
  return [
    keyPrTitle(o.edit, o.fingerprint),
    '',
    `${o.edit === 'add-key' ? 'Add' : 'Remove'} ${o.fingerprint} ${o.edit === 'add-key' ? 'to' : 'from'} ${o.keyPath} in ${o.path}`,
    '',
    `Alloy-Sysext-Consumer: ${o.consumer}`,
  ].join('\n');
}
