/** `buildfleet status`: per branch and repo, what is published, the last run, failed packages and their logs, hosts. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config/load.js';
import { readLedger } from '../../observe/ledger.js';
import { readRepoEntries } from '../../observe/repo.js';
import { signaturesMissing } from '../../observe/pacmanRepo.js';
import { readStaged } from '../../observe/staging.js';
import type { RecipeHistory } from '../../observe/types.js';
import { latestReportPath } from '../../run/runReport.js';
import { displayPath } from '../../config/paths.js';
import { countStatuses, RUN_FORMAT_VERSION, RUNS_DIR, type RunResult } from '../../run/runResult.js';
import { ExitCode } from '../exitCodes.js';
import type { GlobalOptions } from '../globalOptions.js';
import { printDiagnostics, type Output } from '../io.js';
import { isRecord } from '../../model/json.js';

export interface StatusDocument {
  readonly formatVersion: 1;
  readonly lastRun: { runId: string; startedAt: string; finishedAt: string; interrupted: boolean; built: number; failed: number; skipped: number; removed: number; staged: number } | null;
  readonly branches: {
    name: string;
    /** `signedWith`: the key of a repo with `sign:`; `unsigned`: its databases lack a signature (the next reconcile signs them). */
    repos: { name: string; path: string; packages: number; bytes: number; signedWith?: string; unsigned?: boolean }[];
    failed: { package: string; version: string; at: string; phase?: string; log?: string; errorLog?: string }[];
    /** Builds awaiting review (`buildfleet review`). */
    staged: { package: string; version: string; repo: string; stagedAt: string; reason: string }[];
  }[];
  readonly hosts: { name: string; transport: string; power: number; labels: readonly string[] }[];
  /** The HTML report of the latest run (`<state>/report.html`), null before the first run. */
  readonly report: string | null;
}

export function runStatus(global: GlobalOptions, options: { format: 'text' | 'json' }, out: Output): ExitCode {
  const loaded = loadConfig(global.configDir);
  printDiagnostics(out, loaded.diagnostics);
  if (loaded.config === null) return ExitCode.error;
  const config = loaded.config;
  const stateDir = global.stateDir(config.dir);
  const ledger = readLedger(stateDir, displayPath(config.dir, stateDir));
  printDiagnostics(out, ledger.diagnostics);
  const lastRun = readLastRun(stateDir, displayPath(config.dir, stateDir), out);
  const doc: StatusDocument = {
    formatVersion: 1,
    lastRun:
      lastRun === null
        ? null
        : { runId: lastRun.runId, startedAt: lastRun.startedAt, finishedAt: lastRun.finishedAt, interrupted: lastRun.interrupted, ...pick(countStatuses(lastRun)) },
    branches: config.branches.map((branch) => {
      const history = ledger.branches.get(branch.name) ?? new Map<string, RecipeHistory>();
      const failed = [...history.entries()]
        .filter(([, h]) => h.last?.status === 'failed')
        .map(([recipe, h]) => {
          const last = h.last!;
          const errorLog = last.log !== undefined ? path.join(stateDir, branch.name, 'errors', path.relative(path.join(stateDir, branch.name, 'logs'), last.log)) : undefined;
          return { package: recipe, version: last.version, at: last.at, ...(last.phase !== undefined ? { phase: last.phase } : {}), ...(last.log !== undefined ? { log: last.log } : {}), ...(errorLog !== undefined ? { errorLog } : {}) };
        })
        .sort((a, b) => (a.package < b.package ? -1 : 1));
      return {
        name: branch.name,
        repos: branch.repos.map((repo) => {
          const index = readRepoEntries(repo, displayPath(config.dir, repo.path));
          printDiagnostics(out, index.diagnostics);
          let bytes = 0;
          for (const e of index.entries.values()) bytes += e.size;
          const signing = repo.sign !== undefined ? { signedWith: repo.sign.key, unsigned: signaturesMissing(repo) } : {};
          return { name: repo.name, path: repo.path, packages: index.entries.size, bytes, ...signing };
        }),
        failed,
        staged: [...readStaged(stateDir, branch.name, displayPath(config.dir, stateDir)).staged.values()].map((b) => ({ package: b.recipe, version: b.version, repo: b.repo, stagedAt: b.stagedAt, reason: b.reason })),
      };
    }),
    hosts: config.hosts.map((h) => ({ name: h.name, transport: h.transport, power: h.power, labels: h.labels })),
    report: existsSync(latestReportPath(stateDir)) ? latestReportPath(stateDir) : null,
  };
  out.stdout(options.format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : renderStatus(doc));
  return ExitCode.ok;
}

