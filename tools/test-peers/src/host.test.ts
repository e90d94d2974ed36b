// A test host writes only into its own layer: the cached root and the machine running the tests stay as they were.
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Host, locateHostRoot } from './host.js';

const hosts: Host[] = [];
afterAll(() => Promise.all(hosts.map((h) => h.destroy())));

describe('Host', () => {
  it('runs chrooted; its writes land in its layer, not in the root, another host or the machine', async () => {
    const root = await locateHostRoot('trixie');
    const machineKeyring = await readFile('/etc/systemd/import-pubring.gpg').catch(() => null);
    const [a, b] = [await Host.create(root), await Host.create(root)];
    hosts.push(a, b);
    await a.writeFile('/etc/from-node', 'written by the test\n');
    const keyring = '/etc/systemd/import-pubring.gpg';
    const run = await a.run(['sh', '-c', `cat /etc/from-node; echo keyring > ${keyring}; systemctl --version`]);
    const [first, second] = run.stdout.split('\n');
    expect({ exit: run.exitCode, first, second: second?.split(' (')[0] }).toEqual({
      exit: 0,
      first: 'written by the test',
      second: `systemd ${root.systemd}`,
    });
    expect((await a.readFile('/etc/systemd/import-pubring.gpg'))?.toString()).toBe('keyring\n');
    expect(await b.readFile('/etc/systemd/import-pubring.gpg')).toBeNull();
    expect(existsSync(path.join(root.dir, 'etc/systemd/import-pubring.gpg'))).toBe(false);
    expect(await readFile('/etc/systemd/import-pubring.gpg').catch(() => null)).toEqual(machineKeyring);
    // a deletion inside the host hides the root's file from the host only
    expect((await a.run(['rm', '/usr/lib/systemd/import-pubring.gpg'])).exitCode).toBe(0);
    expect(await a.locate('/usr/lib/systemd/import-pubring.gpg')).toBeNull();
    const vendor = 'usr/lib/systemd/import-pubring.gpg';
    expect(await b.locate(`/${vendor}`)).toBe(path.join(root.dir, vendor));
  }, 60_000);

  it('names setup.sh when a root is not built', async () => {
    await expect(locateHostRoot('forky', '/nonexistent-cache')).rejects.toThrow(
      'host root forky (systemd 262) not found: ' +
        '/nonexistent-cache/forky/root/usr/lib/systemd/systemd-sysupdate is missing; ' +
        'run tools/setup/setup.sh to build it into .cache/hosts/forky',
    );
  });
});
