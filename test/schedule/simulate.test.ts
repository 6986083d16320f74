import { describe, expect, it } from 'vitest';
import { job, host } from '../helpers/schedule.js';
import { seededRandom } from '../helpers/random.js';
import {
  estimate,
  simulate,
  type QueueOrder,
  type ScheduleHost,
  type ScheduleJob,
  type SimulationResult,
} from '../../src/schedule/index.js';



/** A random DAG of n jobs, ~maxDeps/2 dependencies each, in shuffled input order. */
function randomDag(n: number, maxDeps: number, seed: number, labelSets: (string[] | undefined)[] = [undefined]): ScheduleJob[] {
  const rnd = seededRandom(seed);
  const jobs: ScheduleJob[] = [];
  for (let i = 0; i < n; i++) {
    const deps = new Set<string>();
    const k = Math.floor(rnd() * (maxDeps + 1));
    for (let d = 0; d < k && i > 0; d++) deps.add(`j${Math.floor(rnd() * i)}`);
    const labels = labelSets[Math.floor(rnd() * labelSets.length)];
    jobs.push(job(`j${i}`, Math.round(1 + rnd() * 300), [...deps], labels));
  }
  for (let i = jobs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
  }
  return jobs;
}

/** Checks every invariant of a simulated schedule; returns the peak load per host. */
function checkSchedule(jobs: readonly ScheduleJob[], hosts: readonly ScheduleHost[], r: SimulationResult): Map<string, number> {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const hostByName = new Map(hosts.map((h) => [h.name, h]));
  const at = new Map(r.assignments.map((a) => [a.id, a]));
  expect(at.size).toBe(r.assignments.length);
  expect(at.size + r.unscheduled.length).toBe(jobs.length);
  for (const a of r.assignments) {
    const j = byId.get(a.id)!;
    const h = hostByName.get(a.host)!;
    expect(h.up).toBe(true);
    for (const l of j.labels ?? []) expect(h.labels).toContain(l);
    expect(a.end - a.start).toBeCloseTo(j.seconds, 9);
    for (const d of j.dependsOn) {
      const dep = at.get(d);
      if (byId.has(d)) expect(dep && dep.end <= a.start).toBe(true);
    }
  }
  // Sweep: ends before starts at the same instant; never more than power at once.
  const peak = new Map<string, number>();
  const points = r.assignments.flatMap((a) => [
    { t: a.start, d: 1, host: a.host },
    { t: a.end, d: -1, host: a.host },
  ]);
  points.sort((x, y) => x.t - y.t || x.d - y.d);
  const load = new Map<string, number>();
  for (const p of points) {
    const v = (load.get(p.host) ?? 0) + p.d;
    load.set(p.host, v);
    peak.set(p.host, Math.max(peak.get(p.host) ?? 0, v));
    expect(v).toBeLessThanOrEqual(hostByName.get(p.host)!.power);
  }
  expect(r.makespanSeconds).toBe(Math.max(0, ...r.assignments.map((a) => a.end)));
  expect(r.makespanSeconds).toBeGreaterThanOrEqual(r.lowerBoundSeconds - 1e-9);
  return peak;
}

