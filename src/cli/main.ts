/**
 * The `buildfleet` command line: arguments, exit codes and the one top-level
 * error handler. The only code that touches `process`.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { MAX_TIMER_SECONDS } from '../config/types.js';
import type { LogFormat } from './logger.js';
import { ExitCode } from './exitCodes.js';
import { globalOptions } from './globalOptions.js';
import { processOutput, type Output } from './io.js';
import { DEFAULT_VERSION_SCHEME, VERSION_SCHEMES, type VersionScheme } from '../version/schemes.js';

const VERSION = '0.1.0';

/** An option's value as a whole number from `min` to `max` (`what` it is, for the error); anything else is a usage error. */
function wholeNumber(min: number, max: number, what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`give ${what} from ${min} to ${max}.`);
    return n;
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function buildProgram(out: Output, setExit: (code: number) => void): Command {
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
    .action(async () => {
      const { runValidate } = await import('./commands/validate.js');
      setExit(await runValidate(globals(), out));
    });

  program
    .command('plan')
    .description('the dry run: what reconcile would do and why (writes nothing)')
    .option('--branch <name>', 'plan only this branch (repeatable; default: all)', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']).default('text'))
    .option('--out <file>', 'also save the plan, to apply it with `reconcile --plan FILE`')
    .option('--detailed-exitcode', 'exit 2 when there are changes (builds or removals), 0 when none')
    .option('--retry-failed', 'plan failed builds again even if nothing changed')
    .action(async (opts: { branch: string[]; format: 'text' | 'json' | 'markdown'; out?: string; detailedExitcode?: boolean; retryFailed?: boolean }) => {
      const { runPlan } = await import('./commands/plan.js');
      setExit(
        await runPlan(
          globals(),
          { branch: opts.branch, format: opts.format, ...(opts.out !== undefined ? { out: opts.out } : {}), detailedExitcode: opts.detailedExitcode === true, retryFailed: opts.retryFailed === true },
          out,
        ),
      );
    });

  program
    .command('reconcile')
    .description('build what is stale in dependency order across the hosts, publish, prune')
    .option('--branch <name>', 'reconcile only this branch (repeatable; default: all)', collect, [])
    .option('--plan <file>', 'apply exactly this saved plan (refused if the state changed since)')
    .addOption(new Option('--format <format>', 'output format of the run result').choices(['text', 'json']).default('text'))
    .option('--retry-failed', 'build failed packages again even if nothing changed')
    .option('--keep-failed-workspaces', 'keep the workspace of failed builds for inspection')
    .option('--grace <seconds>', 'seconds builds get between SIGTERM and SIGKILL when stopped', wholeNumber(0, MAX_TIMER_SECONDS, 'a whole number of seconds'), 10)
    .option('--allow-large', "apply a plan that goes over a branch's guards (guards.maxBuilds, guards.maxRemovePercent)")
    .action(async (opts: { branch: string[]; plan?: string; format: 'text' | 'json'; retryFailed?: boolean; keepFailedWorkspaces?: boolean; grace: number; allowLarge?: boolean }) => {
      const g = program.opts<{ logFormat?: LogFormat; logLevel: string }>();
      // Loaded per command: plan and validate need neither execa nor pino.
      const [{ runReconcile }, { createLogger }] = await Promise.all([import('./commands/reconcile.js'), import('./logger.js')]);
      const log = createLogger({ ...(g.logFormat !== undefined ? { format: g.logFormat } : {}), level: g.logLevel });
      setExit(
        await runReconcile(
          globals(),
          {
            branch: opts.branch,
            ...(opts.plan !== undefined ? { plan: opts.plan } : {}),
            format: opts.format,
            retryFailed: opts.retryFailed === true,
            keepFailedWorkspaces: opts.keepFailedWorkspaces === true,
            graceSeconds: opts.grace,
            allowLarge: opts.allowLarge === true,
          },
          out,
          log,
        ),
      );
    });

  program
    .command('watch')
    .description('reconcile at start and whenever a config YAML file or a path source changes; poll git sources')
    .option('--branch <name>', 'only this branch (repeatable; default: all)', collect, [])
    .option('--dry-run', 'only plan (print what reconcile would do), never build')
    .option('--debounce <ms>', 'quiet period after a change before a run starts, milliseconds', wholeNumber(0, MAX_TIMER_SECONDS * 1000, 'a whole number of milliseconds'), 500)
    .option('--interval <seconds>', 'seconds between fetches of git sources', wholeNumber(1, MAX_TIMER_SECONDS, 'a whole number of seconds'), 60)
    .option('--grace <seconds>', 'seconds builds get between SIGTERM and SIGKILL when stopped', wholeNumber(0, MAX_TIMER_SECONDS, 'a whole number of seconds'), 10)
    .option('--allow-large', "apply plans that go over a branch's guards")
    .action(async (opts: { branch: string[]; dryRun?: boolean; debounce: number; interval: number; grace: number; allowLarge?: boolean }) => {
      const g = program.opts<{ logFormat?: LogFormat; logLevel: string }>();
      const [{ runWatch }, { createLogger }] = await Promise.all([import('./commands/watch.js'), import('./logger.js')]);
      const log = createLogger({ ...(g.logFormat !== undefined ? { format: g.logFormat } : {}), level: g.logLevel });
      setExit(
        await runWatch(
          globals(),
          {
            branch: opts.branch,
            dryRun: opts.dryRun === true,
            debounceMs: opts.debounce,
            intervalSeconds: opts.interval,
            graceSeconds: opts.grace,
            allowLarge: opts.allowLarge === true,
          },
          out,
          log,
        ),
      );
    });

  program
    .command('hosts')
    .description('connect to every host: reachable, latency, load, power, running builds, prerequisite roots, quarantine (exit 3 when one is unreachable)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { format: 'text' | 'json' }) => {
      const { runHosts } = await import('./commands/hosts.js');
      setExit(await runHosts(globals(), opts, out));
    });

  program
    .command('status')
    .description('repos, last run, failed packages with their logs, hosts')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { format: 'text' | 'json' }) => {
      const { runStatus } = await import('./commands/status.js');
      setExit(runStatus(globals(), opts, out));
    });

  const review = program.command('review').description('the manual review gate: builds of repos with `review: manual` wait in the staging area');
  review
    .command('list')
    .description('builds awaiting review')
    .option('--branch <name>', 'only this branch (repeatable; default: all)', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { branch: string[]; format: 'text' | 'json' }) => {
      const { runReviewList } = await import('./commands/review.js');
      setExit(runReviewList(globals(), opts, out));
    });
  review
    .command('show <package>')
    .description('a staged build: version, fingerprint, what changed, its log and the log\'s last lines')
    .option('--branch <name>', 'the branch (needed when the package awaits review in several)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (pkg: string, opts: { branch?: string; format: 'text' | 'json' }) => {
      const { runReviewShow } = await import('./commands/review.js');
      setExit(await runReviewShow(globals(), { package: pkg, format: opts.format, ...(opts.branch !== undefined ? { branch: opts.branch } : {}) }, out));
    });
  review
    .command('approve <packages...>')
    .description('publish staged builds (old versions removed, index updated, hooks run)')
    .option('--branch <name>', 'the branch (needed when a package awaits review in several)')
    .action(async (packages: string[], opts: { branch?: string }) => {
      const { runReviewApprove } = await import('./commands/review.js');
      setExit(await runReviewApprove(globals(), { packages, ...(opts.branch !== undefined ? { branch: opts.branch } : {}) }, out));
    });
  review
    .command('reject <packages...>')
    .description('drop staged builds; the same fingerprint is never built again (until its inputs change)')
    .requiredOption('--reason <text>', 'why (recorded in the ledger, shown by plan)')
    .option('--branch <name>', 'the branch (needed when a package awaits review in several)')
    .action(async (packages: string[], opts: { reason: string; branch?: string }) => {
      const { runReviewReject } = await import('./commands/review.js');
      setExit(await runReviewReject(globals(), { packages, reason: opts.reason, ...(opts.branch !== undefined ? { branch: opts.branch } : {}) }, out));
    });

  const importGroup = program.command('import').description('turn files of the systems buildfleet replaces into its config');
  importGroup
    .command('mlist <file>')
    .description('portbuild mlist (`hostname power` per line) to hosts.yaml entries, printed (or added with --merge)')
    .addOption(new Option('--transport <transport>', 'transport of the imported hosts').choices(['ssh', 'local']).default('ssh'))
    .option('--user <user>', 'SSH login user', 'build')
    .option('--known-hosts <file>', 'SSH knownHostsFile (relative to the config directory, or absolute)', 'keys/known_hosts')
    .option('--identity-file <file>', 'SSH identityFile')
    .option('--port <port>', 'SSH port', wholeNumber(1, 65535, 'a TCP port number'))
    .option('--workdir <dir>', 'workdir on the hosts (default /var/tmp/buildfleet)')
    .option('--label <label>', 'a label of every imported host (repeatable)', collect, [])
    .option('--merge', 'add the hosts to hosts.yaml (comments kept) instead of printing them')
    .action(async (file: string, opts: { transport: 'ssh' | 'local'; user: string; knownHosts: string; identityFile?: string; port?: number; workdir?: string; label: string[]; merge?: boolean }) => {
      const { runImportMlist } = await import('./commands/importMlist.js');
      setExit(
        await runImportMlist(
          globals(),
          {
            file,
            transport: opts.transport,
            user: opts.user,
            knownHostsFile: opts.knownHosts,
            ...(opts.identityFile !== undefined ? { identityFile: opts.identityFile } : {}),
            ...(opts.port !== undefined ? { port: opts.port } : {}),
            ...(opts.workdir !== undefined ? { workdir: opts.workdir } : {}),
            labels: opts.label,
            merge: opts.merge === true,
          },
          out,
        ),
      );
    });

  importGroup
    .command('duds <file>')
    .description('portbuild duds file (one package or origin per line) to a branch\'s duds: entries, printed (or added with --merge)')
    .requiredOption('--branch <branch>', 'the branch the duds are for (branches/<branch>.yaml)')
    .option('--merge', 'add the duds to branches/<branch>.yaml (comments kept) instead of printing them')
    .action(async (file: string, opts: { branch: string; merge?: boolean }) => {
      const { runImportDuds } = await import('./commands/importDuds.js');
      setExit(await runImportDuds(globals(), { file, branch: opts.branch, merge: opts.merge === true }, out));
    });

  program
    .command('vercmp')
    .description('compare two versions: print -1, 0 or 1 as pacman\'s vercmp (--scheme freebsd: as pkg version -t); without operands, one result per "A B" line of stdin')
    .addOption(new Option('--scheme <scheme>', 'version order').choices(Object.keys(VERSION_SCHEMES)).default(DEFAULT_VERSION_SCHEME))
    .argument('[versions...]', 'two versions A B')
    .action(async (versions: string[], opts: { scheme: VersionScheme }) => {
      const { runVercmp } = await import('./commands/vercmp.js');
      setExit(await runVercmp({ scheme: opts.scheme, operands: versions }, process.stdin, out));
    });

  return program;
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: readonly string[], out: Output = processOutput): Promise<number> {
  let code: number = ExitCode.ok;
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
