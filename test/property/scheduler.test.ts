/**
 * Properties of the scheduler core (src/schedule/): the incremental Scheduler
 * driven through random interleavings (which proposed assignments are started,
 * which running build ends next and how, hosts going down), and the
 * virtual-time simulate(). Over generated jobs (dependencies, now and then a
 * cycle or an id outside the set, labels, fair-share groups) and hosts (power,
 * labels):
 * - a host never runs more than `power` builds, never one whose labels it lacks,
 *   and gets none while down;
 * - every build starts after each of its dependencies (inside the set) ended `ok`;
 * - with every host up and every build ending `ok`, each job runs exactly once
 *   unless it is in a cycle, behind one, or has no host with its labels, and the
 *   run ends (isDone) with nothing left;
 * - with failures and lost builds, a failed job's dependents never start, a lost
 *   job runs again, and the run still ends.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Scheduler, simulate, type JobOutcome, type ScheduleHost, type ScheduleJob } from '../../src/schedule/index.js';
import { propertyParams } from './mutate.js';

const LABELS = ['x86_64', 'big', 'gpu'] as const;

interface Input {
  readonly jobs: readonly ScheduleJob[];
  readonly hosts: readonly ScheduleHost[];
  readonly order: 'critical-path' | 'fifo';
}

const inputArb: fc.Arbitrary<Input> = fc
  .tuple(fc.integer({ min: 1, max: 14 }), fc.integer({ min: 1, max: 3 }))
  .chain(([n, hostCount]) =>
    fc.record({
      jobs: fc.tuple(
        ...Array.from({ length: n }, (_, i) =>
          fc.record({
            id: fc.constant(`j${i}`),
            dependsOn: fc.oneof(
              { weight: 8, arbitrary: i > 0 ? fc.uniqueArray(fc.integer({ min: 0, max: i - 1 }).map((d) => `j${d}`), { maxLength: 3 }) : fc.constant([]) },
              // Now and then a later job (a cycle, perhaps), an id outside the set, or a repeated one.
              { weight: 1, arbitrary: fc.array(fc.constantFrom(`j${Math.min(n - 1, i + 1)}`, 'outside', `j${Math.max(0, i - 1)}`), { maxLength: 2 }) },
            ),
            seconds: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 }), fc.double({ min: 0, max: 50, noNaN: true })),
            labels: fc.oneof({ weight: 3, arbitrary: fc.constant(['x86_64']) }, { weight: 1, arbitrary: fc.subarray([...LABELS]) }),
            share: fc.constantFrom('main', 'main', '3.0'),
          }),
        ),
      ),
      hosts: fc.tuple(
        ...Array.from({ length: hostCount }, (_, h) =>
          fc.record({
            name: fc.constant(`h${h}`),
            power: fc.integer({ min: 1, max: 3 }),
            labels: fc.oneof({ weight: 3, arbitrary: fc.constant(['x86_64', 'big']) }, { weight: 1, arbitrary: fc.subarray([...LABELS]) }),
            up: fc.constant(true),
          }),
        ),
      ),
      order: fc.constantFrom('critical-path' as const, 'fifo' as const),
    }),
  );

/** Jobs that can never run: no host with their labels, in a cycle (a job depending on itself is one), or depending (transitively) on one of those. */
function neverRun(input: Input): Set<string> {
  const ids = new Set(input.jobs.map((j) => j.id));
  const byId = new Map(input.jobs.map((j) => [j.id, j]));
  const memo = new Map<string, boolean>();
  const can = (id: string, stack: Set<string>): boolean => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    if (stack.has(id)) return false;
    stack.add(id);
    const job = byId.get(id)!;
    const ok = input.hosts.some((h) => h.up && (job.labels ?? []).every((l) => h.labels.includes(l))) && job.dependsOn.filter((d) => ids.has(d)).every((d) => can(d, stack));
    stack.delete(id);
    // A result reached through a cycle is not cached: the node itself decides when it is the start.
    if (stack.size === 0 || ok === false) memo.set(id, ok);
    return ok;
  };
  return new Set(input.jobs.filter((j) => !can(j.id, new Set())).map((j) => j.id));
}

/** A tape of random choices, read in turn (shrinks with the rest of the input). */
const tapeArb = fc.array(fc.nat(1000), { minLength: 64, maxLength: 64 });

interface Drive {
  /** Outcome of a finished build: always ok, or now and then failed or lost. */
  readonly faults: boolean;
  /** Mark a host down part-way. */
  readonly hostDown: boolean;
}

