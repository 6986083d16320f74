/**
 * The scheduler state machine over job and host indices, shared by the public
 * {@link Scheduler} (real runs) and {@link simulate} (virtual time). Not exported
 * from the package: it trusts its caller to pass valid indices.
 */
import { buildGraph, type Graph } from './graph.js';
import { IndexHeap } from './heap.js';
import { chooseHost } from './host.js';
import type { BlockReason, JobStatus, QueueOrder, ScheduleHost, ScheduleJob } from './types.js';

/** Job status codes; `STATUS_NAMES[code]` is the public name. */
export const St = {
  Waiting: 0,
  Ready: 1,
  Running: 2,
  Done: 3,
  Failed: 4,
  Blocked: 5,
  Unschedulable: 6,
  Cyclic: 7,
} as const;

export const STATUS_NAMES: readonly JobStatus[] = [
  'waiting',
  'ready',
  'running',
  'done',
  'failed',
  'blocked',
  'unschedulable',
  'cyclic',
];

const REASONS: readonly BlockReason[] = ['dependency-failed', 'dependency-skipped', 'dependency-cycle'];
const R_FAILED = 0;
const R_SKIPPED = 1;
const R_CYCLE = 2;

/** Events accumulated since the last {@link SchedulerCore.takeEvents}, as indices. */
export interface CoreEvents {
  ready: number[];
  blocked: { job: number; reason: BlockReason; cause: number }[];
  unschedulable: number[];
}

function ascending(a: number, b: number): number {
  return a - b;
}

export class SchedulerCore {
  readonly g: Graph;
  readonly status: Uint8Array;
  /** Host index of each running job, else -1. */
  readonly hostOf: Int32Array;
  readonly running: Int32Array;
  /** Running builds per fair share. */
  private readonly runningShare: Int32Array;
  readonly up: boolean[];
  /** Hosts whose last reported load is above their `maxLoad`: no new builds (but not down). */
  readonly full: boolean[];
  /** Block reason (index into REASONS) and cause of blocked jobs. */
  private readonly blockReason: Uint8Array;
  private readonly blockCause: Int32Array;
  private readonly depsLeft: Int32Array;
  /** FIFO: the sequence number of becoming ready. */
  private readonly key: Float64Array;
  private readonly heaps: IndexHeap[];
  /** Host-eligibility groups: those of the graph, then ones split off by {@link excludeHost}. */
  private readonly groups: { readonly hosts: readonly number[]; readonly jobs: readonly number[] }[];
  /** Heap positions, shared by all heaps (a job is in at most one). */
  private readonly pos: Int32Array;
  private readonly fifo: boolean;
  /** True when ready job `a` comes before ready job `b` in the queue order. */
  readonly before: (a: number, b: number) => boolean;
  private seq = 0;
  /** Became ready since the last flush. */
  private pending: number[] = [];
  private spare: number[] = [];
  private events: CoreEvents = { ready: [], blocked: [], unschedulable: [] };
  /** Jobs waiting or ready. */
  pendingCount = 0;
  runningCount = 0;

  /**
   * @param record keep {@link CoreEvents} for {@link takeEvents} (the simulation does not need them).
   */
  constructor(
    jobs: readonly ScheduleJob[],
    hosts: readonly ScheduleHost[],
    order: QueueOrder,
    private readonly record = true,
  ) {
    if (order !== 'critical-path' && order !== 'fifo') throw new RangeError(`schedule: unknown order ${String(order)}`);
    const g = buildGraph(jobs, hosts);
    this.g = g;
    this.fifo = order === 'fifo';
    const n = g.n;
    this.status = new Uint8Array(n);
    this.hostOf = new Int32Array(n).fill(-1);
    this.running = new Int32Array(hosts.length);
    this.runningShare = new Int32Array(g.shareCount);
    this.up = hosts.map((h) => h.up);
    this.full = hosts.map(() => false);
    this.blockReason = new Uint8Array(n);
    this.blockCause = new Int32Array(n).fill(-1);
    this.depsLeft = g.indegree.slice();
    this.key = new Float64Array(n);
    const key = this.key;
    const { priority, outdeg, ids } = g;
    this.before = this.fifo
      ? (a, b) => key[a]! < key[b]! || (key[a] === key[b] && a < b)
      : (a, b) => {
          const pa = priority[a]!;
          const pb = priority[b]!;
          if (pa !== pb) return pa > pb;
          const da = outdeg[a]!;
          const db = outdeg[b]!;
          if (da !== db) return da > db;
          return ids[a]! < ids[b]!;
        };
    const pos = new Int32Array(n);
    this.pos = pos;
    this.groups = [...g.groups];
    this.heaps = g.groups.map((gr) => new IndexHeap(this.before, gr.jobs.length, pos));

    for (let i = 0; i < n; i++) {
      if (g.cyclic[i]) {
        this.status[i] = St.Cyclic;
      } else if (!g.acyclic[i]) {
        this.status[i] = St.Blocked;
        this.blockReason[i] = R_CYCLE;
        this.blockCause[i] = g.cycleCause[i]!;
      } else {
        this.pendingCount++;
        if (this.depsLeft[i] === 0) {
          this.status[i] = St.Ready;
          this.pending.push(i);
        }
      }
    }
    this.checkGroups(-1);
    this.flush();
    this.takeEvents();
  }

