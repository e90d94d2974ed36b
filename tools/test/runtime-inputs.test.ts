import { createRequire } from 'node:module';
// The runtime inputs of the alloy targets: what they print decides when a cached image or signature is reused, so they
// must name the real tool versions (the same ones provenance records), and run one command per hash, not one per tool.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { toolVersions } from '@alloy-sysext/sysext-image';

/** alloy's project as the workspace plugin infers it from its recipe (tools/nx/recipe-projects.cjs). */
async function inferredAlloy(): Promise<{ targets: Record<string, any>; namedInputs: Record<string, unknown> }> {
  const { createNodes } = createRequire(import.meta.url)('../nx/recipe-projects.cjs');
  return createNodes[1](['apps/alloy/sysext.json'], {}, { workspaceRoot: fileURLToPath(new URL('../..', import.meta.url)) }).then(
    (r: any) => r[0][1].projects['apps/alloy'],
  );
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const TOOL_VERSIONS = 'sh tools/nx/tool-versions.sh';

describe('tools/nx/tool-versions.sh', () => {
  it('prints the versions toolVersions reads (mkfs.erofs 1.5 included, which has no --version), no usage text', async () => {
    const { stdout } = await promisify(execFile)('sh', ['-c', TOOL_VERSIONS], { cwd: root });
    const v = await toolVersions();
    expect(stdout.trim().split('\n')).toEqual([v.mksquashfs, v['mkfs.erofs'], v['mkfs.ext4']]);
    expect(v['mkfs.erofs']).toMatch(/^mkfs\.erofs \d+\.\d+/);
    expect(stdout).not.toMatch(/usage|unrecognized|invalid option/i);
  });

  it('is the one tool-version input of image and sign', async () => {
    const project = await inferredAlloy();
    for (const target of ['image', 'sign']) {
      const runtime = (project.targets[target].inputs as Array<{ runtime?: string }>).flatMap((i) => (i.runtime ? [i.runtime] : []));
      expect([target, runtime]).toEqual([target, [TOOL_VERSIONS]]);
    }
  });
});
