/**
 * Writes the HTML report of a run (report/renderHtml.ts): `<state>/runs/<runId>/report.html`
 * and the same page as `<state>/report.html` (the latest run), each replaced
 * atomically. While the run goes on it is rewritten as builds start and end —
 * at most one write at a time, spaced out in proportion to how long a write
 * takes, so that a large run does not spend its time rendering — and the page
 * reloads itself; the final write drops the reload.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../execute/fsUtil.js';
import type { RecipeId } from '../model/types.js';
import { renderRunHtml, type BlastRadius, type ReportBranch, type ReportData, type ReportPackage } from '../report/renderHtml.js';
import type { BranchState } from './planBranches.js';
import type { PackageResult, RunResult } from './runResult.js';

export const REPORT_FILE = 'report.html';
/** Skip reasons that only pass on another package's problem. */
const INHERITED = new Set(['dependency-skipped', 'dependency-failed', 'aborted']);

/** `<state>/runs/<runId>/report.html`. */
export function runReportPath(stateDir: string, runsDir: string, runId: string): string {
  return path.join(stateDir, runsDir, runId, REPORT_FILE);
}

/** The latest run's report, `<state>/report.html`. */
export function latestReportPath(stateDir: string): string {
  return path.join(stateDir, REPORT_FILE);
}

export interface RunReportOptions {
  readonly stateDir: string;
  /** Name of the runs directory inside the state directory. */
  readonly runsDir: string;
  readonly runId: string;
  readonly startedAt: string;
  readonly branches: readonly BranchState[];
  /** Called when a write fails (the run goes on; the report is not essential). */
  readonly onError?: (message: string) => void;
}

export class RunReportWriter {
  /** Per branch, per package: the latest known state. */
  private readonly packages = new Map<string, Map<string, ReportPackage>>();
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private dirty = false;
  private lastWriteMs = 0;
  private lastWriteEnded = 0;
  private closed = false;

  constructor(private readonly options: RunReportOptions) {
    for (const branch of options.branches) {
      const map = new Map<string, ReportPackage>();
      for (const a of branch.plan.actions) {
        if (a.type === 'build') map.set(a.package, { package: a.package, version: a.version, status: 'queued', reason: a.reason, ...(a.detail !== undefined ? { detail: a.detail } : {}) });
        else if (a.type === 'skip') map.set(a.package, { package: a.package, ...(a.version !== undefined ? { version: a.version } : {}), status: 'skipped', reason: a.reason, ...(a.detail !== undefined ? { detail: a.detail } : {}) });
      }
      this.packages.set(branch.config.name, map);
    }
  }

  started(event: { branch: string; package: string; version: string; host: string }): void {
    const map = this.packages.get(event.branch);
    const before = map?.get(event.package);
    map?.set(event.package, { ...(before ?? { package: event.package }), version: event.version, status: 'running', host: event.host, startedAt: new Date().toISOString() });
    this.schedule();
  }

  finished(event: { branch: string; result: PackageResult }): void {
    const map = this.packages.get(event.branch);
    const before = map?.get(event.result.package);
    map?.set(event.result.package, withPlanned(before, this.fromResult(event.branch, event.result)));
    this.schedule();
  }

