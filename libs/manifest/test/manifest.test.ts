import { describe, it, expect } from '@jest/globals';
import { parseImageName } from '@alloy-sysext/common';
import semver from 'semver';
import { Manifest, compareFiles, mergeManifest, planRetention } from '../src/index.js';

const h = (c: string) => c.repeat(64);

describe('parseImageName', () => {
  it.each([
    ['alloy-1.2.3-amd64.raw', { name: 'alloy', version: '1.2.3', arch: 'amd64', suffix: '.raw' }],
    ['alloy-1.2.3.raw', { name: 'alloy', version: '1.2.3', suffix: '.raw' }],
    ['alloy-1.0.0-rc.1-arm64.raw', { name: 'alloy', version: '1.0.0-rc.1', arch: 'arm64', suffix: '.raw' }],
    ['docker-compose-2.29.0-x86-64.raw', { name: 'docker-compose', version: '2.29.0', arch: 'x86-64', suffix: '.raw' }],
    ['kubernetes-v1.29.2-x86-64.raw', { name: 'kubernetes', version: 'v1.29.2', arch: 'x86-64', suffix: '.raw' }],
    ['alloy-1.2.3-amd64.img', { name: 'alloy', version: '1.2.3', arch: 'amd64', suffix: '.img' }],
    ['alloy-1.2.3-rc.1+build.5-arm64.raw', { name: 'alloy', version: '1.2.3-rc.1+build.5', arch: 'arm64', suffix: '.raw' }],
    ['alloy-1.2.3-beta.raw', { name: 'alloy', version: '1.2.3-beta', suffix: '.raw' }],
  ])('%s', (file, expected) => {
    expect(parseImageName(file)).toEqual(expected);
  });
  it.each([
    'alloy.raw',
    'SHA256SUMS',
    'alloy-1.2.3-amd64.raw.zst',
    'alloy-latest-amd64.raw',
    'alloy-1.2-amd64.raw',
    '-1.2.3.raw',
    'alloy-01.2.3.raw',
    'alloy-9999999999999999.0.0.raw',
  ])('%s does not parse', (file) => expect(parseImageName(file)).toBeUndefined());
});

describe('Manifest.parse (strict)', () => {
  it('keeps the file order, so an unchanged manifest reserializes byte for byte', () => {
    const text = `${h('a')}  docker-compose-2.29.0-x86-64.raw\n${h('b')}  alloy-1.2.3-amd64.raw\n${h('c')}  alloy-1.10.0-amd64.raw\n${h('d')}  alloy-1.9.0-amd64.raw\n`;
    const m = Manifest.parse(text);
    expect(m.entries.map((e) => e.file)).toEqual([
      'docker-compose-2.29.0-x86-64.raw',
      'alloy-1.2.3-amd64.raw',
      'alloy-1.10.0-amd64.raw',
      'alloy-1.9.0-amd64.raw',
    ]);
    expect(m.serialize()).toBe(text);
    expect(Manifest.parse(Buffer.from(text)).serialize()).toBe(text);
    expect(m.versions('alloy')).toEqual(['1.2.3', '1.9.0', '1.10.0']);
    // a no-op change keeps the bytes; a real change writes the canonical order
    expect(m.upsert([{ file: 'alloy-1.9.0-amd64.raw', sha256: h('d') }]).serialize()).toBe(text);
    expect(m.prune('alloy', 5).serialize()).toBe(text);
    expect(m.upsert([{ file: 'alloy-1.9.0-amd64.raw', sha256: h('e') }]).serialize()).toBe(
      `${h('b')}  alloy-1.2.3-amd64.raw\n${h('e')}  alloy-1.9.0-amd64.raw\n${h('c')}  alloy-1.10.0-amd64.raw\n${h('a')}  docker-compose-2.29.0-x86-64.raw\n`,
    );
    expect(Manifest.parse('').serialize()).toBe('');
  });

  it('accepts a UTF-8 name of exactly 255 bytes', () => {
    const name = 'é'.repeat(125) + 'x.raw'; // 250 + 5 bytes
    expect(Buffer.byteLength(name)).toBe(255);
    const text = `${h('a')}  ${name}\n`;
    expect(Manifest.parse(Buffer.from(text)).serialize()).toBe(text);
  });

  it.each([
    [`${h('a')}  ok.raw\n${'A'.repeat(64)}  upper.raw\n`, /line 2: expected "<64 lowercase hex>  <file name>", got "A{64}  upper.raw"/],
    [`${h('a')} one-space.raw\n`, /line 1: expected/],
    [`${h('a')}\ttab.raw\n`, /line 1: expected/],
    [`${'a'.repeat(63)}  short.raw\n`, /line 1: expected/],
    [`${h('a')}  a.raw\n\n${h('b')}  b.raw\n`, /line 2: expected .* got ""/],
    [`${h('a')}  crlf.raw\r\n`, /line 1: ends in a carriage return; expected "\\n" line endings/],
    [`${h('a')}  dir/x.raw\n`, /line 1: file name "dir\/x.raw" must be a bare file name/],
    [`${h('a')}  x.raw\n${h('b')}  y.raw\n${h('c')}  x.raw\n`, /line 3: x.raw is already listed on line 1/],
    [`${h('a')}  x.raw\n${h('b')}  y.raw`, /line 2: the file ends without a final newline \(truncated\?\)/],
    [
      `${h('a')}  x.raw\n${h('b')} *y.raw\n`,
      /line 2: uses the binary-mode marker " \*"; expected the canonical "<64 lowercase hex>  <file name>" \(two spaces\)/,
    ],
    [`${h('a')}  ${'x'.repeat(252)}.raw\n`, /line 1: file name "x{40}…" is 256 bytes; at most 255 are allowed/],
    [`${h('a')}  ${'é'.repeat(126)}x.raw\n`, /line 1: file name ".*" is 257 bytes; at most 255 are allowed/],
    [`${h('a')}  x.raw\n${h('b')}  caf\uFFFD.raw\n`, /line 2: file name "caf\uFFFD.raw" is not valid UTF-8 .*decoded lossily/],
    [`${h('a')}  x\uD800.raw\n`, /line 1: file name .* is not valid UTF-8/],
  ])('rejects bad input with its line number (%#)', (text, msg) => {
    expect(() => Manifest.parse(text)).toThrow(msg);
  });

  it('refuses bytes that are not UTF-8, naming the line, instead of decoding them to U+FFFD', () => {
    const bytes = Buffer.concat([Buffer.from(`${h('a')}  x.raw\n${h('b')}  caf`), Buffer.from([0xe9]), Buffer.from('.raw\n')]);
    expect(() => Manifest.parse(bytes)).toThrow(/^SHA256SUMS line 2: is not valid UTF-8; expected a UTF-8 file name$/);
    // and the lossy decoding a caller might have done is caught too
    expect(() => Manifest.parse(bytes.toString('utf8'))).toThrow(/line 2: file name "caf\uFFFD.raw" is not valid UTF-8/);
  });
});

