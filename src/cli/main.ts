/**
 * The `buildfleet` command line: arguments, exit codes and the one top-level
 * error handler. The only code that touches `process`.
 */
import { Command, CommanderError, Option } from 'commander';
import { runPlan } from './commands/plan.js';
import { runValidate } from './commands/validate.js';
import { ExitCode } from './exitCodes.js';
import { globalOptions } from './globalOptions.js';
import { processOutput, type Output } from './io.js';

const VERSION = '0.1.0';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function buildProgram(out: Output, setExit: (code: ExitCode) => void): Command {
  const program = new Command('buildfleet')
    .description('GitOps package build farm: plan, build and publish packages across local and SSH hosts')
    .version(VERSION)
    .option('-C, --config <dir>', 'the config repository', '.')
    .option('--state-dir <dir>', 'ledger, logs and caches (default: var/ inside the config directory)')
    .addOption(new Option('--log-format <format>', 'log format on stderr').choices(['pretty', 'json']))
    .option('--log-level <level>', 'log level (trace, debug, info, warn, error)', 'info')
    .configureOutput({ writeOut: (s) => out.stdout(s), writeErr: (s) => out.stderr(s) })
    .exitOverride()
    .showHelpAfterError('(run buildfleet --help for usage)');

  const globals = (): ReturnType<typeof globalOptions> => globalOptions(program.opts<{ config?: string; stateDir?: string }>());

  program
    .command('validate')
    .description('load and check all config and recipes; errors as file:line:col: message')
    .action(async () => setExit(await runValidate(globals(), out)));

  program
    .command('plan')
    .description('the dry run: what reconcile would do and why (writes nothing)')
    .option('--branch <name>', 'plan only this branch (repeatable; default: all)', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']).default('text'))
    .option('--out <file>', 'also save the plan, to apply it with `reconcile --plan FILE`')
    .option('--detailed-exitcode', 'exit 2 when there are changes (builds or removals), 0 when none')
    .option('--retry-failed', 'plan failed builds again even if nothing changed')
    .action(async (opts: { branch: string[]; format: 'text' | 'json' | 'markdown'; out?: string; detailedExitcode?: boolean; retryFailed?: boolean }) =>
      setExit(
        await runPlan(
          globals(),
          { branch: opts.branch, format: opts.format, ...(opts.out !== undefined ? { out: opts.out } : {}), detailedExitcode: opts.detailedExitcode === true, retryFailed: opts.retryFailed === true },
          out,
        ),
      ),
    );

  return program;
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: readonly string[], out: Output = processOutput): Promise<ExitCode> {
  let code: ExitCode = ExitCode.ok;
  const program = buildProgram(out, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.error;
    }
    out.stderr(`buildfleet: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n  hint: this is a bug; please report it with the command you ran\n`);
    return ExitCode.error;
  }
}
