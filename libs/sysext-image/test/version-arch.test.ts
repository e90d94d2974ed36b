import { describe, expect, it } from '@jest/globals';
import { normalizeVersion, parseArch, systemdArchitecture } from '../src/index.js';

describe('normalizeVersion', () => {
  it.each([
    ['1.10.2', '1.10.2'],
    ['v1.10.2', '1.10.2'],
    ['v0.0.1', '0.0.1'],
  ])('accepts %j as %s', (input, out) => expect(normalizeVersion(input)).toBe(out));

  it.each(['1.10', 'V1.2.3', 'vv1.2.3', '01.2.3', '1.2.3+build.1', '1.2.3/../x', '', 'latest', '1.2.3 4', 'v1.2.3\n1'])(
    'rejects %j naming the value',
    (input) => {
      expect(() => normalizeVersion(input)).toThrow(/is not a strict semver version: expected MAJOR\.MINOR\.PATCH/);
    },
  );

  it.each([
    ['1.10.2\n', 'version "1.10.2\\n" is not a strict semver version (surrounding whitespace is not removed): expected MAJOR.MINOR.PATCH'],
    [' 1.10.2', 'version " 1.10.2" is not a strict semver version (surrounding whitespace is not removed)'],
    ['v1.10.2\t', 'version "v1.10.2\\t" is not a strict semver version (surrounding whitespace is not removed)'],
    ['1.10.2\r\n', 'version "1.10.2\\r\\n" is not a strict semver version'],
  ])('refuses %j instead of trimming it, naming the value', (input, message) => {
    expect(() => normalizeVersion(input)).toThrow(message);
    expect(() => normalizeVersion(input, { allowPrerelease: true })).toThrow(message);
  });

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
