/**
 * Whether this machine can run a pipeline: the commands of its `requires` on the
 * PATH, and its `hostCheck` passing. How a local host is checked before
 * planning. SSH hosts are not probed at plan time (that would connect on every
 * dry run); a missing command there fails the build's step.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

const cache = new Map<string, boolean>();

/** True when an executable file `command` is in one of the directories of `searchPath` (default: this process's PATH). */
export function localHasCommand(command: string, searchPath: string = process.env.PATH ?? ''): boolean {
  const key = `${searchPath}\0${command}`;
  let found = cache.get(key);
  if (found === undefined) {
    found = searchPath.split(path.delimiter).some((dir) => dir !== '' && isExecutableFile(path.join(dir, command)));
    cache.set(key, found);
  }
  return found;
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** What a pipeline's `hostCheck` said about this machine. */
export interface HostCheckResult {
  readonly ok: boolean;
  /** Why not (the check's last line of output, or how it ended), when not ok. */
  readonly reason?: string;
}

/** How long a `hostCheck` may run before the host counts as not able. */
const HOST_CHECK_TIMEOUT_MS = 20_000;

const checks = new Map<string, HostCheckResult>();

/** Forget the results of earlier checks: the next plan runs them again. */
export function forgetHostChecks(): void {
  checks.clear();
}

/**
 * Runs a pipeline's `hostCheck` (`sh -c`) on this machine, once per plan (see
 * forgetHostChecks) for the same command and state directory, in the config directory with
 * BUILDFLEET_STATE_DIR set. Exit status 0 = able; anything else = not able,
 * with the last non-empty line it printed (stdout or stderr) as the reason.
 */
export function localHostCheck(command: string, where: { readonly configDir: string; readonly stateDir: string }): HostCheckResult {
  const key = `${where.configDir}\0${where.stateDir}\0${command}`;
  let result = checks.get(key);
  if (result === undefined) {
    const run = spawnSync('sh', ['-c', command], {
      cwd: where.configDir,
      env: { ...process.env, BUILDFLEET_STATE_DIR: where.stateDir },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: HOST_CHECK_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    if (run.status === 0) result = { ok: true };
    else {
      const said = `${run.stdout ?? ''}\n${run.stderr ?? ''}`.split('\n').map((l) => l.trim()).filter((l) => l !== '').at(-1);
      const ended = run.error !== undefined ? (run.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `its hostCheck did not finish in ${HOST_CHECK_TIMEOUT_MS / 1000}s` : `its hostCheck could not run: ${run.error.message}` : run.signal !== null ? `its hostCheck was killed by ${run.signal}` : `its hostCheck exited with status ${run.status}`;
      result = { ok: false, reason: run.error === undefined && run.signal === null && said !== undefined ? said : ended };
    }
    checks.set(key, result);
  }
  return result;
}
