/**
 * Preprocessing shared by the incremental scheduler and the simulation: indices,
 * the dependents graph in compressed form, cycles, critical-path priorities and the
 * groups of jobs that may run on the same hosts. Linear in jobs + edges.
 */
import { hasLabels } from './host.js';
import type { ScheduleHost, ScheduleJob } from './types.js';

export interface Graph {
  readonly n: number;
  readonly ids: readonly string[];
  readonly index: ReadonlyMap<string, number>;
  /** Expected seconds per job. */
  readonly seconds: Float64Array;
  /** Dependents of job i: `depTo[depOff[i] .. depOff[i + 1])`, ascending. */
  readonly depOff: Int32Array;
  readonly depTo: Int32Array;
  /** Number of distinct in-set dependencies of each job. */
  readonly indegree: Int32Array;
  /** 1 for jobs that can become ready (not in a cycle, not downstream of one). */
  readonly acyclic: Uint8Array;
  /** 1 for members of a dependency cycle. */
  readonly cyclic: Uint8Array;
  /** For jobs downstream of a cycle: a cycle member holding it back; else -1. */
  readonly cycleCause: Int32Array;
  /** Cycles (strongly connected components with an edge), each ascending, ordered by first member. */
  readonly cycles: readonly (readonly number[])[];
  /** Critical path from each job: own seconds + longest chain of dependents' seconds (0 outside the DAG). */
  readonly priority: Float64Array;
  /** Number of direct dependents of each job. */
  readonly outdeg: Int32Array;
  /** Host-eligibility group of each job. */
  readonly group: Int32Array;
  /** Per group: the hosts whose labels fit its jobs (ascending), and its jobs (ascending); a group's jobs have one fair share. */
  readonly groups: readonly { readonly hosts: readonly number[]; readonly jobs: readonly number[] }[];
  /** Fair share of each job (index into the distinct `share` names, in input order). */
  readonly share: Int32Array;
  /** Number of distinct fair shares (1 when no job names one). */
  readonly shareCount: number;
  readonly hostNames: readonly string[];
  readonly hostIndex: ReadonlyMap<string, number>;
  readonly power: Int32Array;
  readonly hostLabels: readonly (readonly string[])[];
}

const NO_LABELS: readonly string[] = [];