/** Runs the scheduler to the end, checking the invariants at every step; returns how often each job started. */
function drive(input: Input, tape: readonly number[], options: Drive): { starts: Map<string, number>; failed: Set<string>; scheduler: Scheduler } {
  let t = 0;
  const next = (): number => tape[t++ % tape.length]! + t;
  const s = new Scheduler(input.jobs, input.hosts, { order: input.order });
  const ids = new Set(input.jobs.map((j) => j.id));
  const byId = new Map(input.jobs.map((j) => [j.id, j]));
  const power = new Map(input.hosts.map((h) => [h.name, h.power]));
  const labels = new Map(input.hosts.map((h) => [h.name, h.labels]));
  const down = new Set<string>();
  const done = new Set<string>();
  const failed = new Set<string>();
  const starts = new Map<string, number>();
  const running: { job: string; host: string }[] = [];
  for (let step = 0; !s.isDone(); step++) {
    expect(step, 'the run ends').toBeLessThan(10_000);
    if (options.hostDown && step === 3 && input.hosts.length > 1) {
      const host = input.hosts[next() % input.hosts.length]!.name;
      down.add(host);
      s.setHostUp(host, false);
    }
    const proposals = s.nextAssignments();
    // Start some of them (all, most of the time; at least one when nothing runs).
    const take = next() % 4 === 0 ? Math.max(running.length === 0 ? 1 : 0, next() % (proposals.length + 1)) : proposals.length;
    for (const a of proposals.slice(0, take)) {
      const job = byId.get(a.jobId)!;
      for (const dep of job.dependsOn) if (ids.has(dep) && dep !== a.jobId) expect(done.has(dep), `${a.jobId} starts after ${dep} ended ok`).toBe(true);
      expect(down.has(a.host), `${a.jobId} on down host ${a.host}`).toBe(false);
      for (const l of job.labels ?? []) expect(labels.get(a.host), `${a.jobId} needs ${l}`).toContain(l);
      s.started(a.jobId, a.host);
      starts.set(a.jobId, (starts.get(a.jobId) ?? 0) + 1);
      running.push({ job: a.jobId, host: a.host });
    }
    for (const [host, load] of s.load()) {
      expect(load, `load of ${host}`).toBeLessThanOrEqual(power.get(host)!);
      expect(load).toBe(running.filter((r) => r.host === host).length);
    }
    if (running.length === 0) {
      if (s.isDone()) break; // a host that went down left the rest unschedulable
      expect(proposals, 'something to start while nothing runs and the run is not over').not.toEqual([]);
      continue;
    }
    const [finished] = running.splice(next() % running.length, 1);
    const roll = next() % 10;
    const outcome: JobOutcome = options.faults && roll === 0 ? 'failed' : options.faults && roll === 1 && (starts.get(finished!.job) ?? 0) < 3 ? 'lost' : 'ok';
    s.finished(finished!.job, outcome);
    if (outcome === 'ok') done.add(finished!.job);
    if (outcome === 'failed') failed.add(finished!.job);
  }
  expect(running).toEqual([]);
  return { starts, failed, scheduler: s };
}

describe('Scheduler: random interleavings', () => {
  it('all hosts up, every build ok: power and labels respected, dependencies first, each runnable job exactly once', () => {
    fc.assert(
      fc.property(inputArb, tapeArb, (input, tape) => {
        const { starts, scheduler } = drive(input, tape, { faults: false, hostDown: false });
        const never = neverRun(input);
        for (const job of input.jobs) expect(starts.get(job.id) ?? 0, job.id).toBe(never.has(job.id) ? 0 : 1);
        expect(scheduler.remaining()).toEqual([]);
      }),
      propertyParams(150),
    );
  });

  it('with failed and lost builds and a host going down: invariants hold, failures hold back their dependents, the run ends', () => {
    fc.assert(
      fc.property(inputArb, tapeArb, (input, tape) => {
        const { starts, failed, scheduler } = drive(input, tape, { faults: true, hostDown: true });
        const dependents = (id: string): string[] => input.jobs.filter((j) => j.dependsOn.includes(id) && j.id !== id).map((j) => j.id);
        for (const f of failed) for (const d of dependents(f)) expect(starts.has(d), `${d} after failed ${f}`).toBe(false);
        // A job starts again only after it was lost (at most twice here), never after it ended ok or failed.
        for (const [id, n] of starts) expect(n, id).toBeLessThanOrEqual(3);
        expect(scheduler.remaining()).toEqual([]);
      }),
      propertyParams(150),
    );
  });
});

describe('simulate (the estimate)', () => {
  it('never more than power at once on a host, dependencies first, each runnable job once, makespan >= lower bound', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const r = simulate(input.jobs, input.hosts, { order: input.order });
        const never = neverRun(input);
        const ran = new Map<string, number>();
        for (const a of r.assignments) ran.set(a.id, (ran.get(a.id) ?? 0) + 1);
        for (const job of input.jobs) expect(ran.get(job.id) ?? 0, job.id).toBe(never.has(job.id) ? 0 : 1);
        const endOf = new Map(r.assignments.map((a) => [a.id, a.end]));
        const byId = new Map(input.jobs.map((j) => [j.id, j]));
        r.assignments.forEach((a, index) => {
          for (const dep of byId.get(a.id)!.dependsOn) if (endOf.has(dep) && dep !== a.id) expect(a.start, `${a.id} after ${dep}`).toBeGreaterThanOrEqual(endOf.get(dep)!);
          const host = input.hosts.find((h) => h.name === a.host)!;
          for (const l of byId.get(a.id)!.labels ?? []) expect(host.labels).toContain(l);
          // Builds on the host still running when this one starts (assignments are in start order; a zero-length build ends as it starts).
          const overlapping = r.assignments.slice(0, index).filter((b) => b.host === a.host && b.end > a.start).length + 1;
          expect(overlapping, `${a.host} at ${a.start}`).toBeLessThanOrEqual(host.power);
        });
        expect(r.makespanSeconds + 1e-9).toBeGreaterThanOrEqual(r.lowerBoundSeconds);
        expect(r.unscheduled.map((u) => u.id).sort()).toEqual([...never].sort());
      }),
      propertyParams(150),
    );
  });
});
