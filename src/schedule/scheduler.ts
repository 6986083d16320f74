/**
 * The incremental scheduler for real runs: pure state, no timers, no I/O. The
 * executor asks what to start, reports what it started and how each build ended.
 */
import { SchedulerCore, St, STATUS_NAMES, type CoreEvents } from './core.js';
import type {
  Assignment,
  BlockedJob,
  JobOutcome,
  JobStatus,
  RunningJob,
  ScheduleHost,
  ScheduleJob,
  ScheduleOptions,
  SchedulerUpdate,
} from './types.js';

/**
 * Scheduler state for one run.
 *
 * Typical loop:
 * ```ts
 * const s = new Scheduler(jobs, hosts);
 * while (!s.isDone()) {
 *   for (const a of s.nextAssignments()) { s.started(a.jobId, a.host); launch(a); }
 *   const { jobId, outcome } = await nextFinishedBuild();
 *   const update = s.finished(jobId, outcome);   // record update.blocked as dependency-failed, …
 * }
 * ```
 * Jobs unschedulable or in a cycle from the start are available from
 * {@link unschedulable}, {@link cycles} and {@link blocked} right after construction.
 *
 * Unschedulable is final: a host coming back up does not revive jobs already reported
 * unschedulable. Mark a host down only when giving up on it for this run.
 */
export class Scheduler {
  private readonly core: SchedulerCore;
  /** `maxLoad` of each host, by host index. */
  private readonly maxLoad: readonly (number | undefined)[];

  /**
   * @param jobs the builds of this run; ids must be unique.
   * @param hosts the build hosts, in preference order for ties; names must be unique.
   * @throws on duplicate ids or host names, invalid `seconds` or `power`.
   */
  constructor(jobs: readonly ScheduleJob[], hosts: readonly ScheduleHost[], options: ScheduleOptions = {}) {
    this.core = new SchedulerCore(jobs, hosts, options.order ?? 'critical-path');
    this.maxLoad = hosts.map((h) => {
      if (h.maxLoad !== undefined && !(Number.isFinite(h.maxLoad) && h.maxLoad > 0)) throw new RangeError(`schedule: invalid maxLoad ${String(h.maxLoad)} for host ${h.name}`);
      return h.maxLoad;
    });
  }

  /**
   * The jobs to start now, filling every free slot greedily: the best ready job (queue
   * order) that has an eligible host with a free slot goes to the host chosen by
   * {@link pickHost}'s rule, and so on. Does not change the state: call
   * {@link started} for each job actually started.
   */
  nextAssignments(): Assignment[] {
    const { ids, hostNames } = this.core.g;
    const pairs: number[] = [];
    this.core.assign(false, pairs);
    const out: Assignment[] = [];
    for (let k = 0; k < pairs.length; k += 2) out.push({ jobId: ids[pairs[k]!]!, host: hostNames[pairs[k + 1]!]! });
    return out;
  }

  /**
   * Records that a ready job started on a host.
   * @throws when the job is not ready, or the host is down, lacks a label or is full.
   */
  started(jobId: string, host: string): void {
    const j = this.job(jobId);
    const h = this.host(host);
    const why = this.core.cannotStart(j, h);
    if (why !== undefined) throw new Error(`schedule: cannot start ${jobId} on ${host}: ${why}`);
    this.core.start(j, h);
  }

  /**
   * Records how a running job ended.
   * - `ok`: dependents whose dependencies are all done become ready;
   * - `failed`: every waiting transitive dependent is blocked (`dependency-failed`,
   *   cause = this job);
   * - `lost`: the job goes back to the ready queue (or becomes unschedulable when no up
   *   host has its labels any more).
   * @throws when the job is not running.
   */
  finished(jobId: string, outcome: JobOutcome): SchedulerUpdate {
    const j = this.job(jobId);
    if (this.core.status[j] !== St.Running) {
      throw new Error(`schedule: ${jobId} finished but it is ${STATUS_NAMES[this.core.status[j]!]!}, not running`);
    }
    if (outcome !== 'ok' && outcome !== 'failed' && outcome !== 'lost') {
      throw new RangeError(`schedule: unknown outcome ${String(outcome)}`);
    }
    this.core.finish(j, outcome);
    return this.update();
  }

  /**
   * Marks a host up or down. A down host gets no new builds; builds already running
   * on it stay running until reported with {@link finished} (typically `lost`).
   * Waiting and ready jobs left without any up host with their labels become
   * unschedulable, and their dependents blocked (`dependency-skipped`).
   * @throws on an unknown host.
   */
  setHostUp(name: string, up: boolean): SchedulerUpdate {
    this.core.setHostUp(this.host(name), up);
    return this.update();
  }

  /**
   * Reports a host's 1-minute load average (undefined: unknown). A host with a
   * `maxLoad` is full while its last reported load is above it: it gets no new builds,
   * builds running there go on, and its jobs stay schedulable (they wait for it or go
   * to other hosts). A host without `maxLoad` ignores the load.
   * @returns whether the host is full now.
   * @throws on an unknown host or a negative or non-finite load.
   */
  setHostLoad(name: string, load: number | undefined): boolean {
    const h = this.host(name);
    if (load !== undefined && !(Number.isFinite(load) && load >= 0)) throw new RangeError(`schedule: invalid load ${String(load)} for host ${name}`);
    const max = this.maxLoad[h];
    this.core.full[h] = max !== undefined && load !== undefined && load > max;
    return this.core.full[h];
  }

