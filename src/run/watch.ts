/**
 * The watch loop: run once, then again whenever a config YAML file or a path
 * source changes (after a quiet period), or a git source's ref moves (polled).
 * Never two runs at once: a change during a run queues exactly one more run.
 *
 * Responsible for deciding *when* to run; what a run does (reconcile or plan)
 * and how it is shown is the caller's `run` callback. Stops when `stop` aborts,
 * after the run in progress ends (the caller interrupts that run through its
 * own signals, as reconcile does).
 */
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Diagnostic } from '../config/diagnostic.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { resolveGitRef } from '../sources/gitSource.js';

/** Names editors write while saving (vim swap and backup files, emacs locks, …): never a reason to run. */
const EDITOR_TEMP = /(^\.#)|(^#.*#$)|(~$)|(\.sw[a-p]$)|(^4913$)|(\.tmp$)|(\.bak$)|(\.orig$)|(^\.~lock\.)|(^\.DS_Store$)/;

export interface WatchRun {
  /** Why this run started: `start`, `branches/main.yaml changed`, `main: source 1a2b3c…`. */
  readonly trigger: string;
}

export interface WatchRunOutcome {
  /** The source commit each git-sourced branch was planned at (polls compare against these). */
  readonly sourceCommits: ReadonlyMap<string, string>;
}

export interface WatchEvents {
  ready?(event: { paths: readonly string[] }): void;
  runStarting?(event: WatchRun): void;
  /** A change came during a run: one more run follows it. */
  queued?(event: WatchRun): void;
  idle?(): void;
  warning?(diagnostics: readonly Diagnostic[]): void;
}

export interface WatchOptions {
  /** Absolute path of the config directory. */
  readonly configDir: string;
  /** Absolute path of the state directory (ignored by the watcher). */
  readonly stateDir: string;
  /** Quiet period after the last change before a run starts, milliseconds. */
  readonly debounceMs: number;
  /** Seconds between polls of git sources. */
  readonly intervalSeconds: number;
  /** One run; must not throw. */
  readonly run: (run: WatchRun) => Promise<WatchRunOutcome>;
  /** Aborted: start no further run, stop watching, resolve once the current run ends. */
  readonly stop: AbortSignal;
  readonly events?: WatchEvents;
}

/** What to watch and ignore for a config (or for a config directory that does not load). */
function watchedPaths(configDir: string, config: Config | null): { paths: string[]; ignored: string[] } {
  const paths = ['hosts.yaml', 'branches', 'pipelines'].map((p) => path.join(configDir, p));
  const ignored: string[] = [];
  for (const branch of config?.branches ?? []) {
    if (branch.source.kind === 'path') paths.push(branch.source.path);
    for (const repo of branch.repos) ignored.push(repo.path);
  }
  return { paths: [...new Set(paths)].sort(), ignored };
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Runs until `stop` aborts. */
export async function watchLoop(options: WatchOptions): Promise<void> {
  const { configDir, stateDir, events } = options;
  let ignoredDirs: string[] = [];
  const ignored = (file: string): boolean =>
    EDITOR_TEMP.test(path.basename(file)) || path.basename(file) === '.git' || isInside(file, stateDir) || ignoredDirs.some((d) => isInside(file, d));

  let config = loadConfig(configDir).config;
  let current = watchedPaths(configDir, config);
  ignoredDirs = current.ignored;
  const watcher: FSWatcher = watch(current.paths, { ignoreInitial: true, ignored, awaitWriteFinish: false });
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));

  const lastCommits = new Map<string, string>();
  let running: Promise<void> | null = null;
  let queued: string | null = null;
  const currentRun = (): Promise<void> => running ?? Promise.resolve();

  const refreshWatched = async (): Promise<void> => {
    const next = watchedPaths(configDir, config);
    ignoredDirs = next.ignored;
    const added = next.paths.filter((p) => !current.paths.includes(p));
    const removed = current.paths.filter((p) => !next.paths.includes(p));
    if (added.length > 0) watcher.add(added);
    if (removed.length > 0) watcher.unwatch(removed);
    current = next;
    if (added.length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  };

  const requestRun = (trigger: string): void => {
    if (options.stop.aborted) return;
    if (running !== null) {
      queued ??= trigger;
      events?.queued?.({ trigger });
      return;
    }
    running = (async () => {
      let next: string | null = trigger;
      while (next !== null && !options.stop.aborted) {
        queued = null;
        events?.runStarting?.({ trigger: next });
        const outcome = await options.run({ trigger: next });
        for (const [branch, commit] of outcome.sourceCommits) lastCommits.set(branch, commit);
        config = loadConfig(configDir).config;
        await refreshWatched();
        next = queued;
      }
      running = null;
      if (!options.stop.aborted) events?.idle?.();
    })();
  };

  // Changes: wait for a quiet period, then run once for all of them.
  const changed = new Set<string>();
  let debounce: NodeJS.Timeout | undefined;
  watcher.on('all', (event, file) => {
    // A new directory changes nothing until files appear in it (they have events of their own).
    if (event === 'addDir' || ignored(file)) return;
    changed.add(isInside(file, configDir) ? path.relative(configDir, file) : file);
    if (debounce !== undefined) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      const files = [...changed].sort();
      changed.clear();
      requestRun(`${files.slice(0, 3).join(', ')}${files.length > 3 ? ` and ${files.length - 3} more` : ''} changed`);
    }, options.debounceMs);
  });

  // Git sources: fetch at the interval; a ref that moved starts a run.
  let polling = false;
  const poll = async (): Promise<void> => {
    if (polling || running !== null || options.stop.aborted || config === null) return;
    polling = true;
    try {
      for (const branch of config.branches) {
        if (branch.source.kind !== 'git') continue;
        const resolved = await resolveGitRef({ url: branch.source.url, ref: branch.source.ref, subdir: branch.source.subdir, stateDir, displayFile: branch.file });
        if (resolved.diagnostics.length > 0) events?.warning?.(resolved.diagnostics);
        if (resolved.ok && lastCommits.get(branch.name) !== resolved.commit) {
          requestRun(`${branch.name}: source ${resolved.commit.slice(0, 12)}`);
          break;
        }
      }
    } finally {
      polling = false;
    }
  };
  const pollTimer = setInterval(() => void poll(), options.intervalSeconds * 1000);

  await ready;
  events?.ready?.({ paths: current.paths });
  requestRun('start');
  await new Promise<void>((resolve) => {
    if (options.stop.aborted) resolve();
    else options.stop.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(pollTimer);
  if (debounce !== undefined) clearTimeout(debounce);
  await watcher.close();
  await currentRun();
}
