/**
 * Runs the real `buildfleet` binary (bin/buildfleet.js over the compiled dist/)
 * in a child process; nothing is mocked.
 */
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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

/**
 * The binary runs dist/, not src/: refuse to test a stale build (a test would
 * pass or fail for code that is not the code under review).
 */
function assertDistFresh(): void {
  if (distChecked) return;
  const stale: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(REPO_ROOT, 'src', rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts')) {
        const src = statSync(path.join(REPO_ROOT, 'src', child));
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

/** Replaces every occurrence of each path (and its realpath form, if given) with a placeholder. */
export function scrub(text: string, replacements: Record<string, string>): string {
  let out = text;
  for (const [from, to] of Object.entries(replacements).sort(([a], [b]) => b.length - a.length)) {
    out = out.split(from).join(to);
  }
  return out;
}
