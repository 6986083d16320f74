/**
 * afterPublish hooks: programs run after a repo was updated (pacbuild's wished-for
 * "extra scripts", such as a generated packages.txt). A hook runs without a shell,
 * with the repo and branch in its environment, in a process group of its own under
 * a time limit (runStep.ts): at the limit the whole group is stopped, children
 * included, and nothing it started is left running. A failing hook is reported and
 * leaves the repo as published.
 */
import { describeStepOutcome, runStep } from '../execute/runStep.js';

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

/** Output kept in memory for the report (the last bytes; a hook printing forever costs no more). */
const KEPT_OUTPUT_BYTES = 64 * 1024;
/** Seconds between SIGTERM and SIGKILL for a hook stopped at its time limit. */
const HOOK_GRACE_SECONDS = 5;

export async function runHook(request: HookRequest): Promise<HookResult> {
  let kept: Buffer[] = [];
  let keptBytes = 0;
  const outcome = await runStep({
    argv: [request.hook],
    cwd: request.cwd,
    env: request.env,
    timeoutSeconds: request.timeoutSeconds,
    graceSeconds: HOOK_GRACE_SECONDS,
    onOutput: (chunk) => {
      kept.push(chunk);
      keptBytes += chunk.length;
      if (keptBytes > 2 * KEPT_OUTPUT_BYTES) {
        const all = Buffer.concat(kept).subarray(-KEPT_OUTPUT_BYTES);
        kept = [all];
        keptBytes = all.length;
      }
    },
  });
  const output = Buffer.concat(kept)
    .toString('utf8')
    .replace(/\n$/, '')
    .split('\n')
    .slice(-20)
    .join('\n');
  switch (outcome.kind) {
    case 'ok':
      return { hook: request.displayHook, ok: true, output };
    case 'timeout':
      return { hook: request.displayHook, ok: false, message: `hook ${request.displayHook} did not finish within ${request.timeoutSeconds}s and was stopped (hooks.timeout)`, output };
    case 'exit-non-zero':
      return { hook: request.displayHook, ok: false, message: `hook ${request.displayHook} exited with status ${outcome.exitCode}`, output };
    default:
      return { hook: request.displayHook, ok: false, message: `hook ${request.displayHook} ${describeStepOutcome(outcome)}`, output };
  }
}
