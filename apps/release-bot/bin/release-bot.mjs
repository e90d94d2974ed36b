#!/usr/bin/env node
// release-bot CLI: `npm run release-bot -- <command>`. TypeScript is loaded through tsx (nothing is compiled).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const { main } = await tsImport('../src/cli.ts', import.meta.url);
const code = await main(process.argv.slice(2), {
  env: process.env,
  root: path.resolve(root),
  // npm run changes into the workspace root; INIT_CWD is where the user typed the command.
  cwd: process.env.INIT_CWD || process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
});
// Exit explicitly: keep-alive sockets of HTTP clients must not hold the process open after the command is done.
process.exit(code);