  takeEvents(): CoreEvents {
    const e = this.events;
    this.events = { ready: [], blocked: [], unschedulable: [] };
    return e;
  }

  blockInfo(job: number): { reason: BlockReason; cause: number } {
    return { reason: REASONS[this.blockReason[job]!]!, cause: this.blockCause[job]! };
  }

  /** Puts the jobs that became ready into their queues (FIFO: in input order). */
  flush(): void {
    const list = this.pending;
    if (list.length === 0) return;
    this.pending = this.spare;
    if (list.length > 1) list.sort(ascending);
    const group = this.g.group;
    for (let k = 0; k < list.length; k++) {
      const j = list[k]!;
      if (this.status[j] !== St.Ready) continue;
      if (this.fifo) this.key[j] = this.seq++;
      this.heaps[group[j]!]!.push(j);
      if (this.record) this.events.ready.push(j);
    }
    list.length = 0;
    this.spare = list;
  }

  /**
   * Greedy fill of the free slots: repeatedly the best ready job that has an eligible
   * host with a free slot, on the host chosen by the host rule. "Best": of the fair
   * share with the fewest running builds, then in queue order (with one share: the
   * best ready job over all groups). Shares thus split the slots equally while each
   * has ready work, and a share without any leaves its slots to the others.
   *
   * @param commit start the jobs (else only propose, leaving the state unchanged).
   * @param out receives `job, host` pairs (flat); emptied first.
   */
  assign(commit: boolean, out: number[]): void {
    const g = this.g;
    const run = commit ? this.running : this.running.slice();
    const shareRun = commit ? this.runningShare : this.runningShare.slice();
    const share = g.share;
    out.length = 0;
    const heaps = this.heaps;
    const before = this.before;
    for (;;) {
      let bestG = -1;
      let bestJob = -1;
      let bestHost = -1;
      let bestShareRun = 0;
      for (let gi = 0; gi < heaps.length; gi++) {
        const heap = heaps[gi]!;
        if (heap.size === 0) continue;
        const j = heap.peek();
        const sr = shareRun[share[j]!]!;
        if (bestJob >= 0 && (sr > bestShareRun || (sr === bestShareRun && !before(j, bestJob)))) continue;
        const h = chooseHost(this.groups[gi]!.hosts, g.power, run, this.up, this.full);
        if (h < 0) continue;
        bestG = gi;
        bestJob = j;
        bestHost = h;
        bestShareRun = sr;
      }
      if (bestG < 0) break;
      heaps[bestG]!.pop();
      out.push(bestJob, bestHost);
      if (commit) {
        this.markStarted(bestJob, bestHost);
      } else {
        run[bestHost]!++;
        shareRun[share[bestJob]!]!++;
      }
    }
    if (!commit) for (let k = 0; k < out.length; k += 2) heaps[g.group[out[k]!]!]!.push(out[k]!);
  }

  /** Jobs in the ready queues (call after {@link flush}). */
  readyCount(): number {
    let n = 0;
    for (const heap of this.heaps) n += heap.size;
    return n;
  }

  /** Why `job` cannot start on `host` now, or undefined when it can. */
  cannotStart(job: number, host: number): string | undefined {
    const st = this.status[job]!;
    if (st !== St.Ready) return `job is ${STATUS_NAMES[st]!}, not ready`;
    if (!this.up[host]) return 'host is down';
    if (this.full[host]) return 'host is above its maxLoad';
    if (!this.groups[this.g.group[job]!]!.hosts.includes(host)) return 'host lacks a required label or was excluded for this job';
    if (this.running[host]! >= this.g.power[host]!) return 'host has no free slot';
    return undefined;
  }

  /** Starts a ready job on a host (the caller checked {@link cannotStart}). */
  start(job: number, host: number): void {
    this.heaps[this.g.group[job]!]!.remove(job);
    this.markStarted(job, host);
  }

  private markStarted(job: number, host: number): void {
    this.status[job] = St.Running;
    this.hostOf[job] = host;
    this.running[host]!++;
    this.runningShare[this.g.share[job]!]!++;
    this.runningCount++;
    this.pendingCount--;
  }