  /** The final page (no reload), from the run result. */
  async finish(result: RunResult): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.inFlight !== null) await this.inFlight;
    for (const branch of result.branches) {
      const map = new Map<string, ReportPackage>();
      const before = this.packages.get(branch.name);
      for (const r of branch.results) {
        const earlier = before?.get(r.package);
        map.set(r.package, withPlanned(earlier, this.fromResult(branch.name, r)));
      }
      this.packages.set(branch.name, map);
    }
    await this.write(this.data(result.finishedAt, result.interrupted, new Map(result.branches.map((b) => [b.name, b.errors]))));
  }

  private fromResult(branch: string, r: PackageResult): ReportPackage {
    const rel = (p: string): string => path.relative(this.options.stateDir, p).split(path.sep).join('/');
    return {
      package: r.package,
      ...(r.version !== undefined ? { version: r.version } : {}),
      status: r.status,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      ...(r.detail !== undefined ? { detail: r.detail } : {}),
      ...(r.host !== undefined ? { host: r.host } : {}),
      ...(r.seconds !== undefined ? { seconds: r.seconds } : {}),
      ...(r.startedAt !== undefined ? { startedAt: r.startedAt } : {}),
      ...(r.finishedAt !== undefined ? { finishedAt: r.finishedAt } : {}),
      ...(r.phase !== undefined ? { phase: r.phase } : {}),
      ...(r.tail !== undefined ? { tail: r.tail } : {}),
      ...(r.log !== undefined ? { log: rel(r.log) } : {}),
      ...(r.status === 'failed' && r.log !== undefined ? { errorLog: `${branch}/errors/${path.basename(r.log)}` } : {}),
    };
  }

  private data(finishedAt: string | undefined, interrupted: boolean, errors: ReadonlyMap<string, readonly string[]>): ReportData {
    const branches: ReportBranch[] = this.options.branches.map((b) => {
      const name = b.config.name;
      const packages = [...(this.packages.get(name)?.values() ?? [])];
      return { name, packages, errors: errors.get(name) ?? [], blastRadius: blastRadius(b, packages) };
    });
    return { runId: this.options.runId, startedAt: this.options.startedAt, ...(finishedAt !== undefined ? { finishedAt } : {}), generatedAt: new Date().toISOString(), interrupted, branches };
  }

  /** A write soon: one at a time, at least ten times its own duration (and 250 ms) apart. */
  private schedule(): void {
    if (this.closed) return;
    this.dirty = true;
    if (this.timer !== null || this.inFlight !== null) return;
    const wait = Math.max(0, this.lastWriteEnded + Math.max(250, 10 * this.lastWriteMs) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, wait);
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    if (this.closed || !this.dirty) return;
    this.dirty = false;
    this.inFlight = this.write(this.data(undefined, false, new Map()));
    await this.inFlight;
    this.inFlight = null;
    if (this.dirty) this.schedule();
  }

  private async write(data: ReportData): Promise<void> {
    const started = Date.now();
    try {
      const own = runReportPath(this.options.stateDir, this.options.runsDir, this.options.runId);
      await mkdir(path.dirname(own), { recursive: true });
      await writeFileAtomic(own, renderRunHtml(data, { toStateDir: '../../' }));
      await writeFileAtomic(latestReportPath(this.options.stateDir), renderRunHtml(data, { toStateDir: '' }));
    } catch (error) {
      this.options.onError?.(`could not write the HTML report: ${(error as Error).message}`);
    }
    this.lastWriteEnded = Date.now();
    this.lastWriteMs = this.lastWriteEnded - started;
  }
}

/** A result completed with what was known before: the plan's reason for building it (results of builds carry none), and when it started. */
function withPlanned(before: ReportPackage | undefined, after: ReportPackage): ReportPackage {
  if (before === undefined) return after;
  const planned = after.reason === undefined && before.reason !== undefined ? { reason: before.reason, ...(before.detail !== undefined && after.detail === undefined ? { detail: before.detail } : {}) } : {};
  const started = after.startedAt === undefined && before.startedAt !== undefined && after.host !== undefined ? { startedAt: before.startedAt } : {};
  return { ...after, ...planned, ...started };
}

/** Each package that failed or was skipped for a reason of its own, with the packages it held back (transitively). */
function blastRadius(branch: BranchState, packages: readonly ReportPackage[]): BlastRadius[] {
  const byName = new Map(packages.map((p) => [p.package, p]));
  const heldBack = (p: string): boolean => {
    const s = byName.get(p);
    return s !== undefined && s.status === 'skipped' && s.reason !== undefined && INHERITED.has(s.reason);
  };
  const out: BlastRadius[] = [];
  for (const p of packages) {
    const root = p.status === 'failed' || (p.status === 'skipped' && p.reason !== undefined && !INHERITED.has(p.reason));
    if (!root) continue;
    const seen = new Set<string>([p.package]);
    const queue = [p.package];
    for (let i = 0; i < queue.length; i++) {
      for (const dependent of branch.graph.dependents.get(queue[i]! as RecipeId) ?? []) {
        if (!seen.has(dependent) && heldBack(dependent)) {
          seen.add(dependent);
          queue.push(dependent);
        }
      }
    }
    seen.delete(p.package);
    out.push({ package: p.package, cause: p.status === 'failed' ? `failed${p.phase !== undefined ? ` in step ${p.phase}` : ''}` : p.reason!, ...(p.detail !== undefined ? { detail: p.detail } : {}), heldBack: [...seen].sort() });
  }
  return out;
}
