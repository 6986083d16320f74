/** `buildfleet review list|show|approve|reject`: the manual review gate. */
import path from 'node:path';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/types.js';
import { PASSED_ENV } from '../../execute/localTransport.js';
import type { StagedBuild } from '../../observe/staging.js';
import { formatSeconds } from '../../report/format.js';
import { approveStaged, findStaged, listStaged, readTail, rejectStaged, stagedLogPath, type ReviewOutcome } from '../../run/review.js';
import { ExitCode } from '../exitCodes.js';
import type { GlobalOptions } from '../globalOptions.js';
import { printDiagnostics, type Output } from '../io.js';

/** Lines of the build log `review show` prints. */
const SHOWN_LOG_LINES = 20;

function load(global: GlobalOptions, out: Output): { config: Config; stateDir: string } | null {
  const loaded = loadConfig(global.configDir);
  printDiagnostics(out, loaded.diagnostics);
  if (loaded.config === null) return null;
  return { config: loaded.config, stateDir: global.stateDir(loaded.config.dir) };
}

/** A staged build as `review list --format json` shows it. */
function describe(stateDir: string, b: StagedBuild): Record<string, unknown> {
  return {
    branch: b.branch,
    package: b.recipe,
    packages: b.entries.map((e) => e.name),
    version: b.version,
    fingerprint: b.fingerprint,
    repo: b.repo,
    stagedAt: b.stagedAt,
    builtAt: b.builtAt,
    host: b.host,
    seconds: b.seconds,
    runId: b.runId,
    reason: b.reason,
    ...(b.detail !== undefined ? { detail: b.detail } : {}),
    ...(b.changes !== undefined ? { changes: b.changes } : {}),
    review: b.review,
    log: stagedLogPath(stateDir, b),
    builtAgainst: b.builtAgainst,
  };
}

function why(b: StagedBuild): string {
  return `${b.reason}${b.detail !== undefined ? `: ${b.detail}` : ''}`;
}

export function runReviewList(global: GlobalOptions, options: { format: 'text' | 'json'; branch: readonly string[] }, out: Output): ExitCode {
  const loaded = load(global, out);
  if (loaded === null) return ExitCode.error;
  const { builds, diagnostics } = listStaged(loaded.config, loaded.stateDir, options.branch);
  printDiagnostics(out, diagnostics);
  if (diagnostics.some((d) => d.severity === 'error')) return ExitCode.error;
  if (options.format === 'json') {
    out.stdout(`${JSON.stringify({ formatVersion: 1, staged: builds.map((b) => describe(loaded.stateDir, b)) }, null, 2)}\n`);
    return ExitCode.ok;
  }
  if (builds.length === 0) {
    out.stdout('nothing awaits review\n');
    return ExitCode.ok;
  }
  for (const b of builds) {
    out.stdout(`${b.branch}/${b.recipe} ${b.version} -> ${b.repo}  built on ${b.host} in ${formatSeconds(b.seconds)} at ${b.builtAt}  (${why(b)})\n`);
  }
  out.stdout(`${builds.length} build(s) await review: \`buildfleet review show PKG\`, then \`review approve PKG…\` or \`review reject PKG… --reason TEXT\`\n`);
  return ExitCode.ok;
}

