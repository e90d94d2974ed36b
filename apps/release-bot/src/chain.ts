// The Nx chain fetch → image → sign → manifest → publish → pr for one version, as a child process.
import { spawn } from 'node:child_process';

export interface ChainRun {
  /** The sysext's Nx project (its recipe's name). */
  project: string;
  version: string;
  dryRun: boolean;
  root: string;
  env: NodeJS.ProcessEnv;
}

/** Runs the chain and resolves to its exit code. Injectable so `release` can be tested without building images. */
export type ChainRunner = (run: ChainRun) => Promise<number>;

/** `npx nx run <project>:pr --version=X [--dryRun]`, the documented form (npx's .npmrc preload passes --version on). */
export function chainCommand(project: string, version: string, dryRun: boolean): { command: string; args: string[] } {
  const args = ['nx', 'run', `${project}:pr`, `--version=${version}`, ...(dryRun ? ['--dryRun'] : [])];
  return { command: 'npx', args };
}

/** The real runner: output inherited, so the user sees Nx's progress as it happens. */
export const runNxChain: ChainRunner = ({ project, version, dryRun, root, env }) => {
  const { command, args } = chainCommand(project, version, dryRun);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: 'inherit' });
    child.once('error', (error) => reject(new Error(`cannot start \`${command} ${args.join(' ')}\`: ${error.message}`)));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)));
  });
};

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}
