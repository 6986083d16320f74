/**
 * Runs one pipeline step (`sh -c <run>`, or the isolated command line of
 * isolation.ts) in its own process group, output streamed
 * to the caller, with a wall-time limit and an idle (no output) limit. When a limit
 * is hit or the run is interrupted, the whole group gets SIGTERM, then SIGKILL
 * after a grace period. When the step's shell exits, whatever it left running in
 * its group is killed too, and so is every process of this user that still carries
 * the build's tag in its environment (see {@link BUILD_ID_VARIABLE}): daemons that
 * left the group (`setsid`, double forks) get SIGTERM, then SIGKILL after the grace
 * period. A build leaves no process behind — except one that also cleared its
 * environment, which only a build cgroup or pid namespace catches (docs/ISOLATION.md).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { execa } from 'execa';
import type { BuildLimits, IsolationMode } from '../config/types.js';
import type { CgroupController, CgroupHits } from './buildCgroups.js';
import { diskFull, limitExceeded } from './isolation.js';

/** The variable every step of a build gets, holding the build's id: what finds its processes after it. */
export const BUILD_ID_VARIABLE = 'BUILDFLEET_BUILD_ID';

/** A process a step left running, killed after it. */
export interface LeftoverProcess {
  readonly pid: number;
  /** Its command line, arguments joined by spaces (cut at 200 characters). */
  readonly command: string;
}

export interface StepRequest {
  /** Program and arguments (see `stepCommand` in isolation.ts). */
  readonly argv: readonly string[];
  readonly cwd: string;
  /** The complete environment of the step (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** Wall-time limit, seconds. */
  readonly timeoutSeconds: number;
  /** Seconds without output after which the step is hung. */
  readonly idleTimeoutSeconds?: number;
  /** Seconds between SIGTERM and SIGKILL. */
  readonly graceSeconds: number;
  /** Aborting stops the step (interrupted run). */
  readonly signal?: AbortSignal;
  /** Aborting kills the group at once with SIGKILL. */
  readonly killSignal?: AbortSignal;
  /** Every chunk of stdout and stderr, in arrival order. */
  readonly onOutput: (chunk: Buffer) => void;
  /**
   * The build's id (the value of {@link BUILD_ID_VARIABLE} in `env`): after the step,
   * processes of this user whose environment holds it are killed and passed to `onLeftovers`.
   */
  readonly buildId?: string;
  readonly onLeftovers?: (killed: readonly LeftoverProcess[]) => void;
}

export type StepOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'exit-non-zero'; readonly exitCode: number }
  | { readonly kind: 'killed-by-signal'; readonly signal: string }
  | { readonly kind: 'timeout'; readonly seconds: number }
  | { readonly kind: 'idle-timeout'; readonly seconds: number }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'spawn-error'; readonly message: string };

/** Sends a signal to a whole process group; a group that is gone already is fine. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function runStep(request: StepRequest): Promise<StepOutcome> {
  const [file, ...args] = request.argv;
  if (file === undefined) throw new Error('runStep: empty argv');
  const child = execa(file, args, {
    cwd: request.cwd,
    env: request.env,
    extendEnv: false,
    detached: true,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cleanup: false,
  });
  const pid = child.pid;
  if (pid === undefined) {
    const result = await child;
    return { kind: 'spawn-error', message: result.message ?? 'could not start sh' };
  }

  let stopReason: StepOutcome | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (reason: StepOutcome): void => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    killGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), request.graceSeconds * 1000);
    killTimer.unref();
  };

  const wallTimer = setTimeout(() => stop({ kind: 'timeout', seconds: request.timeoutSeconds }), request.timeoutSeconds * 1000);
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    if (request.idleTimeoutSeconds === undefined) return;
    if (idleTimer !== undefined) idleTimer.refresh();
    else idleTimer = setTimeout(() => stop({ kind: 'idle-timeout', seconds: request.idleTimeoutSeconds! }), request.idleTimeoutSeconds * 1000);
  };
  armIdle();
  const onData = (chunk: Buffer): void => {
    armIdle();
    request.onOutput(chunk);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const onAbort = (): void => stop({ kind: 'aborted' });
  if (request.signal?.aborted === true) onAbort();
  request.signal?.addEventListener('abort', onAbort, { once: true });
  const onKill = (): void => {
    stop({ kind: 'aborted' });
    killGroup(pid, 'SIGKILL');
  };
  if (request.killSignal?.aborted === true) onKill();
  request.killSignal?.addEventListener('abort', onKill, { once: true });

  // The shell has exited: kill anything it left in its group, and the build's processes that
  // left the group (they may hold the output pipes open), so that pipes close.
  let leftovers: Promise<readonly LeftoverProcess[]> = Promise.resolve([]);
  child.once('exit', () => {
    killGroup(pid, 'SIGKILL');
    if (request.buildId !== undefined) leftovers = killTaggedProcesses(`${BUILD_ID_VARIABLE}=${request.buildId}`, request.graceSeconds);
  });
  const result = await child;
  const killed = await leftovers;
  if (killed.length > 0) request.onLeftovers?.(killed);

  clearTimeout(wallTimer);
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  if (killTimer !== undefined) clearTimeout(killTimer);
  request.signal?.removeEventListener('abort', onAbort);
  request.killSignal?.removeEventListener('abort', onKill);

  if (stopReason !== undefined) return stopReason;
  if (result.failed && result.exitCode === undefined && result.signal === undefined) {
    return { kind: 'spawn-error', message: result.shortMessage ?? 'could not run the step' };
  }
  if (result.signal !== undefined) return { kind: 'killed-by-signal', signal: result.signal };
  if (result.exitCode !== 0) return { kind: 'exit-non-zero', exitCode: result.exitCode ?? -1 };
  return { kind: 'ok' };
}

/**
 * Linux: the processes of this user (other than this one) whose environment holds the
 * line `tag` (`NAME=value`), with their command lines. None where /proc is missing.
 */
