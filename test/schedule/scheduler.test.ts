import { describe, expect, it } from 'vitest';
import { job, host } from '../helpers/schedule.js';
import { Scheduler, type JobOutcome } from '../../src/schedule/index.js';


/** Starts everything proposed, then finishes the running jobs in input order; returns start order. */
function drive(s: Scheduler, outcome: (id: string) => JobOutcome = () => 'ok'): string[] {
  const order: string[] = [];
  for (let guard = 0; !s.isDone(); guard++) {
    if (guard > 1000) throw new Error('no progress');
    for (const a of s.nextAssignments()) {
      s.started(a.jobId, a.host);
      order.push(a.jobId);
    }
    for (const r of s.running()) s.finished(r.jobId, outcome(r.jobId));
  }
  return order;
}

describe('Scheduler: priority order', () => {
  const jobs = [
    job('b', 15),
    job('v', 5, ['w']),
    job('w', 10),
    job('a', 15),
    job('y', 5, ['x']),
    job('x', 10),
    job('z', 5, ['x']),
    job('big', 20),
  ];

  it.each([
    { order: 'critical-path' as const, expected: ['big', 'x', 'w', 'a', 'b'] },
    { order: 'fifo' as const, expected: ['b', 'w', 'a', 'x', 'big'] },
  ])('$order: ready queue order', ({ order, expected }) => {
    const s = new Scheduler(jobs, [host('h', 1)], { order });
    expect(s.ready()).toEqual(expected);
    expect(s.nextAssignments()).toEqual([{ jobId: expected[0], host: 'h' }]);
  });

  it('critical-path priorities are own seconds plus the longest chain of dependents', () => {
    const s = new Scheduler(
      [job('a', 10), job('b', 20, ['a']), job('c', 5, ['a']), job('d', 10, ['b', 'c'])],
      [host('h', 1)],
    );
    expect(['a', 'b', 'c', 'd'].map((id) => s.priority(id))).toEqual([40, 30, 15, 10]);
  });

  it('fifo: jobs made ready later queue behind earlier ones, same event in input order', () => {
    const s = new Scheduler([job('r1', 1), job('r2', 1), job('late2', 1, ['r1']), job('late1', 1, ['r1'])], [host('h', 1)], {
      order: 'fifo',
    });
    s.started('r1', 'h');
    expect(s.finished('r1', 'ok').ready).toEqual(['late2', 'late1']);
    expect(s.ready()).toEqual(['r2', 'late2', 'late1']);
  });
});

