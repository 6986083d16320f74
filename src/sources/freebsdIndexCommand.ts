/**
 * Regenerating a freebsd-index branch's INDEX with its `indexCommand` (such as
 * `make index`), as FreeBSD's portbuild ran `makeindex` before a build. Only
 * `reconcile` calls this: the command writes into the ports tree, and `plan`
 * writes nothing.
 */
import { mkdirSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { Diagnostic } from '../config/diagnostic.js';
import type { BranchConfig } from '../config/types.js';

/** Runs the branch's indexCommand (if any) in its tree; output goes to `<state>/<branch>/index.log`. Null when it succeeded or there is none. */
export async function regenerateIndex(branch: BranchConfig, options: { readonly stateDir: string; readonly baseEnv: Readonly<Record<string, string>>; readonly signal?: AbortSignal }): Promise<Diagnostic | null> {
  const { source } = branch;
  if (source.kind !== 'path' || source.index?.command === undefined) return null;
  const { command, timeoutSeconds } = source.index;
  const logFile = path.join(options.stateDir, branch.name, 'index.log');
  mkdirSync(path.dirname(logFile), { recursive: true });
  closeSync(openSync(logFile, 'w', 0o644));
  const result = await execa('sh', ['-c', command], {
    cwd: source.path,
    env: options.baseEnv,
    extendEnv: false,
    stdin: 'ignore',
    stdout: { file: logFile, append: true },
    stderr: { file: logFile, append: true },
    reject: false,
    timeout: timeoutSeconds * 1000,
    forceKillAfterDelay: 10_000,
    ...(options.signal !== undefined ? { cancelSignal: options.signal } : {}),
  });
  if (result.exitCode === 0 && result.timedOut !== true) return null;
  const what = result.timedOut === true ? `did not finish within ${timeoutSeconds}s` : result.isCanceled === true ? 'was interrupted' : `failed (${result.exitCode !== undefined ? `exit code ${result.exitCode}` : (result.signal ?? 'no exit code')})`;
  return {
    severity: 'error',
    file: branch.file,
    message: `the INDEX command ${JSON.stringify(command)} ${what}; its output is in ${logFile}`,
    hint: 'fix the ports tree or source.indexCommand (raise source.indexTimeout if it needs longer), then run reconcile again',
  };
}