export function taggedProcesses(tag: string): LeftoverProcess[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const needle = Buffer.from(`${tag}\0`);
  const found: LeftoverProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (uid !== undefined && statSync(`/proc/${entry}`).uid !== uid) continue;
      const environ = readFileSync(`/proc/${entry}/environ`);
      const at = environ.indexOf(needle);
      if (at < 0 || (at > 0 && environ[at - 1] !== 0)) continue;
      const command = readFileSync(`/proc/${entry}/cmdline`).toString('utf8').replace(/\0+$/, '').replaceAll('\0', ' ');
      found.push({ pid: Number(entry), command: command.length > 200 ? `${command.slice(0, 200)}…` : command });
    } catch {
      // gone, or not readable
    }
  }
  return found;
}

/**
 * Kills the processes {@link taggedProcesses} finds: SIGTERM, then SIGKILL to those
 * still there after `graceSeconds` (or any found later in that time, forked meanwhile).
 */
export async function killTaggedProcesses(tag: string, graceSeconds: number): Promise<LeftoverProcess[]> {
  const killed = new Map<number, LeftoverProcess>();
  const signalAll = (signal: NodeJS.Signals): LeftoverProcess[] => {
    const found = taggedProcesses(tag);
    for (const p of found) {
      try {
        process.kill(p.pid, signal);
        if (!killed.has(p.pid)) killed.set(p.pid, p);
      } catch {
        // gone meanwhile
      }
    }
    return found;
  };
  if (signalAll('SIGTERM').length === 0) return [];
  const deadline = Date.now() + graceSeconds * 1000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (taggedProcesses(tag).length === 0) return [...killed.values()];
  }
  // Until none is left: a process may fork between a scan and its kill.
  for (let round = 0; round < 10 && signalAll('SIGKILL').length > 0; round++) await new Promise((resolve) => setTimeout(resolve, 50));
  return [...killed.values()];
}

/**
 * Why a failed step failed, in words, for the build's result and log: a limit of an isolated
 * build it passed (limitExceeded, with the kernel's counts of its cgroups), a full disk
 * (diskFull), or else how it ended. The same on a local host and over SSH.
 */
export function stepFailureMessage(
  outcome: StepOutcome,
  tail: readonly string[],
  isolation: IsolationMode,
  limits: BuildLimits,
  cgroups: { readonly controllers: readonly CgroupController[]; readonly hits: CgroupHits | undefined },
): string {
  const counted = cgroups.hits !== undefined ? { controllers: cgroups.controllers, hits: cgroups.hits } : undefined;
  const limit = (isolation === 'overlay' ? limitExceeded(limits, outcome, tail, counted) : undefined) ?? diskFull(outcome, tail);
  return limit !== undefined ? `${limit}: the step ${describeStepOutcome(outcome)}` : `step ${describeStepOutcome(outcome)}`;
}

/** One line for logs and reports. */
export function describeStepOutcome(outcome: StepOutcome): string {
  switch (outcome.kind) {
    case 'ok':
      return 'succeeded';
    case 'exit-non-zero':
      return `exited with status ${outcome.exitCode}`;
    case 'killed-by-signal':
      return `was killed by ${outcome.signal}`;
    case 'timeout':
      return `timed out after ${outcome.seconds}s (timeout)`;
    case 'idle-timeout':
      return `printed nothing for ${outcome.seconds}s and was stopped (idleTimeout)`;
    case 'aborted':
      return 'was interrupted';
    case 'spawn-error':
      return `could not start: ${outcome.message}`;
  }
}
