import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { diffLines } from 'diff';
import { ButaneUpdater, readPinned, ButaneError } from '../src/index.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');
const GHOST = fixture('ghost.bu');
const TFTPL = fixture('infisical.bu.tftpl');
const DIRECTIVES = fixture('directives.bu.tftpl');
const NEW = 'c0ffee00'.repeat(8);
const OLD_GHOST = '3f9a1c0e7b2d4c6a8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f';

/** The line diff between two texts as [removed lines, added lines] hunks; asserts nothing else moved. */
function changed(before: string, after: string): Array<[string[], string[]]> {
  const hunks: Array<[string[], string[]]> = [];
  let pending: [string[], string[]] | undefined;
  for (const part of diffLines(before, after)) {
    const lines = part.value.replace(/\n$/, '').split('\n');
    if (part.removed) (pending ??= [[], []])[0].push(...lines);
    else if (part.added) (pending ??= [[], []])[1].push(...lines);
    else if (pending) {
      hunks.push(pending);
      pending = undefined;
    }
  }
  if (pending) hunks.push(pending);
  expect(after.split('\n').length).toBe(before.split('\n').length);
  return hunks;
}

const updater = (o: Partial<ConstructorParameters<typeof ButaneUpdater>[0]> = {}) =>
  new ButaneUpdater({ name: 'alloy', version: '1.11.0', sha256: NEW, arch: 'amd64', ...o });

describe('ButaneUpdater on a Flatcar Butane config', () => {
  it('reads what the file pins', () => {
    expect(readPinned(GHOST, { name: 'alloy', arch: 'amd64' })).toEqual({
      name: 'alloy',
      version: '1.10.1',
      sha256: OLD_GHOST,
      file: 'alloy-1.10.1-amd64.raw',
      arch: 'amd64',
      path: '/opt/extensions/alloy/alloy-1.10.1-amd64.raw',
      source: 'https://sysext.example.com/alloy/alloy-1.10.1-amd64.raw',
      links: ['/etc/extensions/alloy.raw'],
      line: 31,
    });
    expect(readPinned(GHOST, { name: 'alloy' }).version).toBe('1.10.1');
    expect(updater().readPinned(GHOST).file).toBe('alloy-1.10.1-amd64.raw');
  });

  it('changes exactly the path, source, hash and link target lines', () => {
    const out = updater().updateContent(GHOST);
    expect(changed(GHOST, out)).toEqual([
      [['    - path: /opt/extensions/alloy/alloy-1.10.1-amd64.raw'], ['    - path: /opt/extensions/alloy/alloy-1.11.0-amd64.raw']],
      [
        ['        source: https://sysext.example.com/alloy/alloy-1.10.1-amd64.raw'],
        ['        source: https://sysext.example.com/alloy/alloy-1.11.0-amd64.raw'],
      ],
      [[`          hash: sha256-${OLD_GHOST}   # alloy 1.10.1`], [`          hash: sha256-${NEW}   # alloy 1.10.1`]],
      [['      target: /opt/extensions/alloy/alloy-1.10.1-amd64.raw'], ['      target: /opt/extensions/alloy/alloy-1.11.0-amd64.raw']],
    ]);
    // every other byte, including other sysexts' hashes, comments naming the old version and ${…} placeholders
    expect(out.replaceAll('alloy-1.11.0-amd64', 'alloy-1.10.1-amd64').replace(NEW, OLD_GHOST)).toBe(GHOST);
    expect(readPinned(out, { name: 'alloy', arch: 'amd64' })).toMatchObject({
      version: '1.11.0',
      sha256: NEW,
      links: ['/etc/extensions/alloy.raw'],
    });
  });

  it('changes only the hash when the version is the same', () => {
    const out = updater({ version: '1.10.1' }).updateContent(GHOST);
    expect(changed(GHOST, out)).toEqual([
      [[`          hash: sha256-${OLD_GHOST}   # alloy 1.10.1`], [`          hash: sha256-${NEW}   # alloy 1.10.1`]],
    ]);
  });

  it('returns the same bytes when the file already pins the version and hash', () => {
    expect(updater({ version: '1.10.1', sha256: OLD_GHOST }).updateContent(GHOST)).toBe(GHOST);
  });

  it('keeps CRLF line endings', () => {
    const crlf = GHOST.replaceAll('\n', '\r\n');
    const out = updater().updateContent(crlf);
    expect(out).toBe(updater().updateContent(GHOST).replaceAll('\n', '\r\n'));
  });

  it('writes imageUrl into a literal source, and swaps only the file name of a templated one', () => {
    const moved = updater({ imageUrl: (f) => `https://r2.example.net/sysext/alloy/${f}` }).updateContent(GHOST);
    expect(changed(GHOST, moved)[1]).toEqual([
      ['        source: https://sysext.example.com/alloy/alloy-1.10.1-amd64.raw'],
      ['        source: https://r2.example.net/sysext/alloy/alloy-1.11.0-amd64.raw'],
    ]);
    const tpl = updater({ imageUrl: (f) => `https://r2.example.net/sysext/alloy/${f}` }).updateContent(TFTPL);
    expect(tpl).toContain('        source: "${sysext_base_url}/alloy/alloy-1.11.0-amd64.raw"\n');
  });

  it('keeps the compatibility file name form alloy-<version>.raw', () => {
    const compat = GHOST.replaceAll('alloy-1.10.1-amd64.raw', 'alloy-1.10.1.raw');
    const out = updater().updateContent(compat);
    expect(changed(compat, out).map(([, added]) => added[0]!.trim())).toEqual([
      '- path: /opt/extensions/alloy/alloy-1.11.0.raw',
      'source: https://sysext.example.com/alloy/alloy-1.11.0.raw',
      `hash: sha256-${NEW}   # alloy 1.10.1`,
      'target: /opt/extensions/alloy/alloy-1.11.0.raw',
    ]);
  });
});

