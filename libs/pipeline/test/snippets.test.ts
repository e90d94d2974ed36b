// The snippet's text: what it installs where. What those files do on hosts (the merge unit, the transfer, on each
// systemd a host may run) is proven in host-matrix.test.ts, on real systemd in Debian roots.
import { describe, expect, it } from '@jest/globals';
import { ButaneUpdater, readPinned } from '@alloy-sysext/ghost-stack';
import { parse } from 'yaml';
import * as snippets from '../src/snippets.js';

const { butaneSnippet, keyringMergeScript, releaseKeyPaths, sysupdateServiceDropin } = snippets;
const { sysupdateTransfer, sysupdateTransferPaths } = snippets;
const bucket = { name: 'b', prefix: 'alloy/', publicUrl: 'https://sysext.example.com/alloy' };
const recipe = { name: 'alloy', bucket };

const snippet = () =>
  butaneSnippet({
    recipe,
    version: '1.10.2',
    arch: 'amd64',
    sha256: 'a'.repeat(64),
    keyring: new Uint8Array([1, 2, 3]),
    fingerprint: 'F'.repeat(40),
  });

interface Doc {
  storage: { files: Array<{ path: string; mode?: number; contents: { source?: string; inline?: string } }> };
  systemd: {
    units: Array<{ name: string; enabled: boolean; contents?: string; dropins?: Array<{ name: string; contents: string }> }>;
  };
}
// Butane (go-yaml) reads `mode: 0755` as octal, as YAML 1.1 does
const doc = () => parse(snippet(), { version: '1.1' }) as Doc;

describe('butaneSnippet', () => {
  it('installs the key as its own file and a oneshot merge unit, never a systemd keyring itself', () => {
    const text = snippet();
    const paths = doc().storage.files.map((f) => f.path);
    expect(paths.filter((p) => p.includes('import-pubring'))).toEqual([]);
    expect(doc().storage.files.find((f) => f.path === '/etc/alloy-sysext/alloy-release-key.gpg')!.contents.source).toBe(
      'data:;base64,AQID',
    );
    const unit = doc().systemd.units.find((u) => u.name === 'alloy-release-key.service')!;
    expect(unit.enabled).toBe(true);
    expect(unit.contents).toContain('Type=oneshot\n');
    expect(unit.contents).toContain('Before=systemd-sysupdate.service\n');
    expect(unit.contents).toContain('ExecStart=/etc/alloy-sysext/alloy-merge-release-key.sh\n');
    const script = doc().storage.files.find((f) => f.path === releaseKeyPaths(recipe).script)!;
    expect([script.mode, script.contents.inline]).toEqual([0o755, keyringMergeScript(recipe)]);
    expect(text).not.toContain('${'); // safe to paste into a Terraform template
  });

  it('installs the transfer as alloy.transfer and alloy.conf, the same text', () => {
    const dir = '/etc/sysupdate.alloy.d';
    expect(sysupdateTransferPaths(recipe)).toEqual([`${dir}/alloy.transfer`, `${dir}/alloy.conf`]);
    const transfers = doc().storage.files.filter((f) => f.path.startsWith('/etc/sysupdate.alloy.d/'));
    expect(transfers.map((f) => [f.path, f.contents.inline])).toEqual(
      sysupdateTransferPaths(recipe).map((p) => [p, sysupdateTransfer(recipe, 'amd64')]),
    );
  });

  it("updates through the timer: enables systemd-sysupdate.timer and drops '-C alloy update' into its service", () => {
    const units = doc().systemd.units;
    expect(units.find((u) => u.name === 'systemd-sysupdate.timer')!.enabled).toBe(true);
    const service = units.find((u) => u.name === 'systemd-sysupdate.service')!;
    expect(service.dropins).toEqual([
      { name: 'alloy.conf', contents: '[Service]\nExecStartPre=/usr/lib/systemd/systemd-sysupdate -C alloy update\n' },
    ]);
    expect(sysupdateServiceDropin(recipe).contents).toBe(service.dropins![0]!.contents);
  });
});

describe('snippets of a second sysext', () => {
  const compose = {
    name: 'docker-compose',
    bucket: { name: 'b', prefix: 'docker-compose/', publicUrl: 'https://sysext.example.com/docker-compose' },
  };
  const of = (r: typeof recipe, version: string) =>
    butaneSnippet({ recipe: r, version, arch: 'amd64', sha256: 'b'.repeat(64), keyring: new Uint8Array([1]), fingerprint: 'F'.repeat(40) });
  const parsed = (text: string) => parse(text, { version: '1.1' }) as Doc & { storage: { links: Array<{ path: string }> } };

  it("names the recipe's sysext throughout, and nothing of it collides with alloy's snippet on one host", () => {
    const text = of(compose, '2.29.1');
    expect(text.replaceAll('/etc/alloy-sysext/', '').replaceAll('alloy-sysext', '')).not.toContain('alloy');
    const [a, c] = [parsed(of(recipe, '1.10.2')), parsed(text)];
    const files = (d: Doc) => d.storage.files.map((f) => f.path);
    expect(files(c)).toEqual([
      '/opt/extensions/docker-compose/docker-compose-2.29.1-amd64.raw',
      '/etc/sysupdate.docker-compose.d/docker-compose.transfer',
      '/etc/sysupdate.docker-compose.d/docker-compose.conf',
      '/etc/alloy-sysext/docker-compose-release-key.gpg',
      '/etc/alloy-sysext/docker-compose-merge-release-key.sh',
    ]);
    expect(files(a).filter((p) => files(c).includes(p))).toEqual([]);
    expect(c.storage.links.map((l) => l.path)).toEqual(['/etc/extensions/docker-compose.raw']);
    const dropins = (d: Doc) => d.systemd.units.flatMap((u) => [u.name, ...(u.dropins ?? []).map((x) => `${u.name}/${x.name}`)]);
    // the timer and its service are shared (each sysext adds its own drop-in); everything else is the sysext's own
    expect(dropins(a).filter((u) => dropins(c).includes(u))).toEqual(['systemd-sysupdate.timer', 'systemd-sysupdate.service']);
    expect(dropins(c)).toContain('systemd-sysupdate.service/docker-compose.conf');
  });

  it('is a consumer file the version bump of that sysext edits', () => {
    const text = of(compose, '2.29.1');
    const url = (f: string) => `https://sysext.example.com/docker-compose/${f}`;
    const next = new ButaneUpdater({ name: 'docker-compose', version: '2.30.0', sha256: 'c'.repeat(64), arch: 'amd64', imageUrl: url });
    expect(readPinned(next.updateContent(text), { name: 'docker-compose', arch: 'amd64' })).toMatchObject({
      version: '2.30.0',
      sha256: 'c'.repeat(64),
      source: url('docker-compose-2.30.0-amd64.raw'),
      links: ['/etc/extensions/docker-compose.raw'],
    });
  });
});