export async function runReviewShow(global: GlobalOptions, options: { package: string; branch?: string; format: 'text' | 'json' }, out: Output): Promise<ExitCode> {
  const loaded = load(global, out);
  if (loaded === null) return ExitCode.error;
  const { builds, diagnostics } = findStaged(loaded.config, loaded.stateDir, [options.package], options.branch);
  printDiagnostics(out, diagnostics);
  const b = builds[0];
  if (b === undefined) return ExitCode.error;
  const log = stagedLogPath(loaded.stateDir, b);
  const tail = await readTail(log, SHOWN_LOG_LINES);
  if (options.format === 'json') {
    out.stdout(`${JSON.stringify({ formatVersion: 1, ...describe(loaded.stateDir, b), files: b.entries, logTail: tail }, null, 2)}\n`);
    return ExitCode.ok;
  }
  const lines = [
    `${b.branch}/${b.recipe} ${b.version}  awaiting review for repo ${b.repo}`,
    `  fingerprint:  ${b.fingerprint}`,
    `  built:        on ${b.host} at ${b.builtAt} in ${formatSeconds(b.seconds)} (run ${b.runId})`,
    `  what changed: ${why(b)}`,
    ...(b.changes ?? []).map((c) => `                ${c.kind}${c.name !== undefined ? ` ${c.name}` : ''}: ${c.detail}`),
    `  staged:       ${b.review}, at ${b.stagedAt}`,
    ...(b.builtAgainst.length > 0 ? [`  built against (awaiting review then): ${b.builtAgainst.map((d) => `${d.recipe} ${d.version}`).join(', ')}`] : []),
    ...b.entries.map((e) => `  package:      ${e.name} ${e.version}: ${e.file} (${e.size} bytes, sha256 ${e.sha256})`),
    `  log:          ${log}`,
    `  last ${SHOWN_LOG_LINES} lines of the log:`,
    ...(tail.length > 0 ? tail.map((l) => `  | ${l}`) : ['  (empty)']),
  ];
  out.stdout(`${lines.join('\n')}\n`);
  return ExitCode.ok;
}

function finish(outcome: ReviewOutcome, stateDir: string, out: Output, say: (b: StagedBuild) => string): ExitCode {
  switch (outcome.kind) {
    case 'error':
      printDiagnostics(out, outcome.diagnostics);
      return ExitCode.error;
    case 'locked': {
      const h = outcome.holder;
      out.stderr(
        `${path.join(stateDir, 'lock')}: error: ${h !== null ? `another command holds the lock on the state directory (${h.command}, pid ${h.pid} on ${h.host}, started ${h.startedAt})` : 'the lock on the state directory is held but unreadable'}\n  hint: wait for it to finish, then run this again\n`,
      );
      return ExitCode.locked;
    }
    case 'done':
      for (const b of outcome.builds) out.stdout(`${say(b)}\n`);
      for (const e of outcome.errors) out.stdout(`ERROR ${e}\n`);
      return outcome.errors.length > 0 ? ExitCode.buildsFailed : ExitCode.ok;
  }
}

export async function runReviewApprove(global: GlobalOptions, options: { packages: readonly string[]; branch?: string }, out: Output): Promise<ExitCode> {
  const loaded = load(global, out);
  if (loaded === null) return ExitCode.error;
  const baseEnv = Object.fromEntries(PASSED_ENV.flatMap((k) => (process.env[k] !== undefined ? [[k, process.env[k]]] : [])));
  const outcome = await approveStaged({ config: loaded.config, stateDir: loaded.stateDir, packages: options.packages, ...(options.branch !== undefined ? { branch: options.branch } : {}), baseEnv });
  return finish(outcome, loaded.stateDir, out, (b) => `approved ${b.branch}/${b.recipe} ${b.version}: published to repo ${b.repo}`);
}

export async function runReviewReject(global: GlobalOptions, options: { packages: readonly string[]; branch?: string; reason: string }, out: Output): Promise<ExitCode> {
  const loaded = load(global, out);
  if (loaded === null) return ExitCode.error;
  if (options.reason.trim() === '') {
    out.stderr('buildfleet review reject: error: --reason must say why\n  hint: e.g. --reason "test suite fails on arm64"\n');
    return ExitCode.error;
  }
  const outcome = await rejectStaged({ config: loaded.config, stateDir: loaded.stateDir, packages: options.packages, reason: options.reason, ...(options.branch !== undefined ? { branch: options.branch } : {}) });
  return finish(outcome, loaded.stateDir, out, (b) => `rejected ${b.branch}/${b.recipe} ${b.version} (fingerprint ${b.fingerprint.slice(0, 12)}): ${options.reason}; not built again until its inputs change`);
}
