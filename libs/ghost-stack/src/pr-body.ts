// Pull request title, body, commit message and the hidden marker that makes reruns idempotent.

export interface Marker {
  version: string;
  sha256: string;
  consumer?: string;
}

const MARKER_RE = /<!--\s*alloy-sysext:\s*([^>]*?)\s*-->/g;

export function renderMarker(m: Marker): string {
  return `<!-- alloy-sysext: version=${m.version} sha256=${m.sha256}${m.consumer ? ` consumer=${m.consumer}` : ''} -->`;
}

/** The last marker in a body (the bot writes it at the end; release notes cannot smuggle one in, see defuseNotes). */
export function parseMarker(body: string | null | undefined): Marker | undefined {
  const m = [...(body ?? '').matchAll(MARKER_RE)].pop();
  if (!m) return undefined;
  const fields = Object.fromEntries(m[1]!.split(/\s+/).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
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

export function blockedComment(o: { version: string; sha256: string; head: string; authors: string[]; branch: string }): string {
  return [
    `alloy-sysext wanted to move \`${o.branch}\` to ${o.version} (sha256 \`${o.sha256}\`), but the branch has commits by ` +
      `${o.authors.map((a) => `\`${a}\``).join(', ')}, so it was left alone.`,
    '',
    'To let the bot take over again, delete the branch (or close this pull request and delete the branch); the next run recreates it.',
    '',
    `<!-- alloy-sysext-blocked: version=${o.version} sha256=${o.sha256} head=${o.head} -->`,
  ].join('\n');
}
