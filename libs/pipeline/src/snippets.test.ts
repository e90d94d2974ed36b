// The snippet's text: what it installs where. What those files do on hosts (the merge unit, the transfer, on each
// systemd a host may run) is proven in host-matrix.test.ts, on real systemd in Debian roots.
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import * as snippets from './snippets.js';

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