  /** Ends a running job. Call {@link flush} afterwards (once per batch of simultaneous ends). */
  finish(job: number, outcome: 'ok' | 'failed' | 'lost'): void {
    const g = this.g;
    const host = this.hostOf[job]!;
    this.hostOf[job] = -1;
    this.running[host]!--;
    this.runningShare[g.share[job]!]!--;
    this.runningCount--;
    if (outcome === 'ok') {
      this.status[job] = St.Done;
      for (let e = g.depOff[job]!; e < g.depOff[job + 1]!; e++) {
        const w = g.depTo[e]!;
        if (--this.depsLeft[w]! === 0 && this.status[w] === St.Waiting) {
          this.status[w] = St.Ready;
          this.pending.push(w);
        }
      }
    } else if (outcome === 'failed') {
      this.status[job] = St.Failed;
      this.block(job, R_FAILED);
    } else {
      this.pendingCount++;
      if (this.groupUp(g.group[job]!)) {
        this.status[job] = St.Ready;
        this.pending.push(job);
      } else {
        this.status[job] = St.Unschedulable;
        this.pendingCount--;
        if (this.record) this.events.unschedulable.push(job);
        this.block(job, R_SKIPPED);
      }
    }
  }

  setHostUp(host: number, up: boolean): void {
    if (this.up[host] === up) return;
    this.up[host] = up;
    if (!up) this.checkGroups(host);
  }

  /**
   * Takes `host` away from `jobs` for good (it cannot serve them, e.g. it lacks their
   * build root): they move to groups of their own without that host. Running jobs keep
   * running; waiting and ready ones left without an up host become unschedulable.
   */
  excludeHost(host: number, jobs: readonly number[]): void {
    const g = this.g;
    const moving = new Map<number, number[]>();
    for (const j of jobs) {
      const gi = g.group[j]!;
      if (!this.groups[gi]!.hosts.includes(host)) continue;
      const list = moving.get(gi) ?? [];
      list.push(j);
      moving.set(gi, list);
    }
    const touched: number[] = [];
    for (const [from, list] of moving) {
      list.sort(ascending);
      const to = this.groups.length;
      this.groups.push({ hosts: this.groups[from]!.hosts.filter((h) => h !== host), jobs: list });
      const heap = new IndexHeap(this.before, list.length, this.pos);
      this.heaps.push(heap);
      const old = this.heaps[from]!;
      const moved = new Set(list);
      this.groups[from] = { hosts: this.groups[from]!.hosts, jobs: this.groups[from]!.jobs.filter((j) => !moved.has(j)) };
      for (const j of list) {
        g.group[j] = to;
        if (this.status[j] === St.Ready && old.has(j)) {
          old.remove(j);
          heap.push(j);
        }
      }
      touched.push(to);
    }
    this.checkGroups(-1, touched);
  }

  private groupUp(gi: number): boolean {
    return this.groups[gi]!.hosts.some((h) => this.up[h]);
  }

  /**
   * Marks unschedulable the waiting and ready jobs of every group (containing `host`,
   * or all groups when -1; only those of `only` when given) that has no up host left,
   * and blocks their dependents.
   */
  private checkGroups(host: number, only?: readonly number[]): void {
    const found: number[] = [];
    this.groups.forEach((gr, gi) => {
      if (only !== undefined && !only.includes(gi)) return;
      if (host >= 0 && !gr.hosts.includes(host)) return;
      if (this.groupUp(gi)) return;
      this.heaps[gi]!.clear();
      for (const j of gr.jobs) {
        const st = this.status[j];
        if (st === St.Waiting || st === St.Ready) found.push(j);
      }
    });
    if (found.length === 0) return;
    found.sort((a, b) => a - b);
    for (const j of found) {
      this.status[j] = St.Unschedulable;
      this.pendingCount--;
      if (this.record) this.events.unschedulable.push(j);
    }
    for (const j of found) this.block(j, R_SKIPPED);
  }

  /** Blocks every waiting transitive dependent of `cause`. */
  private block(cause: number, reason: number): void {
    const g = this.g;
    const queue = [cause];
    const hit: number[] = [];
    for (let q = 0; q < queue.length; q++) {
      const v = queue[q]!;
      for (let e = g.depOff[v]!; e < g.depOff[v + 1]!; e++) {
        const w = g.depTo[e]!;
        if (this.status[w] !== St.Waiting) continue;
        this.status[w] = St.Blocked;
        this.blockReason[w] = reason;
        this.blockCause[w] = cause;
        this.pendingCount--;
        hit.push(w);
        queue.push(w);
      }
    }
    if (!this.record) return;
    hit.sort((a, b) => a - b);
    for (const w of hit) this.events.blocked.push({ job: w, reason: REASONS[reason]!, cause });
  }
}