describe('ButaneUpdater on a Terraform template (.bu.tftpl, not valid YAML)', () => {
  it('updates the amd64 branch only, keeping quotes, directives and placeholders', () => {
    const out = updater().updateContent(TFTPL);
    expect(changed(TFTPL, out)).toEqual([
      [['    - path: "/opt/extensions/alloy/alloy-1.10.1-amd64.raw"'], ['    - path: "/opt/extensions/alloy/alloy-1.11.0-amd64.raw"']],
      [
        ['        source: "${sysext_base_url}/alloy/alloy-1.10.1-amd64.raw"'],
        ['        source: "${sysext_base_url}/alloy/alloy-1.11.0-amd64.raw"'],
      ],
      [[`          hash: "sha256-${'b'.repeat(64)}"`], [`          hash: "sha256-${NEW}"`]],
      [["      target: '/opt/extensions/alloy/alloy-1.10.1-amd64.raw'"], ["      target: '/opt/extensions/alloy/alloy-1.11.0-amd64.raw'"]],
    ]);
  });

  it('updates the arm64 branch for an arm64 consumer', () => {
    const out = updater({ arch: 'arm64' }).updateContent(TFTPL);
    expect(changed(TFTPL, out).map(([, a]) => a[0]!.trim())).toEqual([
      '- path: "/opt/extensions/alloy/alloy-1.11.0-arm64.raw"',
      'source: "${sysext_base_url}/alloy/alloy-1.11.0-arm64.raw"',
      `hash: "sha256-${NEW}"`,
      "target: '/opt/extensions/alloy/alloy-1.11.0-arm64.raw'",
    ]);
  });

  it('asks for the arch when both are pinned', () => {
    expect(() => readPinned(TFTPL, { name: 'alloy' })).toThrow(/ambiguous: 2 storage.files entries for the alloy image.*pass the arch/);
  });
});

describe('ButaneUpdater on a template with directives inside block scalars', () => {
  const OLD = 'd'.repeat(64);
  it('edits the alloy entry when %{ for } … %{ endfor } sit at column 0 inside an inline | block, and other entries are not YAML', () => {
    expect(readPinned(DIRECTIVES, { name: 'alloy', arch: 'amd64' })).toMatchObject({
      version: '1.10.1',
      sha256: OLD,
      links: ['/etc/extensions/alloy.raw'],
      line: 20,
    });
    const out = updater().updateContent(DIRECTIVES, 'directives.bu.tftpl');
    expect(changed(DIRECTIVES, out)).toEqual([
      [['    - path: /opt/extensions/alloy/alloy-1.10.1-amd64.raw'], ['    - path: /opt/extensions/alloy/alloy-1.11.0-amd64.raw']],
      [
        ['        source: https://sysext.example.com/alloy/alloy-1.10.1-amd64.raw'],
        ['        source: https://sysext.example.com/alloy/alloy-1.11.0-amd64.raw'],
      ],
      [[`          hash: sha256-${OLD}`], [`          hash: sha256-${NEW}`]],
      [['      target: /opt/extensions/alloy/alloy-1.10.1-amd64.raw'], ['      target: /opt/extensions/alloy/alloy-1.11.0-amd64.raw']],
    ]);
    expect(out.replaceAll('alloy-1.11.0-amd64', 'alloy-1.10.1-amd64').replace(NEW, OLD)).toBe(DIRECTIVES);
    // and the same with CRLF line endings
    const crlf = DIRECTIVES.replaceAll('\n', '\r\n');
    expect(updater().updateContent(crlf)).toBe(out.replaceAll('\n', '\r\n'));
  });

  it("reads compact sequences (items at the key's indent) and ignores entries elsewhere in the file", () => {
    const compact = [
      'systemd:',
      '  units:',
      '  - name: files',
      '    contents: |',
      '      path: /opt/extensions/alloy/alloy-0.0.1-amd64.raw',
      'storage:',
      '  files:',
      '  - path: /opt/extensions/alloy/alloy-1.10.1-amd64.raw',
      '    contents:',
      '%{ if true ~}',
      '      source: https://sysext.example.com/alloy/alloy-1.10.1-amd64.raw',
      '%{ endif ~}',
      '      verification: { hash: "sha256-' + OLD + '" }',
      '  links: []',
      '',
    ].join('\n');
    expect(readPinned(compact, { name: 'alloy', arch: 'amd64' })).toMatchObject({ version: '1.10.1', line: 8, links: [] });
    expect(updater().updateContent(compact)).toBe(compact.replaceAll('alloy-1.10.1-amd64', 'alloy-1.11.0-amd64').replace(OLD, NEW));
  });

  it('reports an unreadable alloy entry by its line', () => {
    const broken = DIRECTIVES.replace(
      '      mode: 0644\n      contents:\n        source: https',
      '      mode: [0644\n      contents:\n        source: https',
    );
    expect(() => updater().updateContent(broken, 'x.bu')).toThrow(/^x\.bu: not readable as Butane YAML at line 2[0-9]/);
  });
});

