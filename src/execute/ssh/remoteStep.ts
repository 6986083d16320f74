/**
 * Runs one pipeline step on an SSH host (the STEP script), with the same limits
 * and outcomes as a local step: output streamed as it comes, a wall-time limit,
 * an idle limit, interruption; stopping closes the step's stdin, and the script on
 * the host then kills the step's process group (TERM, grace, KILL).
 */
import { constants } from 'node:os';
import type { StepOutcome } from '../runStep.js';
import { channelExit, SshError, type SshConnections } from './connections.js';
import { scriptCommand, STEP } from './remoteScripts.js';

export interface RemoteStepRequest {
  readonly connections: SshConnections;
  /** Absolute workspace path on the host. */
  readonly workspace: string;
  readonly run: string;
  /** The step's name (in the warning about processes it left running). */
  readonly stepName: string;
  /** The step's variables besides PATH, HOME, USER, LOGNAME and SHELL (the host's own). */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly idleTimeoutSeconds?: number;
  readonly graceSeconds: number;
  readonly signal?: AbortSignal;
  readonly killSignal?: AbortSignal;
  readonly onOutput: (chunk: Buffer) => void;
}

/** A step outcome, or `dropped`: the connection went away before the step's end was known. */
export type RemoteStepOutcome = StepOutcome | { readonly kind: 'dropped'; readonly message: string };

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));

export async function runRemoteStep(request: RemoteStepRequest): Promise<RemoteStepOutcome> {
  const env = Object.entries(request.env).map(([k, v]) => `${k}=${v}`);
  let channel;
  try {
    channel = await request.connections.exec(scriptCommand('buildfleet-step', STEP, [request.workspace, request.run, String(request.graceSeconds), request.stepName, ...env]));
  } catch (error) {
    if (error instanceof SshError) return { kind: 'dropped', message: error.message };
    throw error;
  }
  return new Promise<RemoteStepOutcome>((resolve) => {
    let stopReason: StepOutcome | undefined;
    const stop = (reason: StepOutcome): void => {
      if (stopReason !== undefined) return;
      stopReason = reason;
      channel.end(); // EOF on the script's stdin: TERM the group, KILL after the grace period
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
    channel.on('data', onData);
    channel.stderr.on('data', onData);
    const onAbort = (): void => stop({ kind: 'aborted' });
    const onKill = (): void => {
      if (channel.writable) channel.write('kill\n');
      stop({ kind: 'aborted' });
    };
    if (request.signal?.aborted === true) onAbort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.killSignal?.aborted === true) onKill();
    request.killSignal?.addEventListener('abort', onKill, { once: true });
    channel.once('close', () => {
      // Read as the channel closes: a short step's exit may have come before these listeners (channelExit).
      const exit = channelExit(channel);
      clearTimeout(wallTimer);
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      request.signal?.removeEventListener('abort', onAbort);
      request.killSignal?.removeEventListener('abort', onKill);
      if (stopReason !== undefined) return resolve(stopReason);
      if (exit === undefined) return resolve({ kind: 'dropped', message: `the connection to ${request.connections.label} dropped while the step ran${request.connections.dropReason()}` });
      if (exit.code === null) return resolve({ kind: 'dropped', message: `the step's session on ${request.connections.label} ended by ${exit.signal ?? 'a signal'}` });
      if (exit.code === 0) return resolve({ kind: 'ok' });
      if (exit.code === 125) return resolve({ kind: 'spawn-error', message: 'the workspace is missing on the host' });
      if (exit.code > 128 && SIGNAL_NAMES.has(exit.code - 128)) return resolve({ kind: 'killed-by-signal', signal: SIGNAL_NAMES.get(exit.code - 128)! });
      resolve({ kind: 'exit-non-zero', exitCode: exit.code });
    });
  });
}