describe('Scheduler: assignments', () => {
  it('fills every free slot, host rule per job, without changing state', () => {
    const jobs = Array.from({ length: 20 }, (_, i) => job(`j${String(i).padStart(2, '0')}`, 100 - i));
    const s = new Scheduler(jobs, [host('p1', 1), host('p2', 2), host('p4', 4), host('p8', 8)]);
    const proposals = s.nextAssignments();
    expect(proposals).toHaveLength(15);
    expect(s.nextAssignments()).toEqual(proposals);
    const perHost = new Map<string, number>();
    for (const p of proposals) perHost.set(p.host, (perHost.get(p.host) ?? 0) + 1);
    expect(Object.fromEntries(perHost)).toEqual({ p1: 1, p2: 2, p4: 4, p8: 8 });
    // Highest priority first, each to the host with the most free slots (ties: host order).
    expect(proposals.map((p) => p.jobId)).toEqual(jobs.slice(0, 15).map((j) => j.id));
    expect(proposals.map((p) => p.host)).toEqual(
      ['p8', 'p8', 'p8', 'p8', 'p4', 'p8', 'p4', 'p8', 'p2', 'p4', 'p8', 'p1', 'p2', 'p4', 'p8'],
    );
    expect(s.remaining()).toHaveLength(20);
    for (const p of proposals) s.started(p.jobId, p.host);
    expect(s.nextAssignments()).toEqual([]);
    expect(Object.fromEntries(s.load())).toEqual({ p1: 1, p2: 2, p4: 4, p8: 8 });
  });

  it('backfills: a top job whose only host is full does not hold back others', () => {
    const s = new Scheduler(
      [job('arm-long', 100, [], ['aarch64']), job('arm-2', 90, [], ['aarch64']), job('x', 10)],
      [host('arm', 1, ['aarch64']), host('pc', 2, ['x86_64'])],
    );
    expect(s.nextAssignments()).toEqual([
      { jobId: 'arm-long', host: 'arm' },
      { jobId: 'x', host: 'pc' },
    ]);
  });

  it('respects dependency order', () => {
    const s = new Scheduler([job('c', 1, ['b']), job('b', 1, ['a']), job('a', 1)], [host('h', 4)]);
    expect(s.nextAssignments().map((a) => a.jobId)).toEqual(['a']);
    expect(s.status('b')).toBe('waiting');
    expect(drive(s)).toEqual(['a', 'b', 'c']);
    expect(s.status('c')).toBe('done');
  });

  it('ignores unknown and duplicate dependency ids', () => {
    const s = new Scheduler([job('a', 1, ['elsewhere']), job('b', 1, ['a', 'a', 'gone'])], [host('h', 1)]);
    expect(s.ready()).toEqual(['a']);
    s.started('a', 'h');
    expect(s.finished('a', 'ok').ready).toEqual(['b']);
  });

  it.each([
    { name: 'not ready', jobId: 'b', host: 'pc', message: /waiting, not ready/ },
    { name: 'full host', jobId: 'c', host: 'one', message: /no free slot/ },
    { name: 'down host', jobId: 'c', host: 'down', message: /host is down/ },
    { name: 'missing label', jobId: 'c', host: 'arm', message: /lacks a required label/ },
    { name: 'unknown host', jobId: 'c', host: 'nope', message: /unknown host/ },
    { name: 'unknown job', jobId: 'nope', host: 'pc', message: /unknown job/ },
  ])('started() refuses: $name', ({ jobId, host: h, message }) => {
    const s = new Scheduler(
      [job('a', 1), job('b', 1, ['a']), job('c', 1, [], ['x86_64']), job('d', 1, [], ['aarch64'])],
      [host('one', 1), host('pc', 2), host('down', 2, ['x86_64'], false), host('arm', 1, ['aarch64'])],
    );
    s.started('a', 'one');
    expect(() => s.started(jobId, h)).toThrow(message);
  });

  it('finished() refuses a job that is not running', () => {
    const s = new Scheduler([job('a', 1)], [host('h', 1)]);
    expect(() => s.finished('a', 'ok')).toThrow(/not running/);
  });

  it('rejects malformed input', () => {
    expect(() => new Scheduler([job('a', 1), job('a', 2)], [])).toThrow(/duplicate job id/);
    expect(() => new Scheduler([job('a', -1)], [])).toThrow(/invalid seconds/);
    expect(() => new Scheduler([job('a', Number.NaN)], [])).toThrow(/invalid seconds/);
    expect(() => new Scheduler([], [host('h', 0)])).toThrow(/invalid power/);
    expect(() => new Scheduler([], [host('h', 1.5)])).toThrow(/invalid power/);
    expect(() => new Scheduler([], [host('h', 2 ** 31)])).toThrow(/invalid power/); // kept in an Int32Array: it would wrap around
    expect(() => new Scheduler([], [host('h', 1), host('h', 2)])).toThrow(/duplicate host/);
  });
});