/**
 * `runs/latest.json`; null when there is none, or (with a warning) when it is not a run result
 * of this format: a damaged one was an internal error (`result.branches is not iterable`).
 */
function readLastRun(stateDir: string, displayStateDir: string, out: Output): RunResult | null {
  let text: string;
  try {
    text = readFileSync(path.join(stateDir, RUNS_DIR, 'latest.json'), 'utf8');
  } catch {
    return null; // no run yet
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  if (isRunResult(data)) return data;
  printDiagnostics(out, [
    {
      severity: 'warning',
      file: `${displayStateDir}/${RUNS_DIR}/latest.json`,
      message: `not a run result of format ${RUN_FORMAT_VERSION}: the last run is not shown`,
      hint: 'the next `buildfleet reconcile` writes it anew; the runs are also in runs/<runId>.json',
    },
  ]);
  return null;
}

const PACKAGE_STATUSES: ReadonlySet<unknown> = new Set(['built', 'failed', 'skipped', 'removed', 'staged']);

function isRunResult(value: unknown): value is RunResult {
  if (!isRecord(value)) return false;
  const r = value as Partial<Record<keyof RunResult, unknown>>;
  return (
    r.formatVersion === RUN_FORMAT_VERSION &&
    typeof r.runId === 'string' &&
    typeof r.startedAt === 'string' &&
    typeof r.finishedAt === 'string' &&
    typeof r.interrupted === 'boolean' &&
    Array.isArray(r.branches) &&
    r.branches.every((b: unknown) => isRecord(b) && Array.isArray(b.results) && b.results.every((p: unknown) => isRecord(p) && PACKAGE_STATUSES.has(p.status)))
  );
}

function pick(c: ReturnType<typeof countStatuses>): { built: number; failed: number; skipped: number; removed: number; staged: number } {
  return { built: c.built, failed: c.failed, skipped: c.skipped, removed: c.removed, staged: c.staged };
}

function renderStatus(doc: StatusDocument): string {
  const lines: string[] = [];
  if (doc.lastRun === null) lines.push('last run: none yet');
  else {
    const r = doc.lastRun;
    lines.push(`last run: ${r.runId} ${r.finishedAt}${r.interrupted ? ' (interrupted)' : ''}: ${r.built} built, ${r.failed} failed, ${r.skipped} skipped, ${r.removed} removed${r.staged > 0 ? `, ${r.staged} staged for review` : ''}`);
  }
  for (const b of doc.branches) {
    lines.push(`branch ${b.name}:`);
    for (const r of b.repos) {
      const signing = r.signedWith === undefined ? '' : r.unsigned === true ? `, signed with ${r.signedWith}: database not signed yet (the next reconcile signs it)` : `, signed with ${r.signedWith}`;
      lines.push(`  repo ${r.name}: ${r.packages} package(s), ${(r.bytes / 1024).toFixed(1)} KiB at ${r.path}${signing}`);
    }
    if (b.failed.length === 0) lines.push('  no failed packages');
    for (const s of b.staged) lines.push(`  STAGED ${s.package} ${s.version} for repo ${s.repo} since ${s.stagedAt} (${s.reason}): buildfleet review show ${s.package}`);
    for (const f of b.failed) lines.push(`  FAILED ${f.package} ${f.version}${f.phase !== undefined ? ` in step ${f.phase}` : ''} at ${f.at}${f.errorLog !== undefined ? `: ${f.errorLog}` : ''}`);
  }
  if (doc.report !== null) lines.push(`report: ${doc.report}`);
  lines.push('hosts:');
  for (const h of doc.hosts) lines.push(`  ${h.name} (${h.transport}, power ${h.power}${h.labels.length > 0 ? `, labels ${h.labels.join(', ')}` : ''})`);
  return `${lines.join('\n')}\n`;
}