describe('ordering and serialization', () => {
  const files = [
    'alloy-1.10.0-arm64.raw',
    'zz-notes.txt',
    'alloy-1.9.0-amd64.raw',
    'alloy-1.10.0.raw',
    'docker-compose-2.29.0-x86-64.raw',
    'alloy-1.10.0-amd64.raw',
    'alloy-1.10.0-rc.1-amd64.raw',
    'alloy.raw',
    'aaa-unparsed',
    'docker-compose-2.3.0-x86-64.raw',
  ];
  const canonical = [
    'aaa-unparsed',
    'alloy-1.9.0-amd64.raw',
    'alloy-1.10.0-rc.1-amd64.raw',
    'alloy-1.10.0.raw',
    'alloy-1.10.0-amd64.raw',
    'alloy-1.10.0-arm64.raw',
    'alloy.raw',
    'docker-compose-2.3.0-x86-64.raw',
    'docker-compose-2.29.0-x86-64.raw',
    'zz-notes.txt',
  ];

  it('sorts by name stem, semver (not lexical), then arch; unparsed names by their full name', () => {
    expect([...files].sort(compareFiles)).toEqual(canonical);
    const m = Manifest.empty().upsert(files.map((file, i) => ({ file, sha256: i.toString(16).repeat(64) })));
    expect(m.entries.map((e) => e.file)).toEqual(canonical);
  });

  it('same set gives the same bytes whatever the input order', () => {
    const entries = files.map((file, i) => ({ file, sha256: i.toString(16).repeat(64) }));
    const a = Manifest.empty().upsert(entries).serialize();
    for (let seed = 1; seed <= 20; seed++) {
      const shuffled = [...entries].sort(
        (x, y) =>
          ((x.file.length * seed * 7919) % 13) - ((y.file.length * seed * 7919) % 13) || (seed % 2 ? 1 : -1) * x.file.localeCompare(y.file),
      );
      expect(Manifest.empty().upsert(shuffled).serialize()).toBe(a);
      const read = Manifest.parse(shuffled.map((e) => `${e.sha256}  ${e.file}\n`).join(''));
      expect(read.upsert([{ file: 'new-1.0.0.raw', sha256: h('f') }]).serialize()).toBe(
        Manifest.parse(a)
          .upsert([{ file: 'new-1.0.0.raw', sha256: h('f') }])
          .serialize(),
      );
      expect(read.removeVersion('alloy', '1.9.0').serialize()).toBe(Manifest.parse(a).removeVersion('alloy', '1.9.0').serialize());
    }
  });
});

