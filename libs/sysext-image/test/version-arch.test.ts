import { describe, expect, it } from '@jest/globals';
import { normalizeVersion, parseArch, systemdArchitecture } from '../src/index.js';

describe('normalizeVersion', () => {
  it.each([
    ['1.10.2', '1.10.2'],
    ['v1.10.2', '1.10.2'],
    [' v0.0.1 ', '0.0.1'],
    ['1.2.3\n', '1.2.3'],
  ])('accepts %j as %s', (input, out) => expect(normalizeVersion(input)).toBe(out));

  it.each(['1.10', 'V1.2.3', 'vv1.2.3', '01.2.3', '1.2.3+build.1', '1.2.3/../x', '', 'latest', '1.2.3 4', 'v1.2.3\n1'])(
    'rejects %j naming the value',
    (input) => {
      expect(() => normalizeVersion(input)).toThrow(/is not a strict semver version: expected MAJOR\.MINOR\.PATCH/);
    },
  );

  it('rejects prereleases unless allowed', () => {
    expect(() => normalizeVersion('v1.11.0-rc.1')).toThrow('version "v1.11.0-rc.1" is a prerelease');
    expect(normalizeVersion('v1.11.0-rc.1', { allowPrerelease: true })).toBe('1.11.0-rc.1');
  });
});

describe('arch', () => {
  it('parses the two arches and maps them to systemd names', () => {
    expect(parseArch('amd64')).toBe('amd64');
    expect(systemdArchitecture('amd64')).toBe('x86-64');
    expect(systemdArchitecture(parseArch('arm64'))).toBe('arm64');
  });
  it.each(['x86_64', 'x86-64', 'AMD64', 'riscv64', ''])('rejects %j', (s) => {
    expect(() => parseArch(s)).toThrow(`arch "${s}" is not supported: expected one of amd64, arm64`);
  });
});
