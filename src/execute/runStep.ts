/**
 * Runs one pipeline step (`sh -c <run>`, or the isolated command line of
 * isolation.ts) in its own process group, output streamed
 * to the caller, with a wall-time limit and an idle (no output) limit. When a limit
 * is hit or the run is interrupted, the whole group gets SIGTERM, then SIGKILL
 * after a grace period. When the step's shell exits, whatever it left running in
 * its group is killed too: a build leaves no process behind.
 */
import { execa } from 'execa';

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

  // The shell has exited: kill anything it left in its group, so that pipes close.
  child.once('exit', () => killGroup(pid, 'SIGKILL'));
  const result = await child;

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