describe('upsert, removeVersion, prune, versions', () => {
  const base = Manifest.parse(
    [
      `${h('1')}  alloy-1.9.0-amd64.raw`,
      `${h('2')}  alloy-1.9.0-arm64.raw`,
      `${h('3')}  alloy-1.9.0.raw`,
      `${h('4')}  alloy-1.10.0-amd64.raw`,
      `${h('5')}  alloy-1.8.2-amd64.raw`,
      `${h('6')}  docker-compose-2.29.0-x86-64.raw`,
      `${h('7')}  docker-compose-2.28.0-x86-64.raw`,
      '',
    ].join('\n'),
  );

  it('versions are distinct and semver-ordered', () => {
    expect(base.versions('alloy')).toEqual(['1.8.2', '1.9.0', '1.10.0']);
    expect(base.versions('docker-compose')).toEqual(['2.28.0', '2.29.0']);
    expect(base.versions('nope')).toEqual([]);
  });

  it('upsert replaces by file name, is immutable, and validates', () => {
    const next = base.upsert([
      { file: 'alloy-1.10.0-amd64.raw', sha256: h('9') },
      { file: 'alloy-1.10.0-arm64.raw', sha256: h('8') },
    ]);
    expect(next.get('alloy-1.10.0-amd64.raw')?.sha256).toBe(h('9'));
    expect(base.get('alloy-1.10.0-amd64.raw')?.sha256).toBe(h('4'));
    expect(next.entries).toHaveLength(8);
    expect(next.serialize()).toContain(`${h('6')}  docker-compose-2.29.0-x86-64.raw\n`);
    expect(next.serialize()).not.toContain(' *');
    expect(() => base.upsert([{ file: 'a.raw', sha256: 'ABC' }])).toThrow('upsert a.raw: sha256 "ABC" is not 64 lowercase hex digits');
    expect(() => base.upsert([{ file: '../a.raw', sha256: h('a') }])).toThrow(/file name "..\/a.raw" must be a bare file name/);
    expect(() =>
      base.upsert([
        { file: 'a.raw', sha256: h('a') },
        { file: 'a.raw', sha256: h('b') },
      ]),
    ).toThrow('upsert: a.raw is given twice');
  });

  it('removeVersion drops every arch and the compatibility name of that version only', () => {
    const m = base.removeVersion('alloy', '1.9.0');
    expect(m.entries.map((e) => e.file)).toEqual([
      'alloy-1.8.2-amd64.raw',
      'alloy-1.10.0-amd64.raw',
      'docker-compose-2.28.0-x86-64.raw',
      'docker-compose-2.29.0-x86-64.raw',
    ]);
    expect(() => base.removeVersion('alloy', 'latest')).toThrow('removeVersion alloy: version "latest" is not semver');
  });

  it('prune keeps the newest N versions of one image and leaves others alone', () => {
    expect(base.prune('alloy', 2).versions('alloy')).toEqual(['1.9.0', '1.10.0']);
    expect(base.prune('alloy', 1).entries.map((e) => e.file)).toEqual([
      'alloy-1.10.0-amd64.raw',
      'docker-compose-2.28.0-x86-64.raw',
      'docker-compose-2.29.0-x86-64.raw',
    ]);
    expect(base.prune('alloy', 10).serialize()).toBe(base.serialize());
    expect(() => base.prune('alloy', 0)).toThrow('prune alloy: keep must be a whole number >= 1, got 0');
  });
});