  /** Hosts full because of their load (see {@link setHostLoad}), in host order. */
  fullHosts(): string[] {
    return this.core.g.hostNames.filter((_, h) => this.core.full[h]);
  }

  /**
   * True when jobs are ready but nothing runs and nothing can start because every host
   * that could take them is full: the caller must wait for a load to drop.
   */
  waitingForLoad(): boolean {
    const c = this.core;
    if (c.runningCount > 0 || !c.full.some((f) => f)) return false;
    const proposed: number[] = [];
    c.assign(false, proposed);
    return proposed.length === 0 && c.readyCount() > 0;
  }

  /** Whether some job is ready to start (cheap: no sorting). */
  hasReadyJobs(): boolean {
    return this.core.readyCount() > 0;
  }

  /**
   * Takes a host away from some jobs for the rest of the run (it cannot serve them: it
   * could not install their branch's build root), while it keeps serving the others.
   * Running jobs keep running (report them with {@link finished}, typically `lost`, to
   * queue them for the remaining hosts); waiting and ready ones left without an up host
   * become unschedulable and their dependents blocked. Repeating it changes nothing.
   * @throws on an unknown host or job id.
   */
  excludeHost(name: string, jobIds: readonly string[]): SchedulerUpdate {
    this.core.excludeHost(
      this.host(name),
      jobIds.map((id) => this.job(id)),
    );
    return this.update();
  }

  /** The status of a job. @throws on an unknown id. */
  status(jobId: string): JobStatus {
    return STATUS_NAMES[this.core.status[this.job(jobId)]!]!;
  }

  /** Critical-path priority of a job in seconds (own seconds + longest chain of dependents). */
  priority(jobId: string): number {
    return this.core.g.priority[this.job(jobId)]!;
  }

  /** Jobs still to start (waiting or ready), in input order. */
  remaining(): string[] {
    return this.idsWith((st) => st === St.Waiting || st === St.Ready);
  }

  /** Ready jobs in queue order (the order {@link nextAssignments} considers them). */
  ready(): string[] {
    const c = this.core;
    const list: number[] = [];
    for (let i = 0; i < c.g.n; i++) if (c.status[i] === St.Ready) list.push(i);
    list.sort((a, b) => (c.before(a, b) ? -1 : c.before(b, a) ? 1 : 0));
    return list.map((i) => c.g.ids[i]!);
  }

  /** Running jobs and their hosts, in input order. */
  running(): RunningJob[] {
    const c = this.core;
    const out: RunningJob[] = [];
    for (let i = 0; i < c.g.n; i++) {
      if (c.status[i] === St.Running) out.push({ jobId: c.g.ids[i]!, host: c.g.hostNames[c.hostOf[i]!]! });
    }
    return out;
  }

  /** Builds running on each host, by host name (every host listed). */
  load(): Map<string, number> {
    const c = this.core;
    return new Map(c.g.hostNames.map((name, h) => [name, c.running[h]!]));
  }

  /** Every blocked job with its reason and cause, in input order. */
  blocked(): BlockedJob[] {
    const c = this.core;
    const out: BlockedJob[] = [];
    for (let i = 0; i < c.g.n; i++) {
      if (c.status[i] !== St.Blocked) continue;
      const { reason, cause } = c.blockInfo(i);
      out.push({ jobId: c.g.ids[i]!, reason, cause: c.g.ids[cause]! });
    }
    return out;
  }

  /** Jobs that no up host can run, in input order. */
  unschedulable(): string[] {
    return this.idsWith((st) => st === St.Unschedulable);
  }

  /** Dependency cycles of the input (members never become ready), each in input order. */
  cycles(): string[][] {
    const ids = this.core.g.ids;
    return this.core.g.cycles.map((c) => c.map((i) => ids[i]!));
  }

  /** True when nothing runs and nothing is left to start: the run is over. */
  isDone(): boolean {
    return this.core.runningCount === 0 && this.core.pendingCount === 0;
  }

  private idsWith(pred: (st: number) => boolean): string[] {
    const c = this.core;
    const out: string[] = [];
    for (let i = 0; i < c.g.n; i++) if (pred(c.status[i]!)) out.push(c.g.ids[i]!);
    return out;
  }

  private update(): SchedulerUpdate {
    this.core.flush();
    return toUpdate(this.core, this.core.takeEvents());
  }

  private job(id: string): number {
    const j = this.core.g.index.get(id);
    if (j === undefined) throw new Error(`schedule: unknown job ${JSON.stringify(id)}`);
    return j;
  }

  private host(name: string): number {
    const h = this.core.g.hostIndex.get(name);
    if (h === undefined) throw new Error(`schedule: unknown host ${JSON.stringify(name)}`);
    return h;
  }
}

function toUpdate(core: SchedulerCore, e: CoreEvents): SchedulerUpdate {
  const ids = core.g.ids;
  return {
    ready: e.ready.map((i) => ids[i]!),
    blocked: e.blocked.map((b) => ({ jobId: ids[b.job]!, reason: b.reason, cause: ids[b.cause]! })),
    unschedulable: e.unschedulable.map((i) => ids[i]!),
  };
}
