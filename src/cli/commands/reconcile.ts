/** `buildfleet reconcile`: build what is stale, publish, prune. Signals: the first stops new builds, the second kills. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadConfig } from '../../config/load.js';
import { PLAN_FORMAT_VERSION, type SavedPlan } from '../../plan/types.js';
import { renderRunText } from '../../report/renderRun.js';
import { PASSED_ENV } from '../../execute/localTransport.js';
import { reconcile } from '../../run/reconcile.js';
import { ExitCode } from '../exitCodes.js';
import type { GlobalOptions } from '../globalOptions.js';
import { printDiagnostics, type Output } from '../io.js';
import { createProgress } from '../progress.js';

export interface ReconcileCommandOptions {
  readonly branch: readonly string[];
  readonly plan?: string;
  readonly format: 'text' | 'json';
  readonly retryFailed: boolean;
  readonly keepFailedWorkspaces: boolean;
  readonly graceSeconds: number;
  readonly allowLarge?: boolean;
}

/** Exit code of a run stopped by a signal (128 + SIGINT). */
export const INTERRUPTED_EXIT = 130;

function readSavedPlan(file: string, out: Output): SavedPlan | null {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    out.stderr(`${file}: error: cannot read the saved plan (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})\n  hint: pass a file written by \`buildfleet plan --out FILE\`\n`);
    return null;
  }
  const plan = data as Partial<SavedPlan>;
  if (plan.kind !== 'buildfleet-plan' || plan.formatVersion !== PLAN_FORMAT_VERSION || plan.stateDigest === undefined) {
    out.stderr(`${file}: error: not a saved buildfleet plan of format ${PLAN_FORMAT_VERSION}\n  hint: make it again with \`buildfleet plan --out FILE\` using this version of buildfleet\n`);
    return null;
  }
  return plan as SavedPlan;
}

export async function runReconcile(global: GlobalOptions, options: ReconcileCommandOptions, out: Output, log: Logger): Promise<number> {
  const loaded = loadConfig(global.configDir);
  printDiagnostics(out, loaded.diagnostics);
  if (loaded.config === null) return ExitCode.error;
  let savedPlan: SavedPlan | undefined;
  if (options.plan !== undefined) {
    const plan = readSavedPlan(path.resolve(options.plan), out);
    if (plan === null) return ExitCode.error;
    savedPlan = plan;
  }

  const noNewBuilds = new AbortController();
  const stopBuilds = new AbortController();
  const killBuilds = new AbortController();
  let graceTimer: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!noNewBuilds.signal.aborted) {
      log.warn({ event: 'interrupted', signal }, `${signal}: starting no new builds; running builds get ${options.graceSeconds}s to finish (send it again to stop them now)`);
      noNewBuilds.abort();
      graceTimer = setTimeout(() => stopBuilds.abort(), options.graceSeconds * 1000);
      graceTimer.unref();
    } else {
      log.warn({ event: 'interrupted', signal }, `${signal}: stopping running builds now`);
      stopBuilds.abort();
      killBuilds.abort();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = createProgress(log, process.stderr.isTTY ? process.stderr : null);
  const baseEnv = Object.fromEntries(PASSED_ENV.flatMap((k) => (process.env[k] !== undefined ? [[k, process.env[k]]] : [])));
  try {
    const outcome = await reconcile({
      config: loaded.config,
      stateDir: global.stateDir(loaded.config.dir),
      branches: options.branch,
      ...(savedPlan !== undefined ? { savedPlan } : {}),
      retryFailed: options.retryFailed,
      keepFailedWorkspaces: options.keepFailedWorkspaces,
      graceSeconds: options.graceSeconds,
      allowLarge: options.allowLarge === true,
      stop: { noNewBuilds: noNewBuilds.signal, stopBuilds: stopBuilds.signal, killBuilds: killBuilds.signal },
      events: progress,
      baseEnv,
      sshEnv: process.env,
    });
    progress.finish();
    switch (outcome.kind) {
      case 'error':
        printDiagnostics(out, outcome.diagnostics);
        return ExitCode.error;
      case 'locked': {
        const h = outcome.holder;
        out.stderr(
          h !== null
            ? `${path.join(global.stateDir(loaded.config.dir), 'lock')}: error: another reconcile holds the lock on the state directory (pid ${h.pid} on ${h.host}, started ${h.startedAt})\n  hint: wait for it to finish; a lock left by a dead process on this host is taken over automatically\n`
            : `${path.join(global.stateDir(loaded.config.dir), 'lock')}: error: the lock on the state directory is held but unreadable\n  hint: if no reconcile is running on any machine sharing this state directory, remove the lock file\n`,
        );
        return ExitCode.locked;
      }
      case 'done':
        printDiagnostics(
          out,
          outcome.diagnostics.filter((d) => d.severity === 'warning'),
        );
        out.stdout(options.format === 'json' ? `${JSON.stringify(outcome.result, null, 2)}\n` : renderRunText(outcome.result));
        if (outcome.result.interrupted) return INTERRUPTED_EXIT;
        return outcome.failed ? ExitCode.buildsFailed : ExitCode.ok;
    }
    return ExitCode.error;
  } finally {
    if (graceTimer !== undefined) clearTimeout(graceTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