describe('mergeManifest', () => {
  it('creates, merges and is idempotent', () => {
    const v1 = [{ file: 'alloy-1.0.0-amd64.raw', sha256: h('a') }];
    const first = mergeManifest(null, v1);
    expect(first).toBe(`${h('a')}  alloy-1.0.0-amd64.raw\n`);
    expect(mergeManifest(first, v1)).toBe(first);
    expect(() => mergeManifest('garbage\n', v1)).toThrow(/SHA256SUMS line 1/);
  });

  it('two publishers of different versions both survive a compare-and-swap race', () => {
    // A store with ETag semantics: a write succeeds only if the caller saw the current revision.
    const store = { text: `${h('0')}  docker-compose-2.29.0-x86-64.raw\n` as string | null, rev: 1 };
    const read = () => ({ text: store.text, rev: store.rev });
    const write = (text: string, ifRev: number) => {
      if (ifRev !== store.rev) return false;
      store.text = text;
      store.rev++;
      return true;
    };
    const a = [
      { file: 'alloy-1.1.0-amd64.raw', sha256: h('a') },
      { file: 'alloy-1.1.0-arm64.raw', sha256: h('b') },
    ];
    const b = [
      { file: 'alloy-1.2.0-amd64.raw', sha256: h('c') },
      { file: 'alloy-1.2.0-arm64.raw', sha256: h('d') },
    ];
    // Both read the same revision; A lands first, B's conditional write fails, B re-reads and merges again.
    const ra = read();
    const rb = read();
    expect(write(mergeManifest(ra.text, a), ra.rev)).toBe(true);
    expect(write(mergeManifest(rb.text, b), rb.rev)).toBe(false);
    const rb2 = read();
    expect(write(mergeManifest(rb2.text, b), rb2.rev)).toBe(true);
    const final = Manifest.parse(store.text!);
    expect(final.versions('alloy')).toEqual(['1.1.0', '1.2.0']);
    expect(final.get('docker-compose-2.29.0-x86-64.raw')).toEqual({ file: 'docker-compose-2.29.0-x86-64.raw', sha256: h('0') });
    // The other landing order gives the same bytes.
    expect(mergeManifest(mergeManifest(`${h('0')}  docker-compose-2.29.0-x86-64.raw\n`, b), a)).toBe(store.text);
  });
});

describe('planRetention', () => {
  const m = Manifest.empty().upsert(
    ['1.8.0', '1.9.0', '1.10.0', '1.11.0', '1.9.5']
      .flatMap((v) => [
        { file: `alloy-${v}-amd64.raw`, sha256: h('a') },
        { file: `alloy-${v}-arm64.raw`, sha256: h('b') },
      ])
      .concat([{ file: 'docker-compose-2.29.0-x86-64.raw', sha256: h('c') }]),
  );

  it('keeps the newest N (semver) and every pinned version, saying why; removes the rest oldest first', () => {
    const plan = planRetention(m, 'alloy', {
      keep: 2,
      pins: [
        { version: '1.8.0', by: 'ghost-stack on develop' },
        { version: '1.11.0', by: 'pull request #4 of ghost-stack' },
        { version: '0.1.0', by: 'someone (not in the bucket)' },
      ],
    });
    expect(plan).toEqual({
      keep: [
        { version: '1.11.0', reasons: ['newest 2 (#1)', 'pinned by pull request #4 of ghost-stack'] },
        { version: '1.10.0', reasons: ['newest 2 (#2)'] },
        { version: '1.8.0', reasons: ['pinned by ghost-stack on develop'] },
      ],
      remove: ['1.9.0', '1.9.5'],
    });
    expect(planRetention(m, 'alloy', { keep: 10, pins: [] }).remove).toEqual([]);
    expect(() => planRetention(m, 'alloy', { keep: 0, pins: [] })).toThrow('keep must be a whole number >= 1, got 0');
  });
});

describe('sort keys', () => {
  // sortKey must agree with parseImageName and with semver's order on every name, odd shapes included.
  it('sort keys agree with parseImageName and semver order', () => {
    const names = [
      'alloy-1.2.3-amd64.raw',
      'alloy-1.2.3.raw',
      'alloy-1.2.3-x86-64.img',
      'alloy-1.2.3-ppc64-le.raw',
      'a-1.0.0-1.2.3.raw',
      'docker-compose-2.29.0-x86-64.raw',
      'x-v1.0.0.raw',
      'alloy-1.0.0-rc.1-arm64.raw',
      'alloy-1.0.0-rc.2.raw',
      'alloy-1.0.0-rc.10.raw',
      'alloy-1.0.0-beta.raw',
      'alloy-1.0.0-1.raw',
      'alloy-1.0.0-alpha.1.raw',
      'alloy-1.0.0+b.1.raw',
      'alloy-01.0.0.raw',
      'alloy.raw',
      'a-b-1.0.0-x86.raw',
      'alloy-1.0.0-amd64-amd64.raw',
      'alloy-1.0.0-x86-64-x86.raw',
      'alloy-9.9.9-zz.raw',
    ];
    for (const file of names) {
      const p = parseImageName(file);
      const m = Manifest.empty().upsert([{ file, sha256: h('a') }]);
      expect([file, m.versions(p?.name ?? '-')]).toEqual([file, p ? [p.version] : []]);
    }
    const sorted = [...names].filter((n) => parseImageName(n)?.name === 'alloy').sort(compareFiles);
    const bySemver = [...sorted].sort((a, b) => semver.compare(parseImageName(a)!.version, parseImageName(b)!.version));
    expect(sorted.map((n) => semver.clean(parseImageName(n)!.version))).toEqual(
      bySemver.map((n) => semver.clean(parseImageName(n)!.version)),
    );
  });
});