describe('ButaneUpdater errors', () => {
  it('names a missing alloy entry', () => {
    const without = GHOST.replace(/    # Grafana Alloy[\s\S]*?# alloy 1\.10\.1\n/, '');
    expect(() => updater().updateContent(without, 'ghost.bu')).toThrow(
      'ghost.bu: no storage.files entry for the alloy amd64 image (path and contents.source naming alloy-<version>-amd64.raw)',
    );
    expect(() => updater({ arch: 'arm64' }).updateContent(GHOST, 'ghost.bu')).toThrow(
      /no storage.files entry for the alloy arm64 image.*found only alloy-1\.10\.1-amd64\.raw \(line 31\)/,
    );
  });

  it('refuses two alloy entries for the arch', () => {
    const twice = GHOST.replace(
      '    - path: /etc/sysupdate.alloy.d/alloy.conf',
      GHOST.match(/    - path: \/opt\/extensions\/alloy\/[\s\S]*?# alloy 1\.10\.1\n/)![0].replaceAll('1.10.1', '1.9.0') +
        '    - path: /etc/sysupdate.alloy.d/alloy.conf',
    );
    expect(() => updater().updateContent(twice, 'ghost.bu')).toThrow(
      /ghost\.bu: ambiguous: 2 storage\.files entries for the alloy amd64 image: alloy-1\.10\.1-amd64\.raw \(line 31\), alloy-1\.9\.0-amd64\.raw \(line 37\); keep exactly one/,
    );
  });

  it('refuses an alloy entry without a sha256 hash', () => {
    const hashless = GHOST.replace(/        verification:\n          hash: sha256-3f9a[^\n]*\n/, '');
    expect(() => updater().updateContent(hashless, 'ghost.bu')).toThrow(
      'ghost.bu: storage.files entry at line 31 (alloy-1.10.1-amd64.raw) has no contents.verification.hash; expected "sha256-<64 hex>"',
    );
    const sha512 = GHOST.replace(`sha256-${OLD_GHOST}`, `sha512-${'ab'.repeat(64)}`);
    expect(() => updater().updateContent(sha512)).toThrow(
      /contents\.verification\.hash "sha512-abab.*" is not "sha256-<64 lowercase hex>"/,
    );
  });

  it('refuses a link to another alloy version and a source naming another image', () => {
    const stale = GHOST.replace(
      'target: /opt/extensions/alloy/alloy-1.10.1-amd64.raw',
      'target: /opt/extensions/alloy/alloy-1.9.0-amd64.raw',
    );
    expect(() => updater().updateContent(stale)).toThrow(
      /storage\.links target at line 65 targets \/opt\/extensions\/alloy\/alloy-1\.9\.0-amd64\.raw but the alloy amd64 image/,
    );
    const mismatch = GHOST.replace(
      'alloy/alloy-1.10.1-amd64.raw\n        verification',
      'alloy/alloy-1.9.0-amd64.raw\n        verification',
    );
    expect(() => updater().updateContent(mismatch)).toThrow(
      /path names alloy-1\.10\.1-amd64\.raw but contents\.source names alloy-1\.9\.0-amd64\.raw/,
    );
  });

  it('validates its inputs and reports unreadable files by line', () => {
    expect(() => updater({ version: 'v1.11.0' })).toThrow('version "v1.11.0" is not a semantic version like 1.10.1 (no leading "v")');
    expect(() => updater({ sha256: 'ABC' })).toThrow(ButaneError);
    expect(() => updater().updateContent('storage:\n  files: [\n', 'x.bu')).toThrow(
      /^x\.bu: storage\.files at line 2 is written inline \("\["\); only a block sequence/,
    );
    expect(() => updater().updateContent('storage:\n  files:\n  - path: /x/alloy-1.0.0-amd64.raw\n    contents: {\n', 'x.bu')).toThrow(
      /^x\.bu: not readable as Butane YAML at line [3-5]: /,
    );
  });
});

describe('a second sysext in the real ghost.bu: docker-compose, pinned from Flatcar’s sysext-bakery', () => {
  const OLD_COMPOSE = '8a3c0fd2bb61e1c3a4d0ad5b1b5b8d0f9cf8c57e1cc3b59f4e83a0b2f1a45d21';
  const compose = (o: Partial<ConstructorParameters<typeof ButaneUpdater>[0]> = {}) =>
    new ButaneUpdater({
      name: 'docker-compose',
      version: '2.29.1',
      sha256: NEW,
      arch: 'amd64',
      imageUrl: (file) => `https://sysext.example.com/docker-compose/${file}`,
      ...o,
    });

  it("reads the bakery's x86-64 image as the amd64 pin of docker-compose", () => {
    expect(readPinned(GHOST, { name: 'docker-compose', arch: 'amd64' })).toEqual({
      name: 'docker-compose',
      version: '2.24.5',
      sha256: OLD_COMPOSE,
      file: 'docker-compose-2.24.5-x86-64.raw',
      arch: 'amd64',
      path: '/opt/extensions/docker-compose/docker-compose-2.24.5-x86-64.raw',
      source: 'https://github.com/flatcar/sysext-bakery/releases/download/docker-compose-2.24.5/docker-compose-2.24.5-x86-64.raw',
      links: ['/etc/extensions/docker-compose.raw'],
      line: 18,
    });
  });

  it('a bump moves exactly that entry and its link to our image; alloy, tailscale and every other byte stay', () => {
    const out = compose().updateContent(GHOST);
    const expected = GHOST.replace(
      '    - path: /opt/extensions/docker-compose/docker-compose-2.24.5-x86-64.raw\n',
      '    - path: /opt/extensions/docker-compose/docker-compose-2.29.1-amd64.raw\n',
    )
      .replace(
        '        source: https://github.com/flatcar/sysext-bakery/releases/download/docker-compose-2.24.5/docker-compose-2.24.5-x86-64.raw\n',
        '        source: https://sysext.example.com/docker-compose/docker-compose-2.29.1-amd64.raw\n',
      )
      .replace(`          hash: sha256-${OLD_COMPOSE}\n`, `          hash: sha256-${NEW}\n`)
      .replace(
        '    - target: /opt/extensions/docker-compose/docker-compose-2.24.5-x86-64.raw\n',
        '    - target: /opt/extensions/docker-compose/docker-compose-2.29.1-amd64.raw\n',
      );
    expect(changed(GHOST, expected)).toHaveLength(4); // the four lines the updater owns, each replaced above
    expect(out).toBe(expected);
    expect(readPinned(out, { name: 'docker-compose', arch: 'amd64' })).toMatchObject({
      version: '2.29.1',
      sha256: NEW,
      file: 'docker-compose-2.29.1-amd64.raw',
      links: ['/etc/extensions/docker-compose.raw'],
    });
    expect(readPinned(out, { name: 'alloy', arch: 'amd64' })).toEqual(readPinned(GHOST, { name: 'alloy', arch: 'amd64' }));
    // the next bump of our own image is the ordinary one: four lines again
    const next = compose({ version: '2.29.2', sha256: OLD_COMPOSE }).updateContent(out);
    expect(changed(out, next)).toHaveLength(4);
    expect(next.replaceAll('docker-compose-2.29.2-amd64', 'docker-compose-2.29.1-amd64').replace(OLD_COMPOSE, NEW)).toBe(out);
  });

  it("refuses to move the bakery's entry without our image's URL (its directory names the old version too)", () => {
    expect(() => compose({ imageUrl: undefined }).updateContent(GHOST)).toThrow(
      "Butane file: storage.files entry at line 18 pins Flatcar's sysext-bakery image docker-compose-2.24.5-x86-64.raw; " +
        "moving it to docker-compose-2.29.1-amd64.raw needs the image's URL",
    );
  });

  it('a sysext the file does not hold (no entry of that name) is refused, naming what it found', () => {
    expect(() => compose({ name: 'node-exporter' }).updateContent(GHOST)).toThrow(
      'Butane file: no storage.files entry for the node-exporter amd64 image (path and contents.source naming node-exporter-<version>-amd64.raw)',
    );
  });
});
