// Argument parsing only: every command is a function of (ctx, options) returning an exit code.
import { Command, CommanderError, Option } from 'commander';
import { check } from './commands/check.js';
import { finish } from './commands/finish.js';
import { keysGenerate } from './commands/keys.js';
import { plan } from './commands/plan.js';
import { keysRetire, keysRotate } from './commands/keys-change.js';
import { prune } from './commands/prune.js';
import { release } from './commands/release.js';
import { revoke } from './commands/revoke.js';
import { serve } from './commands/serve.js';
import { status } from './commands/status.js';
import { verify, type VerifyOptions } from './commands/verify.js';
import type { ChainRunner } from './chain.js';
import type { Ctx } from './context.js';
import { EXIT, exitCodesHelp, UsageError } from './exit-codes.js';
import { checkThisRepoName } from './github.js';
import { forEachSysext, inBucket, recipeOfVersion, releasedUpstream, selectRecipes } from './sysexts.js';

export interface MainDeps {
  /** Injected chain runner for `release` (tests); default the real `npx nx run <project>:pr`. */
  runChain?: ChainRunner;
}

const SYSEXT_ALL = "only this sysext (a recipe's name, e.g. alloy); default: every recipe in the workspace";
const SYSEXT_ONE = "the sysext (a recipe's name, e.g. alloy); default: the only recipe, or the one the version is of";

