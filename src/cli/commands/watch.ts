/**
 * `buildfleet watch`: reconcile (or, with --dry-run, plan) at start and whenever
 * the config or a source changes. Signals: while idle, the first SIGINT/SIGTERM
 * stops at once; during a run it stops the run as reconcile does (no new builds,
 * the grace period, a second signal kills) and then exits.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { formatDiagnostic, type Diagnostic } from '../../config/diagnostic.js';
import { loadConfig } from '../../config/load.js';
import { PASSED_ENV } from '../../execute/localTransport.js';
import { renderPlan } from '../../report/renderPlan.js';
import { renderRunText } from '../../report/renderRun.js';
import { planBranches } from '../../run/planBranches.js';
import { reconcile } from '../../run/reconcile.js';
import { watchLoop, type WatchRunOutcome } from '../../run/watch.js';
import { ExitCode } from '../exitCodes.js';
import type { GlobalOptions } from '../globalOptions.js';
import { printDiagnostics, type Output } from '../io.js';
import { createProgress } from '../progress.js';
import { INTERRUPTED_EXIT } from './reconcile.js';

export interface WatchCommandOptions {
  readonly branch: readonly string[];
  readonly dryRun: boolean;
  /** Quiet period after a change, milliseconds. */
  readonly debounceMs: number;
  /** Seconds between polls of git sources. */
  readonly intervalSeconds: number;
  readonly graceSeconds: number;
  readonly allowLarge: boolean;
}

export async function runWatch(global: GlobalOptions, options: WatchCommandOptions, out: Output, log: Logger): Promise<number> {
  const configDir = path.resolve(global.configDir);
  const stateDir = global.stateDir(configDir);
  const stop = new AbortController();
  const noNewBuilds = new AbortController();
  const stopBuilds = new AbortController();
  const killBuilds = new AbortController();
  let inRun = false;
  let interrupted = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stop.signal.aborted) {
      stop.abort();
      if (!inRun) {
        log.info({ event: 'watch-stopped', signal }, `${signal}: stopped watching`);
        return;
      }
      interrupted = true;
      log.warn({ event: 'interrupted', signal }, `${signal}: stopping after this run; starting no new builds; running builds get ${options.graceSeconds}s to finish (send it again to stop them now)`);
      noNewBuilds.abort();
      graceTimer = setTimeout(() => stopBuilds.abort(), options.graceSeconds * 1000);
      graceTimer.unref();
    } else if (inRun) {
      log.warn({ event: 'interrupted', signal }, `${signal}: stopping running builds now`);
      stopBuilds.abort();
      killBuilds.abort();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const baseEnv = Object.fromEntries(PASSED_ENV.flatMap((k) => (process.env[k] !== undefined ? [[k, process.env[k]]] : [])));
  const warn = (diagnostics: readonly Diagnostic[]): void => {
    for (const d of diagnostics) log.warn({ event: 'diagnostic', severity: d.severity, file: d.file }, formatDiagnostic(d));
  };

  const runOnce = async (): Promise<WatchRunOutcome> => {
    const sourceCommits = new Map<string, string>();
    const loaded = loadConfig(configDir);
    printDiagnostics(out, loaded.diagnostics);
    if (loaded.config === null) {
      log.warn({ event: 'watch-config-error' }, 'the config has errors; waiting for a change');
      return { sourceCommits };
    }
    if (options.dryRun) {
      const outcome = await planBranches({ config: loaded.config, stateDir, branches: options.branch });
      printDiagnostics(out, outcome.diagnostics);
      for (const b of outcome.plan?.branches ?? []) if (b.sourceCommit !== undefined) sourceCommits.set(b.name, b.sourceCommit);
      if (outcome.plan !== null) out.stdout(renderPlan(outcome.plan, 'text'));
      return { sourceCommits };
    }
    const progress = createProgress(log, process.stderr.isTTY ? process.stderr : null);
    const outcome = await reconcile({
      config: loaded.config,
      stateDir,
      branches: options.branch,
      allowLarge: options.allowLarge,
      graceSeconds: options.graceSeconds,
      stop: { noNewBuilds: noNewBuilds.signal, stopBuilds: stopBuilds.signal, killBuilds: killBuilds.signal },
      events: {
        ...progress,
        planned: (plan, runId) => {
          for (const b of plan.branches) if (b.sourceCommit !== undefined) sourceCommits.set(b.name, b.sourceCommit);
          progress.planned?.(plan, runId);
        },
      },
      baseEnv,
    });
    progress.finish();
    switch (outcome.kind) {
      case 'error':
        printDiagnostics(out, outcome.diagnostics);
        break;
      case 'locked':
        log.warn({ event: 'watch-locked', holder: outcome.holder }, 'another reconcile holds the lock on the state directory; trying again at the next change');
        break;
      case 'done':
        printDiagnostics(
          out,
          outcome.diagnostics.filter((d) => d.severity === 'warning'),
        );
        out.stdout(renderRunText(outcome.result));
        break;
    }
    return { sourceCommits };
  };

  try {
    await watchLoop({
      configDir,
      stateDir,
      debounceMs: options.debounceMs,
      intervalSeconds: options.intervalSeconds,
      stop: stop.signal,
      run: async (run) => {
        inRun = true;
        try {
          return await runOnce();
        } catch (error) {
          log.error({ event: 'watch-run-error' }, `the run failed: ${error instanceof Error ? error.message : String(error)}`);
          return { sourceCommits: new Map() };
        } finally {
          inRun = false;
          log.debug({ event: 'watch-run-ended', trigger: run.trigger });
        }
      },
      events: {
        ready: ({ paths }) => log.info({ event: 'watch-ready', paths }, `watching ${paths.length} path(s)${options.dryRun ? ' (dry run: plan only)' : ''}`),
        runStarting: ({ trigger }) => log.info({ event: 'watch-run', trigger }, `${options.dryRun ? 'planning' : 'reconciling'}: ${trigger}`),
        queued: ({ trigger }) => log.info({ event: 'watch-queued', trigger }, `${trigger} during a run: one more run follows it`),
        idle: () => log.info({ event: 'watch-idle' }, 'waiting for changes'),
        warning: warn,
      },
    });
  } finally {
    if (graceTimer !== undefined) clearTimeout(graceTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return interrupted ? INTERRUPTED_EXIT : ExitCode.ok;
}
