/**
 * The real `buildfleet` binary as a child process the test can signal (SIGINT,
 * SIGKILL) while it runs, and small waits on files and processes. Complements
 * `runCli` of cli.ts, which waits for the command to end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, onTestFinished } from 'vitest';
import { BIN, REPO_ROOT, runCli } from './cli.js';

export interface FinishedProcess {
  /** Exit code, null when killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface StartedCli {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited and its output is closed. */
  readonly finished: Promise<FinishedProcess>;
  /** What it has written to stderr so far (logs are JSON lines: stderr is not a terminal). */
  stderrSoFar(): string;
  /** What it has written to stdout so far. */
  stdoutSoFar(): string;
}

let distChecked = false;

/**
 * Starts `buildfleet ARGS` in the background with the same clean environment as
 * runCli; stopped when the test finishes if it still runs. Call it inside a test.
 * The first call runs `buildfleet --version` through runCli, which refuses a
 * dist/ older than src/.
 */
export async function startCli(args: readonly string[]): Promise<StartedCli> {
  if (!distChecked) {
    await runCli(['--version']);
    distChecked = true;
  }
  const env: Record<string, string> = { NO_COLOR: '1' };
  for (const key of ['PATH', 'HOME', 'TMPDIR'] as const) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const finished = new Promise<FinishedProcess>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  if (child.pid === undefined) throw new Error('could not start buildfleet');
  // A test that fails half-way must not leave reconcile and its builds running (registered
  // after the test's temporary directory, so this runs before the directory is removed).
  onTestFinished(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    await sleep(100);
    child.kill('SIGINT'); // the second signal kills running builds at once
    if (!(await Promise.race([finished.then(() => true), sleep(10_000).then(() => false)]))) child.kill('SIGKILL');
    await finished;
  }, 20_000);
  return { child, pid: child.pid, finished, stderrSoFar: () => stderr, stdoutSoFar: () => stdout };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 25 ms; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Waits until `file` exists with some content, and returns it trimmed. */
export async function waitForFile(file: string, timeoutMs = 30_000): Promise<string> {
  await waitFor(`${file} to appear`, () => existsSync(file) && readFileSync(file, 'utf8').trim() !== '', timeoutMs);
  return readFileSync(file, 'utf8').trim();
}

/**
 * True while `pid` runs. A process that has exited but was not reaped yet (a
 * zombie: here PID 1 may not reap orphans) counts as gone: it runs no code and
 * holds no resources but its process-table entry.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The pid of a process that has exited and been reaped (for a stale lock file). */
export function deadPid(): number {
  const result = spawnSync('true');
  if (result.pid === undefined || result.pid <= 0) throw new Error('could not run true');
  return result.pid;
}

/**
 * Runs `fn(JSON.parse(json))` of the compiled module `module` (a path from the repository root,
 * e.g. `dist/publish/pacmanRepo.js`) in a child process, after `prelude` (code run first, in the
 * same module). Kills it after `killAfterMs` unless it ended first; 'killed' when it died of
 * SIGKILL (that kill, or the prelude's), else it must have exited 0 without a word on stderr.
 */
export async function publishInChild(module: string, fn: string, json: string, options: { readonly killAfterMs?: number | undefined; readonly prelude?: string } = {}): Promise<'killed' | 'finished'> {
  const file = path.join(REPO_ROOT, module);
  const script = `${options.prelude ?? ''}\nconst m = await import(${JSON.stringify(file)}); await m[${JSON.stringify(fn)}](JSON.parse(process.env.REQUEST));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '', REQUEST: json }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  if (options.killAfterMs !== undefined) {
    const done = await Promise.race([ended.then(() => true), sleep(options.killAfterMs).then(() => false)]);
    if (!done) child.kill('SIGKILL');
  }
  const result = await ended;
  if (result.signal === 'SIGKILL') return 'killed';
  expect({ code: result.code, stderr }).toEqual({ code: 0, stderr: '' });
  return 'finished';
}

/**
 * A prelude for `publishInChild` that makes the child die (SIGKILL) when it first deletes a file
 * whose name ends in `suffix`: `unlink` of node:fs/promises is replaced before the module loads.
 */
export function killAtFirstDeletion(suffix: string): string {
  return `const fs = await import('node:fs'); const { syncBuiltinESMExports } = await import('node:module');
const unlink = fs.promises.unlink;
fs.promises.unlink = (file) => (String(file).endsWith(${JSON.stringify(suffix)}) ? process.kill(process.pid, 'SIGKILL') : unlink(file));
syncBuiltinESMExports();`;
}

export { seededRandom } from './random.js';