/** Parses `argv` (without node and script), runs the command and resolves to the exit code. Never calls process.exit. */
export async function main(argv: string[], base: Omit<Ctx, 'recipe'>, deps: MainDeps = {}): Promise<number> {
  let code: number = EXIT.OK;
  const ctxFor = (cmd: Command): Ctx => ({ ...base, recipe: (cmd.optsWithGlobals() as { recipe?: string }).recipe });
  const program = new Command('release-bot')
    .description('Orchestrates alloy-sysext releases: checks upstream, runs the Nx chain, tags releases, reports status.')
    .addOption(
      new Option(
        '--recipe <file>',
        'recipe file relative to the workspace root, instead of --sysext (keys, serve: default apps/alloy/sysext.json)',
      ),
    )
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({ writeOut: (s) => base.stdout.write(s), writeErr: (s) => base.stderr.write(s) })
    .showHelpAfterError('(run release-bot --help for usage)');

  program
    .command('check')
    .description('compare the latest stable upstream release with the bucket; open (or reuse) its tracking issue')
    .option('--sysext <name>', SYSEXT_ALL)
    .option('--dry-run', 'look, but write nothing on GitHub')
    .option('--json', 'print the result as JSON')
    .option('--deep', "read and hash every object SHA256SUMS lists (default: the newest version's only)")
    .action(async (o: { sysext?: string; dryRun?: boolean; json?: boolean; deep?: boolean }, cmd: Command) => {
      code = await forEachSysext(ctxFor(cmd), o, (ctx) => check(ctx, o), 'check');
    });

  program
    .command('release')
    .description(
      'run the Nx chain (fetch → image → sign → manifest → publish → pr) for a version, then tag it and close its tracking issue',
    )
    .requiredOption('--version <version>', 'upstream version, e.g. 1.10.2 (a leading v is accepted)')
    .option('--sysext <name>', SYSEXT_ONE)
    .option('--dry-run', 'run the chain with --dryRun and write nothing on GitHub')
    .action(async (o: { version: string; sysext?: string; dryRun?: boolean }, cmd: Command) => {
      checkThisRepoName(base.env); // a malformed GITHUB_REPOSITORY fails before the sysext is looked up upstream
      code = await release(await recipeOfVersion(ctxFor(cmd), o, releasedUpstream), { ...o, runChain: deps.runChain });
    });

  program
    .command('plan')
    .description(
      'what the release workflow does in this run, as JSON (also matrix=, count=, plan=, dry_run= in $GITHUB_OUTPUT): per ' +
        'recipe a repair of a broken bucket first, else a new upstream version (its tracking issue opened), else nothing',
    )
    .option(
      '--version <version>',
      'plan this version instead of asking upstream (a leading v is accepted), of the sysext whose upstream has it',
    )
    .option('--sysext <name>', SYSEXT_ALL)
    .option('--dry-run', 'plan a dry run; open no tracking issue')
    .action(async (o: { version?: string; sysext?: string; dryRun?: boolean }, cmd: Command) => {
      const ctx = ctxFor(cmd);
      code = await plan(ctx, { ...o, recipes: await selectRecipes(ctx, o) });
    });

  program
    .command('finish')
    .description(
      'after the release workflow ran the chain of each plan item: tag each released version and close its tracking ' +
        'issue (when the chain succeeded), then print the status table',
    )
    .requiredOption('--plan <json>', 'the plan items, as `release-bot plan` wrote them to $GITHUB_OUTPUT (plan=)')
    .requiredOption('--result <result>', 'how the chain jobs ended: success, failure, cancelled or skipped')
    .option('--sysext <name>', SYSEXT_ALL)
    .option('--dry-run', 'write nothing on GitHub')
    .action(async (o: { plan: string; result: string; sysext?: string; dryRun?: boolean }, cmd: Command) => {
      const ctx = ctxFor(cmd);
      code = await finish(ctx, { ...o, recipes: await selectRecipes(ctx, o) });
    });

  program
    .command('status')
    .description('table: upstream latest stable, versions in the bucket, what each consumer pins and which release keys it trusts')
    .option('--sysext <name>', SYSEXT_ALL)
    .option('--json', 'print the report as JSON')
    .option('--deep', "read and hash every object SHA256SUMS lists (default: the newest version's only)")
    .action(async (o: { sysext?: string; json?: boolean; deep?: boolean }, cmd: Command) => {
      code = await forEachSysext(ctxFor(cmd), o, (ctx) => status(ctx, o), 'status');
    });

  program
    .command('prune')
    .description(
      'remove old versions from SHA256SUMS (re-signed) and delete their objects, keeping the newest N and every version a consumer pins',
    )
    .option('--sysext <name>', SYSEXT_ALL)
    .option('--keep <n>', 'how many newest versions to keep (default: bucket.keep from the recipe)')
    .option('--dry-run', 'print what would be kept and removed; change nothing')
    .addHelpText(
      'after',
      '\nA version a consumer pins on its base branch or in an open bot pull request is always kept (new hosts download it at first boot).\n',
    )
    .action(async (o: { sysext?: string; keep?: string; dryRun?: boolean }, cmd: Command) => {
      code = await forEachSysext(ctxFor(cmd), o, (ctx) => prune(ctx, o), 'prune');
    });

  program
    .command('revoke')
    .description(
      'take a bad version out of the bucket for good: a signed tombstone, SHA256SUMS without it (re-signed) and the next ' +
        'signed state; no later publish lists it again. Its objects stay',
    )
    .requiredOption('--version <version>', 'version to revoke, e.g. 1.10.2 (a leading v is accepted)')
    .option('--sysext <name>', SYSEXT_ONE)
    .option('--reason <text>', 'why, recorded in the tombstone and the state')
    .option('--dry-run', 'print what would change; change nothing')
    .addHelpText(
      'after',
      '\nHosts stop updating to the version; hosts running it keep it, and consumers pinning it still install it: ' +
        'revert their pull requests.\n',
    )
    .action(async (o: { version: string; sysext?: string; reason?: string; dryRun?: boolean }, cmd: Command) => {
      code = await revoke(await recipeOfVersion(ctxFor(cmd), o, inBucket), o);
    });

  program
    .command('verify')
    .description(
      'check a published version: SHA256SUMS.gpg, each image against SHA256SUMS, its .sha256 and .asc, the signed provenance; ' +
        'then rebuild it from upstream in a temp directory (no cache) and compare the bytes',
    )
    .requiredOption('--version <version>', 'version, e.g. 1.10.2 (a leading v is accepted)')
    .option('--sysext <name>', SYSEXT_ONE)
    .option('--assetDir <dir>', 'rebuild from the release assets in this directory instead of downloading them')
    .option('--zipDir <dir>', 'the same as --assetDir (its first name)')
    .option('--key <file>', "armored public key to trust (default: the recipe's signing.publicKey; never the bucket's keyring)")
    .action(async (o: VerifyOptions & { sysext?: string }, cmd: Command) => {
      code = await verify(await recipeOfVersion(ctxFor(cmd), o, inBucket), o);
    });

  program
    .command('serve')
    .description(
      'serve the local bucket (used when R2 is not configured) on 127.0.0.1:$ALLOY_SERVE_PORT (default 8080), the public URL publish writes in that case',
    )
    .action(async (_o: unknown, cmd: Command) => {
      code = await serve(ctxFor(cmd));
    });

  const keys = program.command('keys').description('release signing key management');
  keys
    .command('generate')
    .description('generate the release signing key (v4 RSA-4096) and print how to deploy it; never overwrites')
    .option('--out <dir>', 'output directory (default: dist/release-key in the workspace, git-ignored)')
    .option('--identity <identity>', 'user id "Name <email>" (default: signing.identity from the recipe)')
    .option('--passphrase-env <var>', 'protect the private key with the passphrase in this environment variable')
    .action(async (o: { out?: string; identity?: string; passphraseEnv?: string }, cmd: Command) => {
      code = await keysGenerate(ctxFor(cmd), o);
    });
  keys
    .command('rotate')
    .description(
      "open one pull request per consumer adding the new release key next to the keys its Butane file trusts (the consumer's keyPath entry)",
    )
    .requiredOption('--new-key <file>', "the new key's public key file (armored, or the binary keyring keys generate writes)")
    .option('--dry-run', "print each consumer's would-be change; write nothing on GitHub")
    .addHelpText(
      'after',
      '\nThen merge the pull requests, list the old public key in signing.trustedKeys, switch ALLOY_SIGNING_KEY and publish:\n' +
        "publish refuses to switch keys while a consumer's base branch does not trust the new one (override: --allowUntrustedKey).\n" +
        'Exit code 0: every consumer opened, updated or already trusts the key; 1: a consumer failed (see the table).\n',
    )
    .action(async (o: { newKey: string; dryRun?: boolean }, cmd: Command) => {
      code = await keysRotate(ctxFor(cmd), o);
    });
  keys
    .command('retire')
    .description('open one pull request per consumer removing the old release key, once every line of SHA256SUMS is signed by the new key')
    .requiredOption('--old <file>', "the old key's public key file")
    .option('--dry-run', "print each consumer's would-be change; write nothing on GitHub")
    .addHelpText(
      'after',
      '\nRefused while SHA256SUMS.gpg in the bucket is signed by the old key or does not verify with another trusted key, and\n' +
        'for a consumer whose file does not trust the key SHA256SUMS is signed by yet. Exit code 0: done; 1: refused or a consumer failed.\n',
    )
    .action(async (o: { old: string; dryRun?: boolean }, cmd: Command) => {
      code = await keysRetire(ctxFor(cmd), o);
    });

  // one exit code table, under every command's help
  for (const command of [program, ...allCommands(program)]) command.addHelpText('after', `\n${exitCodesHelp()}\n`);

  const taken = optionsNpmTook(program, base.env);
  if (taken.length) {
    base.stderr.write(
      `release-bot: npm took ${taken.join(', ')} as its own option${taken.length > 1 ? 's' : ''} (written before "--") and did not ` +
        `pass ${taken.length > 1 ? 'them' : 'it'} on, so nothing was run. Write every option after "--":\n` +
        `  npm run release-bot -- ${[...argv, ...taken].join(' ')}\n`,
    );
    return EXIT.USAGE;
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT.OK : EXIT.USAGE;
    }
    const command = argv.find((a) => !a.startsWith('-')) ?? 'release-bot';
    base.stderr.write(`release-bot ${command}: ${(error as Error).message}\n`);
    if (base.env.ALLOY_DEBUG) base.stderr.write(`${(error as Error).stack}\n`);
    return error instanceof UsageError ? EXIT.USAGE : EXIT.ERROR;
  }
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/**
 * The release-bot options npm consumed: `npm run release-bot check --dry-run` (no `--`) runs `check` for real, npm keeping
 * `--dry-run` as its config `npm_config_dry_run`. Each option any command declares is looked up there, as npm names it.
 */
export function optionsNpmTook(program: Command, env: NodeJS.ProcessEnv): string[] {
  if (env.npm_lifecycle_event !== 'release-bot') return [];
  const flags = new Map<string, string>();
  for (const command of [program, ...allCommands(program)]) {
    for (const option of command.options) if (option.long) flags.set(option.long, option.flags.replace(/^-\w, /, ''));
  }
  return [...flags]
    .filter(([long]) => env[`npm_config_${long.slice(2).toLowerCase().replaceAll('-', '_')}`] !== undefined)
    .map(([, typed]) => typed);
}