describe('Scheduler: failures', () => {
  //   a ─▶ b ─▶ c ─▶ g        e ─▶ d ◀─ a        f
  const jobs = [
    job('a', 1),
    job('b', 1, ['a']),
    job('c', 1, ['b']),
    job('d', 1, ['a', 'e']),
    job('e', 1),
    job('f', 1),
    job('g', 1, ['c']),
  ];

  it('a failed job blocks exactly its transitive dependents, with itself as cause', () => {
    const s = new Scheduler(jobs, [host('h', 8)]);
    for (const a of s.nextAssignments()) s.started(a.jobId, a.host);
    const update = s.finished('a', 'failed');
    expect(update.blocked).toEqual(
      ['b', 'c', 'd', 'g'].map((jobId) => ({ jobId, reason: 'dependency-failed', cause: 'a' })),
    );
    expect(update.ready).toEqual([]);
    expect(s.status('a')).toBe('failed');
    expect(s.blocked().map((b) => b.jobId)).toEqual(['b', 'c', 'd', 'g']);
    expect(s.finished('e', 'ok').ready).toEqual([]);
    s.finished('f', 'ok');
    expect(s.isDone()).toBe(true);
    expect(['e', 'f'].map((id) => s.status(id))).toEqual(['done', 'done']);
  });

  it('a later failure does not report already-blocked jobs again', () => {
    const s = new Scheduler(jobs, [host('h', 8)]);
    for (const a of s.nextAssignments()) s.started(a.jobId, a.host);
    s.finished('a', 'failed');
    expect(s.finished('e', 'failed').blocked).toEqual([]);
    expect(s.blocked().find((b) => b.jobId === 'd')?.cause).toBe('a');
  });

  it('drive: failure of a middle job', () => {
    const s = new Scheduler(jobs, [host('h', 2)]);
    const started = drive(s, (id) => (id === 'b' ? 'failed' : 'ok'));
    expect(started.sort()).toEqual(['a', 'b', 'd', 'e', 'f']);
    expect(s.blocked()).toEqual([
      { jobId: 'c', reason: 'dependency-failed', cause: 'b' },
      { jobId: 'g', reason: 'dependency-failed', cause: 'b' },
    ]);
  });

  it('a lost job goes back to the ready queue and frees its slot', () => {
    const s = new Scheduler([job('a', 10), job('b', 1, ['a']), job('c', 5)], [host('h', 1), host('k', 1)]);
    expect(s.nextAssignments()).toEqual([
      { jobId: 'a', host: 'h' },
      { jobId: 'c', host: 'k' },
    ]);
    s.started('a', 'h');
    s.started('c', 'k');
    const update = s.finished('a', 'lost');
    expect(update).toEqual({ ready: ['a'], blocked: [], unschedulable: [] });
    expect(s.status('a')).toBe('ready');
    expect(s.status('b')).toBe('waiting');
    expect(s.running()).toEqual([{ jobId: 'c', host: 'k' }]);
    expect(s.nextAssignments()).toEqual([{ jobId: 'a', host: 'h' }]);
    expect(drive(s)).toEqual(['a', 'b']);
    expect(s.isDone()).toBe(true);
  });
});

describe('Scheduler: hosts and unschedulable jobs', () => {
  it('reports jobs no up host can run at creation, and blocks their dependents', () => {
    const s = new Scheduler(
      [
        job('gpu', 1, [], ['cuda']),
        job('uses-gpu', 1, ['gpu']),
        job('arm', 1, [], ['aarch64']),
        job('then', 1, ['uses-gpu', 'arm']),
        job('plain', 1),
      ],
      [host('pc', 2), host('pi', 1, ['aarch64'], false)],
    );
    expect(s.unschedulable()).toEqual(['gpu', 'arm']);
    expect(s.blocked()).toEqual([
      { jobId: 'uses-gpu', reason: 'dependency-skipped', cause: 'gpu' },
      { jobId: 'then', reason: 'dependency-skipped', cause: 'gpu' },
    ]);
    expect(s.remaining()).toEqual(['plain']);
    expect(drive(s)).toEqual(['plain']);
  });

  it('a host going down makes jobs with no other eligible host unschedulable', () => {
    const s = new Scheduler(
      [job('arm1', 10, [], ['aarch64']), job('arm2', 5, [], ['aarch64']), job('after', 1, ['arm2']), job('x', 1)],
      [host('pi', 1, ['aarch64']), host('pc', 1, ['x86_64', 'aarch64']), host('other', 1, ['x86_64'])],
    );
    s.started('arm1', 'pi');
    expect(s.setHostUp('pi', false)).toEqual({ ready: [], blocked: [], unschedulable: [] });
    expect(s.nextAssignments()).toEqual([
      { jobId: 'arm2', host: 'pc' },
      { jobId: 'x', host: 'other' },
    ]);
    const update = s.setHostUp('pc', false);
    expect(update.unschedulable).toEqual(['arm2']);
    expect(update.blocked).toEqual([{ jobId: 'after', reason: 'dependency-skipped', cause: 'arm2' }]);
    // arm1 still runs on the down host until reported; lost now means unschedulable.
    expect(s.running()).toEqual([{ jobId: 'arm1', host: 'pi' }]);
    expect(s.remaining()).toEqual(['x']);
    expect(s.finished('arm1', 'lost')).toEqual({ ready: [], blocked: [], unschedulable: ['arm1'] });
    expect(drive(s)).toEqual(['x']);
    expect(s.isDone()).toBe(true);
    // Final: the host coming back does not revive them.
    s.setHostUp('pi', true);
    expect(s.status('arm1')).toBe('unschedulable');
    expect(s.nextAssignments()).toEqual([]);
  });

  it('a down host gets no new builds; up again, it does', () => {
    const s = new Scheduler([job('a', 1), job('b', 1)], [host('big', 4), host('small', 1)]);
    s.setHostUp('big', false);
    expect(s.nextAssignments()).toEqual([{ jobId: 'a', host: 'small' }]);
    s.setHostUp('big', true);
    expect(s.nextAssignments()).toEqual([
      { jobId: 'a', host: 'big' },
      { jobId: 'b', host: 'big' },
    ]);
  });
});

