// The summary `npm run demo` ends with: images and hashes, the bucket listing, SHA256SUMS, and each pull request once,
// under the URL the pr step's table printed for it.
export interface DemoResult {
  version: string;
  /** The images' checksum lines (`<sha256>  <image>`). */
  checksums: string[];
  bucket: string;
  objects: { key: string; size: number }[];
  manifestKey: string;
  manifest: string;
  pulls: { url: string; state: string; title: string; pins: { version: string; sha256: string } }[];
}

export function demoSummary(r: DemoResult): string {
  const indent = (lines: string[]) => lines.map((l) => `  ${l}`);
  return [
    `==== demo summary: alloy ${r.version} ====`,
    '',
    `images (dist/alloy/${r.version}/images):`,
    ...indent(r.checksums.map((l) => l.trimEnd())),
    '',
    `bucket ${r.bucket}:`,
    ...indent(r.objects.map((o) => `${String(o.size).padStart(9)}  ${o.key}`)),
    '',
    `${r.manifestKey}:`,
    ...indent(r.manifest.trimEnd().split('\n')),
    '',
    'pull requests on the GitHub double:',
    ...indent(r.pulls.map((p) => `${p.url}  ${p.state}  "${p.title}"  → pins ${p.pins.version} sha256-${p.pins.sha256}`)),
  ].join('\n');
}
