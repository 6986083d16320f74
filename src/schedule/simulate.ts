/**
 * The scheduler core run in virtual time: the planner's estimate, and the
 * benchmark. Event-driven (a min-heap of finish times), O((jobs + edges) log jobs)
 * for a fixed number of hosts and label sets.
 */
import { SchedulerCore, St } from './core.js';
import { IndexHeap } from './heap.js';
import type {
  ScheduleEstimate,
  ScheduleHost,
  ScheduleJob,
  ScheduleOptions,
  SimulatedAssignment,
  SimulationResult,
  UnscheduledJob,
} from './types.js';

/**
 * Simulates a run where every build takes exactly its `seconds` and succeeds.
 * At each instant, finished builds release their slots first, then the free slots
 * are filled as {@link Scheduler.nextAssignments} would.
 *
 * @throws on duplicate ids or host names, invalid `seconds` or `power`.
 */
export function simulate(
  jobs: readonly ScheduleJob[],
  hosts: readonly ScheduleHost[],
  options: ScheduleOptions = {},
): SimulationResult {
  const { core, ran, start, end, hostOf, makespan, lowerBound } = runInVirtualTime(jobs, hosts, options.order ?? 'critical-path');
  const g = core.g;
  const n = g.n;
  const assignments: SimulatedAssignment[] = ran.map((j) => ({ id: g.ids[j]!, host: g.hostNames[hostOf[j]!]!, start: start[j]!, end: end[j]! }));

  const unscheduled: UnscheduledJob[] = [];
  for (let i = 0; i < n; i++) {
    const st = core.status[i];
    if (st === St.Done) continue;
    if (st === St.Unschedulable) {
      unscheduled.push({ id: g.ids[i]!, reason: 'no-eligible-host' });
    } else if (st === St.Cyclic) {
      unscheduled.push({ id: g.ids[i]!, reason: 'dependency-cycle' });
    } else if (st === St.Blocked) {
      const { reason, cause } = core.blockInfo(i);
      unscheduled.push({ id: g.ids[i]!, reason, cause: g.ids[cause]! });
    } else {
      throw new Error(`schedule: internal error: ${g.ids[i]!} left in status ${String(st)}`);
    }
  }

  return {
    makespanSeconds: makespan,
    lowerBoundSeconds: lowerBound,
    assignments,
    unscheduled,
    cycles: g.cycles.map((c) => c.map((i) => g.ids[i]!)),
  };
}

/** The run itself: when each job started and ended and where (by index), the makespan and the lower bound (what the planner's estimate needs, without a result object per job). */
function runInVirtualTime(
  jobs: readonly ScheduleJob[],
  hosts: readonly ScheduleHost[],
  order: NonNullable<ScheduleOptions['order']>,
): { core: SchedulerCore; ran: number[]; start: Float64Array; end: Float64Array; hostOf: Int32Array; makespan: number; lowerBound: number } {
  const core = new SchedulerCore(jobs, hosts, order, false);
  const g = core.g;
  const n = g.n;
  const end = new Float64Array(n);
  const events = new IndexHeap((a, b) => end[a]! < end[b]! || (end[a] === end[b] && a < b), n, new Int32Array(n));
  const ran: number[] = [];
  const start = new Float64Array(n);
  const hostOf = new Int32Array(n);
  const pairs: number[] = [];
  let now = 0;
  for (;;) {
    core.assign(true, pairs);
    for (let k = 0; k < pairs.length; k += 2) {
      const j = pairs[k]!;
      start[j] = now;
      end[j] = now + g.seconds[j]!;
      hostOf[j] = pairs[k + 1]!;
      events.push(j);
      ran.push(j);
    }
    if (events.size === 0) break;
    now = end[events.peek()]!;
    while (events.size > 0 && end[events.peek()] === now) core.finish(events.pop(), 'ok');
    core.flush();
  }

  let makespan = 0;
  for (const j of ran) if (end[j]! > makespan) makespan = end[j]!;

  // Lower bound over the jobs that ran. `ran` is in start order, which is a
  // topological order (a job starts only after its dependencies ended).
  const didRun = new Uint8Array(n);
  for (const j of ran) didRun[j] = 1;
  const chain = new Float64Array(n);
  let criticalPath = 0;
  let work = 0;
  for (let k = ran.length - 1; k >= 0; k--) {
    const v = ran[k]!;
    let longest = 0;
    for (let e = g.depOff[v]!; e < g.depOff[v + 1]!; e++) {
      const w = g.depTo[e]!;
      if (didRun[w] && chain[w]! > longest) longest = chain[w]!;
    }
    const c = g.seconds[v]! + longest;
    chain[v] = c;
    if (c > criticalPath) criticalPath = c;
    work += g.seconds[v]!;
  }
  const usable = new Uint8Array(hosts.length);
  const groupUsed = new Uint8Array(g.groups.length);
  for (const j of ran) groupUsed[g.group[j]!] = 1;
  g.groups.forEach((gr, gi) => {
    if (groupUsed[gi]) for (const h of gr.hosts) if (core.up[h]) usable[h] = 1;
  });
  let power = 0;
  usable.forEach((u, h) => {
    if (u) power += g.power[h]!;
  });
  const lowerBound = Math.max(criticalPath, power > 0 ? work / power : 0);
  return { core, ran, start, end, hostOf, makespan, lowerBound };
}

/**
 * The planner's estimate: {@link simulate} in critical-path order, both figures
 * rounded up to whole seconds (a float residue below 1e-6 s is not rounded up).
 */
export function estimate(jobs: readonly ScheduleJob[], hosts: readonly ScheduleHost[]): ScheduleEstimate {
  const r = runInVirtualTime(jobs, hosts, 'critical-path');
  return { makespanSeconds: ceilSeconds(r.makespan), lowerBoundSeconds: ceilSeconds(r.lowerBound) };
}

function ceilSeconds(s: number): number {
  return Math.max(0, Math.ceil(s - 1e-6));
}