describe('Scheduler: cycles', () => {
  it('never readies jobs in or behind a cycle, and reports them', () => {
    const s = new Scheduler(
      [job('a', 1, ['b']), job('b', 1, ['a']), job('c', 1, ['b']), job('d', 1, ['d']), job('e', 1), job('f', 1, ['c', 'e'])],
      [host('h', 2)],
    );
    expect(s.cycles()).toEqual([['a', 'b'], ['d']]);
    expect(['a', 'b', 'd'].map((id) => s.status(id))).toEqual(['cyclic', 'cyclic', 'cyclic']);
    expect(s.blocked()).toEqual([
      { jobId: 'c', reason: 'dependency-cycle', cause: 'b' },
      { jobId: 'f', reason: 'dependency-cycle', cause: 'b' },
    ]);
    expect(drive(s)).toEqual(['e']);
    expect(s.isDone()).toBe(true);
  });
});

describe('Scheduler: excludeHost (a host that cannot serve some jobs, e.g. lacks their build root)', () => {
  it('sends the excluded jobs to the other hosts while the host keeps serving the rest', () => {
    // Two "branches": a* and b*, both eligible on h1 and h2.
    const s = new Scheduler([job('a1', 10), job('a2', 10, ['a1']), job('b1', 10), job('b2', 10)], [host('h1', 2), host('h2', 1)]);
    s.started('a1', 'h1');
    s.excludeHost('h1', ['a1', 'a2']);
    // a1 was running on h1: reported lost, it goes back to the queue, now only for h2.
    s.finished('a1', 'lost');
    const next = s.nextAssignments();
    expect(next.find((a) => a.jobId === 'a1')?.host).toBe('h2');
    expect(next.filter((a) => a.host === 'h1').map((a) => a.jobId).sort()).toEqual(['b1', 'b2']);
    expect(() => s.started('a1', 'h1')).toThrow(/excluded/);
    for (const a of next) s.started(a.jobId, a.host);
    s.finished('a1', 'ok');
    s.finished('b1', 'ok');
    s.finished('b2', 'ok');
    expect(s.nextAssignments()).toEqual([{ jobId: 'a2', host: 'h2' }]);
    // Repeating it changes nothing.
    expect(s.excludeHost('h1', ['a1', 'a2']).unschedulable).toEqual([]);
  });

  it('makes jobs left without any host unschedulable and blocks their dependents', () => {
    const s = new Scheduler(
      [job('a1', 10, [], ['x86_64']), job('a2', 10, ['a1'], ['x86_64']), job('c', 10, ['a2'], ['other']), job('b1', 10, [], ['x86_64'])],
      [host('h1', 1), host('h2', 1, ['other'])],
    );
    const update = s.excludeHost('h1', ['a1', 'a2']);
    expect(update.unschedulable).toEqual(['a1', 'a2']);
    expect(s.blocked()).toEqual([{ jobId: 'c', reason: 'dependency-skipped', cause: 'a2' }]);
    expect(drive(s)).toEqual(['b1']);
  });
});