/** Builds the {@link Graph}; throws on malformed input (duplicate ids, bad seconds or power). */
export function buildGraph(jobs: readonly ScheduleJob[], hosts: readonly ScheduleHost[]): Graph {
  const n = jobs.length;
  const ids: string[] = [];
  const index = new Map<string, number>();
  const seconds = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const j = jobs[i]!;
    const s = j.seconds;
    if (!(s >= 0 && s < Infinity)) {
      throw new RangeError(`schedule: job ${JSON.stringify(j.id)} has invalid seconds ${String(s)}`);
    }
    ids.push(j.id);
    index.set(j.id, i);
    if (index.size !== i + 1) throw new Error(`schedule: duplicate job id ${JSON.stringify(j.id)}`);
    seconds[i] = s;
  }

  const hostNames: string[] = [];
  const hostIndex = new Map<string, number>();
  const power = new Int32Array(hosts.length);
  const hostLabels: (readonly string[])[] = [];
  hosts.forEach((h, i) => {
    if (hostIndex.has(h.name)) throw new Error(`schedule: duplicate host name ${JSON.stringify(h.name)}`);
    // power is kept in an Int32Array: a larger one would wrap around.
    if (!Number.isInteger(h.power) || h.power < 1 || h.power > 0x7fffffff) {
      throw new RangeError(`schedule: host ${JSON.stringify(h.name)} has invalid power ${String(h.power)}`);
    }
    hostNames.push(h.name);
    hostIndex.set(h.name, i);
    power[i] = h.power;
    hostLabels.push(h.labels);
  });

  // Edges dependency -> dependent, deduplicated, ids outside the set ignored. Two
  // passes over flat arrays: no allocation per job.
  let listed = 0;
  for (let j = 0; j < n; j++) listed += jobs[j]!.dependsOn.length;
  const flat = new Int32Array(listed);
  const flatEnd = new Int32Array(n);
  const outdeg = new Int32Array(n);
  const indegree = new Int32Array(n);
  const seenBy = new Int32Array(n).fill(-1);
  let edges = 0;
  for (let j = 0; j < n; j++) {
    const list = jobs[j]!.dependsOn;
    for (let k = 0; k < list.length; k++) {
      const di = index.get(list[k]!);
      if (di === undefined || seenBy[di] === j) continue;
      seenBy[di] = j;
      flat[edges++] = di;
      outdeg[di]!++;
    }
    flatEnd[j] = edges;
  }
  const depOff = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) depOff[i + 1] = depOff[i]! + outdeg[i]!;
  const depTo = new Int32Array(edges);
  const fill = depOff.slice(0, n);
  for (let j = 0, e = 0; j < n; j++) {
    const stop = flatEnd[j]!;
    indegree[j] = stop - e;
    for (; e < stop; e++) depTo[fill[flat[e]!]!++] = j;
  }

  // Kahn: the jobs that can ever become ready, in a topological order.
  const remaining = indegree.slice();
  const topo = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < n; i++) if (remaining[i] === 0) topo[tail++] = i;
  while (head < tail) {
    const v = topo[head++]!;
    for (let e = depOff[v]!; e < depOff[v + 1]!; e++) {
      const w = depTo[e]!;
      if (--remaining[w]! === 0) topo[tail++] = w;
    }
  }
  const acyclic = new Uint8Array(n);
  for (let k = 0; k < tail; k++) acyclic[topo[k]!] = 1;

  const cyclic = new Uint8Array(n);
  const cycleCause = new Int32Array(n).fill(-1);
  const cycles = tail < n ? findCycles(n, depOff, depTo, acyclic, cyclic) : [];
  if (cycles.length > 0) {
    // Everything else outside the DAG is downstream of a cycle: name one member as cause.
    const queue: number[] = [];
    for (let i = 0; i < n; i++) {
      if (cyclic[i]) {
        cycleCause[i] = i;
        queue.push(i);
      }
    }
    for (let q = 0; q < queue.length; q++) {
      const v = queue[q]!;
      for (let e = depOff[v]!; e < depOff[v + 1]!; e++) {
        const w = depTo[e]!;
        if (acyclic[w] || cycleCause[w]! >= 0) continue;
        cycleCause[w] = cycleCause[v]!;
        queue.push(w);
      }
    }
    for (let i = 0; i < n; i++) if (cyclic[i]) cycleCause[i] = -1;
  }

  // Critical path from each job, in reverse topological order.
  const priority = new Float64Array(n);
  for (let k = tail - 1; k >= 0; k--) {
    const v = topo[k]!;
    let longest = 0;
    for (let e = depOff[v]!; e < depOff[v + 1]!; e++) {
      const w = depTo[e]!;
      if (acyclic[w] && priority[w]! > longest) longest = priority[w]!;
    }
    priority[v] = seconds[v]! + longest;
  }
  // Groups of jobs of the same fair share eligible on the same set of hosts (labels only; up is checked live).
  const byLabels = new Map<string, number>();
  const byHosts = new Map<string, number>();
  const shares = new Map<string, number>();
  const groups: { hosts: number[]; jobs: number[] }[] = [];
  const group = new Int32Array(n);
  const shareOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const labels = jobs[i]!.labels ?? NO_LABELS;
    const shareName = jobs[i]!.share ?? '';
    let share = shares.get(shareName);
    if (share === undefined) {
      share = shares.size;
      shares.set(shareName, share);
    }
    shareOf[i] = share;
    const labelKey = `${share}\n${labels.length === 0 ? '' : [...new Set(labels)].sort().join('\n')}`;
    let g = byLabels.get(labelKey);
    if (g === undefined) {
      const eligible: number[] = [];
      hostLabels.forEach((offered, h) => {
        if (hasLabels(offered, labels)) eligible.push(h);
      });
      const hostKey = `${share}:${eligible.join(',')}`;
      g = byHosts.get(hostKey);
      if (g === undefined) {
        g = groups.length;
        groups.push({ hosts: eligible, jobs: [] });
        byHosts.set(hostKey, g);
      }
      byLabels.set(labelKey, g);
    }
    group[i] = g;
    groups[g]!.jobs.push(i);
  }

  return {
    n,
    ids,
    index,
    seconds,
    depOff,
    depTo,
    indegree,
    acyclic,
    cyclic,
    cycleCause,
    cycles,
    priority,
    outdeg,
    group,
    groups,
    share: shareOf,
    shareCount: Math.max(1, shares.size),
    hostNames,
    hostIndex,
    power,
    hostLabels,
  };
}

/**
 * Tarjan's strongly connected components (iterative) over the jobs outside the DAG;
 * marks members of components with an edge (size > 1 or a self-dependency).
 */
function findCycles(
  n: number,
  depOff: Int32Array,
  depTo: Int32Array,
  acyclic: Uint8Array,
  cyclic: Uint8Array,
): number[][] {
  const idx = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const callV: number[] = [];
  const callE: number[] = [];
  const cycles: number[][] = [];
  let counter = 0;
  for (let s = 0; s < n; s++) {
    if (acyclic[s] || idx[s]! >= 0) continue;
    idx[s] = low[s] = counter++;
    stack.push(s);
    onStack[s] = 1;
    callV.push(s);
    callE.push(depOff[s]!);
    while (callV.length > 0) {
      const top = callV.length - 1;
      const v = callV[top]!;
      const e = callE[top]!;
      if (e < depOff[v + 1]!) {
        callE[top] = e + 1;
        const w = depTo[e]!;
        if (acyclic[w]) continue;
        if (idx[w]! < 0) {
          idx[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          callV.push(w);
          callE.push(depOff[w]!);
        } else if (onStack[w] && idx[w]! < low[v]!) {
          low[v] = idx[w]!;
        }
        continue;
      }
      callV.pop();
      callE.pop();
      if (callV.length > 0) {
        const parent = callV[callV.length - 1]!;
        if (low[v]! < low[parent]!) low[parent] = low[v]!;
      }
      if (low[v] === idx[v]) {
        const members: number[] = [];
        for (;;) {
          const w = stack.pop()!;
          onStack[w] = 0;
          members.push(w);
          if (w === v) break;
        }
        let selfLoop = false;
        if (members.length === 1) {
          for (let k = depOff[v]!; k < depOff[v + 1]!; k++) if (depTo[k] === v) selfLoop = true;
        }
        if (members.length > 1 || selfLoop) {
          members.sort((a, b) => a - b);
          for (const m of members) cyclic[m] = 1;
          cycles.push(members);
        }
      }
    }
  }
  cycles.sort((a, b) => a[0]! - b[0]!);
  return cycles;
}
