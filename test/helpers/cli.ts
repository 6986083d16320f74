/**
 * Runs the real `buildfleet` binary (bin/buildfleet.js over the compiled dist/)
 * in a child process; nothing is mocked.
 */
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = path.join(REPO_ROOT, 'bin', 'buildfleet.js');

export interface CliResult {
  /** Exit code (null only if the process was killed by a signal). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly cwd?: string;
  /** Added to a clean environment (PATH, HOME, TMPDIR of this process). */
  readonly env?: Record<string, string>;
  /** Written to the command's standard input (then closed). */
  readonly stdin?: string;
}

let distChecked = false;

/** Whether `npm run build` can bundle the CLI (esbuild is a dev dependency; an older node_modules/ may lack it). */
export const ESBUILD_INSTALLED: boolean = (() => {
  try {
    createRequire(import.meta.url).resolve('esbuild');
    return true;
  } catch {
    return false;
  }
})();

/**
 * The binary runs dist/, not src/: refuse to test a stale build (a test would
 * pass or fail for code that is not the code under review).
 */
export function assertDistFresh(): void {
  if (distChecked) return;
  const stale: string[] = [];
  let newestSrc = 0;
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(REPO_ROOT, 'src', rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts')) {
        const src = statSync(path.join(REPO_ROOT, 'src', child));
        newestSrc = Math.max(newestSrc, src.mtimeMs);
        let built: number;
        try {
          built = statSync(path.join(REPO_ROOT, 'dist', child.replace(/\.ts$/, '.js'))).mtimeMs;
        } catch {
          built = -1;
        }
        if (built < src.mtimeMs) stale.push(`src/${child}`);
      }
    }
  };
  walk('');
  // bin/buildfleet.js runs the bundle made from dist/ (scripts/bundle-cli.mjs): it must be newer than every
  // source too; only without esbuild installed is there none (and bin/buildfleet.js runs dist/ itself).
  let bundled = -1;
  try {
    bundled = statSync(path.join(REPO_ROOT, 'dist', 'bundle', 'main.cjs')).mtimeMs;
  } catch {
    // missing: stale when esbuild could have made it
  }
  if ((bundled >= 0 || ESBUILD_INSTALLED) && bundled < newestSrc) stale.push('dist/bundle/main.cjs');
  if (stale.length > 0) {
    throw new Error(`dist/ is missing or older than ${stale.join(', ')}: run \`npm run build\` first (\`npm test\` does)`);
  }
  distChecked = true;
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  assertDistFresh();
  const env: Record<string, string> = { NO_COLOR: '1' };
  for (const key of ['PATH', 'HOME', 'TMPDIR'] as const) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: options.cwd ?? REPO_ROOT, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ code: 0, stdout, stderr });
        } else if (typeof error.code === 'number' || error.signal !== null) {
          resolve({ code: typeof error.code === 'number' ? error.code : null, stdout, stderr });
        } else {
          reject(new Error(`could not start ${BIN}: ${error.message}`));
        }
      },
    );
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
}

export interface MeasuredCliResult extends CliResult {
  /** The kernel's high-water mark of the process's resident set (VmHWM, polled every 50 ms), MiB. */
  readonly peakRssMiB: number;
}

/**
 * Runs the CLI as runCli does (PATH, HOME and NO_COLOR only in its environment), polling the
 * kernel's high-water mark of its resident set (VmHWM) until it exits.
 */
export function runCliMeasured(args: readonly string[], cwd: string = REPO_ROOT): Promise<MeasuredCliResult> {
  assertDistFresh();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-20_000)));
    let peakKiB = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m !== null) peakKiB = Math.max(peakKiB, Number(m[1]));
      } catch {
        // exited
      }
    }, 50);
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(poll);
      resolve({ code, stdout, stderr, peakRssMiB: peakKiB / 1024 });
    });
  });
}

/** Replaces every occurrence of each path (and its realpath form, if given) with a placeholder. */
export function scrub(text: string, replacements: Record<string, string>): string {
  let out = text;
  for (const [from, to] of Object.entries(replacements).sort(([a], [b]) => b.length - a.length)) {
    out = out.split(from).join(to);
  }
  return out;
}