describe('simulate: small DAGs, hand-computed', () => {
  const cases: {
    name: string;
    jobs: ScheduleJob[];
    hosts: ScheduleHost[];
    makespan: number;
    lowerBound: number;
  }[] = [
    { name: 'empty', jobs: [], hosts: [host('h', 2)], makespan: 0, lowerBound: 0 },
    {
      name: 'chain 10+20+30 on power 4: CP bound',
      jobs: [job('c', 30, ['b']), job('b', 20, ['a']), job('a', 10)],
      hosts: [host('h', 4)],
      makespan: 60,
      lowerBound: 60,
    },
    {
      name: '4 x 10 s on power 2: work bound',
      jobs: [job('a', 10), job('b', 10), job('c', 10), job('d', 10)],
      hosts: [host('h', 2)],
      makespan: 20,
      lowerBound: 20,
    },
    {
      name: 'diamond a10 -> b20, c5 -> d10 on power 1',
      jobs: [job('a', 10), job('b', 20, ['a']), job('c', 5, ['a']), job('d', 10, ['b', 'c'])],
      hosts: [host('h', 1)],
      makespan: 45,
      lowerBound: 45,
    },
    {
      name: 'diamond on power 2: b and c overlap',
      jobs: [job('a', 10), job('b', 20, ['a']), job('c', 5, ['a']), job('d', 10, ['b', 'c'])],
      hosts: [host('h', 2)],
      makespan: 40,
      lowerBound: 40,
    },
    {
      name: 'three 10 s jobs on powers 1 and 2 all start at once',
      jobs: [job('a', 10), job('b', 10), job('c', 10)],
      hosts: [host('p1', 1), host('p2', 2)],
      makespan: 10,
      lowerBound: 10,
    },
    {
      name: 'labels: only the power-1 arm host counts for the bound',
      jobs: [job('a', 10, [], ['aarch64']), job('b', 10, [], ['aarch64']), job('c', 10, [], ['aarch64'])],
      hosts: [host('pc', 8), host('pi', 1, ['aarch64'])],
      makespan: 30,
      lowerBound: 30,
    },
    {
      name: 'down host ignored for work and bound',
      jobs: [job('a', 10), job('b', 10), job('c', 10), job('d', 10)],
      hosts: [host('up', 2), host('down', 6, ['x86_64'], false)],
      makespan: 20,
      lowerBound: 20,
    },
    {
      name: 'long job first: 30 + 3 x 10 on power 2',
      jobs: [job('s1', 10), job('s2', 10), job('s3', 10), job('long', 30)],
      hosts: [host('h', 2)],
      makespan: 30,
      lowerBound: 30,
    },
    {
      name: 'mixed bound: CP 25, work 60 / 3 = 20',
      jobs: [job('a', 5), job('b', 20, ['a']), job('c', 15), job('d', 10), job('e', 10)],
      hosts: [host('p1', 1), host('p2', 2)],
      makespan: 25,
      lowerBound: 25,
    },
  ];

  it.each(cases)('$name', ({ jobs, hosts, makespan, lowerBound }) => {
    const r = simulate(jobs, hosts);
    expect(r.makespanSeconds).toBe(makespan);
    expect(r.lowerBoundSeconds).toBe(lowerBound);
    checkSchedule(jobs, hosts, r);
  });
});

describe('simulate: fifo vs critical-path', () => {
  // Input order puts the short independent jobs first; the 3-job chain is the critical path.
  const jobs = [
    job('s1', 10),
    job('s2', 10),
    job('s3', 10),
    job('s4', 10),
    job('l1', 10),
    job('l2', 10, ['l1']),
    job('l3', 10, ['l2']),
  ];
  const hosts = [host('h', 2)];

  it.each<{ order: QueueOrder; makespan: number; starts: Record<string, number> }>([
    {
      order: 'critical-path',
      makespan: 40,
      starts: { l1: 0, s1: 0, l2: 10, s2: 10, l3: 20, s3: 20, s4: 30 },
    },
    {
      order: 'fifo',
      makespan: 50,
      starts: { s1: 0, s2: 0, s3: 10, s4: 10, l1: 20, l2: 30, l3: 40 },
    },
  ])('$order', ({ order, makespan, starts }) => {
    const r = simulate(jobs, hosts, { order });
    expect(r.makespanSeconds).toBe(makespan);
    expect(r.lowerBoundSeconds).toBe(35);
    expect(Object.fromEntries(r.assignments.map((a) => [a.id, a.start]))).toEqual(starts);
    checkSchedule(jobs, hosts, r);
  });
});

