/**
 * afterPublish hooks: programs run after a repo was updated (pacbuild's wished-for
 * "extra scripts", such as a generated packages.txt). A hook runs without a shell,
 * with the repo and branch in its environment, under a time limit; a failing hook
 * is reported and leaves the repo as published.
 */
import { execa } from 'execa';

export interface HookRequest {
  /** Absolute path of the hook program. */
  readonly hook: string;
  /** Shown in messages (relative to the config directory). */
  readonly displayHook: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Seconds. */
  readonly timeoutSeconds: number;
}

export interface HookResult {
  readonly hook: string;
  readonly ok: boolean;
  /** What went wrong, one line. */
  readonly message?: string;
  /** The last lines of its output. */
  readonly output: string;
}

export async function runHook(request: HookRequest): Promise<HookResult> {
  const result = await execa(request.hook, [], {
    cwd: request.cwd,
    env: request.env,
    extendEnv: false,
    stdin: 'ignore',
    all: true,
    reject: false,
    timeout: request.timeoutSeconds * 1000,
    forceKillAfterDelay: 5000,
    maxBuffer: 1024 * 1024,
  });
  const output = String(result.all ?? '')
    .split('\n')
    .slice(-20)
    .join('\n');
  if (result.timedOut) return { hook: request.displayHook, ok: false, message: `hook ${request.displayHook} did not finish within ${request.timeoutSeconds}s and was stopped`, output };
  if (result.failed) {
    const why = result.exitCode !== undefined ? `exited with status ${result.exitCode}` : (result.shortMessage ?? 'could not be run');
    return { hook: request.displayHook, ok: false, message: `hook ${request.displayHook} ${why}`, output };
  }
  return { hook: request.displayHook, ok: true, output };
}