describe('simulate: invariants on random DAGs', () => {
  const hostSets: { hosts: ScheduleHost[]; labelSets: (string[] | undefined)[] }[] = [
    { hosts: [host('p1', 1), host('p2', 2), host('p4', 4), host('p8', 8)], labelSets: [undefined, ['x86_64']] },
    {
      hosts: [host('a', 3, ['x86_64', 'big']), host('b', 1, ['aarch64']), host('c', 2, ['x86_64']), host('d', 8, ['x86_64'], false)],
      labelSets: [undefined, ['x86_64'], ['aarch64'], ['big'], ['x86_64', 'big']],
    },
  ];
  it.each([1, 2, 3, 4, 5].flatMap((seed) => hostSets.map(({ hosts, labelSets }, hs) => ({ seed, hosts, labelSets, hs }))))(
    'seed $seed, host set $hs',
    ({ seed, hosts, labelSets }) => {
      const jobs = randomDag(400, 4, seed, labelSets);
      for (const order of ['critical-path', 'fifo'] as const) {
        const r = simulate(jobs, hosts, { order });
        expect(r.unscheduled).toEqual([]);
        const peak = checkSchedule(jobs, hosts, r);
        for (const h of hosts) if (h.up) expect(peak.get(h.name)).toBe(h.power);
      }
    },
  );
});

describe('simulate: jobs that cannot run', () => {
  it('reports unschedulable, blocked and cyclic jobs, and bounds over the rest', () => {
    const jobs = [
      job('a', 10, ['b']),
      job('b', 10, ['a']),
      job('after-cycle', 10, ['a']),
      job('gpu', 100, [], ['cuda']),
      job('after-gpu', 100, ['gpu']),
      job('ok', 7),
      job('ok2', 5, ['ok']),
    ];
    const r = simulate(jobs, [host('h', 2)]);
    expect(r.assignments.map((a) => a.id)).toEqual(['ok', 'ok2']);
    expect(r.unscheduled).toEqual([
      { id: 'a', reason: 'dependency-cycle' },
      { id: 'b', reason: 'dependency-cycle' },
      { id: 'after-cycle', reason: 'dependency-cycle', cause: 'a' },
      { id: 'gpu', reason: 'no-eligible-host' },
      { id: 'after-gpu', reason: 'dependency-skipped', cause: 'gpu' },
    ]);
    expect(r.cycles).toEqual([['a', 'b']]);
    expect(r.makespanSeconds).toBe(12);
    expect(r.lowerBoundSeconds).toBe(12);
  });

  it('no up host at all: nothing runs, zero makespan', () => {
    const r = simulate([job('a', 10)], [host('h', 2, ['x86_64'], false)]);
    expect(r).toMatchObject({ makespanSeconds: 0, lowerBoundSeconds: 0, assignments: [] });
    expect(r.unscheduled).toEqual([{ id: 'a', reason: 'no-eligible-host' }]);
  });
});

describe('estimate', () => {
  it.each([
    { name: 'whole seconds stay', jobs: [job('a', 60), job('b', 60, ['a'])], makespan: 120, lowerBound: 120 },
    { name: 'fractions round up', jobs: [job('a', 0.4), job('b', 12.3), job('c', 1.2)], makespan: 13, lowerBound: 13 },
    {
      name: 'float residue is not rounded up',
      jobs: Array.from({ length: 10 }, (_, i) => job(`j${i}`, 0.1, i > 0 ? [`j${i - 1}`] : [])),
      makespan: 1,
      lowerBound: 1,
    },
    {
      name: 'lower bound below makespan',
      jobs: [job('a', 10), job('b', 10), job('c', 10)],
      makespan: 20,
      lowerBound: 15,
    },
  ])('$name', ({ jobs, makespan, lowerBound }) => {
    expect(estimate(jobs, [host('h', 2)])).toEqual({ makespanSeconds: makespan, lowerBoundSeconds: lowerBound });
  });
});

describe('simulate: scale', () => {
  // Speed is measured by bench/, not asserted here (shared, noisy machines).
  it('schedules 35,000 jobs with ~100k edges, each after its dependencies', () => {
    const jobs = randomDag(35_000, 6, 42);
    const edges = jobs.reduce((n, j) => n + j.dependsOn.length, 0);
    expect(edges).toBeGreaterThan(90_000);
    const hosts = [host('p1', 1), host('p2', 2), host('p4', 4), host('p8', 8)];
    const r = simulate(jobs, hosts);
    expect(r.assignments).toHaveLength(35_000);
    const end = new Map(r.assignments.map((a) => [a.id, a.end]));
    const start = new Map(r.assignments.map((a) => [a.id, a.start]));
    for (const j of jobs) for (const d of j.dependsOn) expect(start.get(j.id)!).toBeGreaterThanOrEqual(end.get(d)!);
  });
});
