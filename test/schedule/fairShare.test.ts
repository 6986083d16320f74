/**
 * Several branches in one run share the hosts fairly: jobs carry a `share` (the
 * branch); when shares compete, each gets an equal number of slots; a share with
 * too little ready work leaves its slots to the others (work conserving); inside
 * a share, the critical-path order holds.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler, simulate, type ScheduleJob, type SimulationResult } from '../../src/schedule/index.js';
import { host, job } from '../helpers/schedule.js';

const inShare = (share: string, jobs: ScheduleJob[]): ScheduleJob[] => jobs.map((j) => ({ ...j, id: `${share}/${j.id}`, dependsOn: j.dependsOn.map((d) => `${share}/${d}`), share }));

/** n independent jobs of `seconds` each. */
const flat = (n: number, seconds: number): ScheduleJob[] => Array.from({ length: n }, (_, i) => job(`p${String(i).padStart(2, '0')}`, seconds));

/** Builds of each share running at time t. */
function runningAt(r: SimulationResult, t: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of r.assignments) if (a.start <= t && t < a.end) out[a.id.split('/')[0]!] = (out[a.id.split('/')[0]!] ?? 0) + 1;
  return out;
}

describe('fair share between branches', () => {
  it('without shares, the branch whose ids sort first takes every slot; with shares, each gets half', () => {
    const hosts = [host('h', 4)];
    const jobs = [...inShare('2.2', flat(8, 10)), ...inShare('3.0', flat(8, 10))];
    const unfair = simulate(jobs.map(({ share: _share, ...j }) => j), hosts);
    expect(runningAt(unfair, 0)).toEqual({ '2.2': 4 });
    const fair = simulate(jobs, hosts);
    for (const t of [0, 10, 20, 30]) expect(runningAt(fair, t)).toEqual({ '2.2': 2, '3.0': 2 });
    expect(fair.makespanSeconds).toBe(unfair.makespanSeconds);
  });

  it('is work conserving: a branch with little ready work leaves its slots to the other', () => {
    const hosts = [host('h1', 2), host('h2', 2)];
    const jobs = [...inShare('2.2', flat(1, 30)), ...inShare('3.0', flat(9, 10))];
    const r = simulate(jobs, hosts);
    expect(runningAt(r, 0)).toEqual({ '2.2': 1, '3.0': 3 });
    expect(r.makespanSeconds).toBe(30);
  });

  it('gives a freed slot to the branch with fewer running builds', () => {
    // 2.2: a chain (one ready at a time) then a fan-out; 3.0: many long jobs.
    const chain = [job('a', 5), job('b', 5, ['a']), ...Array.from({ length: 6 }, (_, i) => job(`fan${i}`, 20, ['b']))];
    const hosts = [host('h', 4)];
    const r = simulate([...inShare('2.2', chain), ...inShare('3.0', flat(12, 20))], hosts);
    expect(runningAt(r, 0)).toEqual({ '2.2': 1, '3.0': 3 });
    // b ends at 10: 2.2 has 6 ready jobs, 3.0 still runs 3 until 20: 2.2 takes the one free slot, then shares even out.
    expect(runningAt(r, 10)).toEqual({ '2.2': 1, '3.0': 3 });
    expect(runningAt(r, 20)).toEqual({ '2.2': 2, '3.0': 2 });
  });

  it('keeps the critical-path order inside a branch', () => {
    const tree = [job('leaf1', 5), job('leaf2', 5), job('root', 50), job('top', 50, ['root'])];
    const r = simulate([...inShare('2.2', tree), ...inShare('3.0', flat(10, 10))], [host('h', 2)]);
    const first = r.assignments.filter((a) => a.start === 0).map((a) => a.id).sort();
    expect(first).toEqual(['2.2/root', '3.0/p00']);
  });

  it('the incremental scheduler proposes the same balance for real runs', () => {
    const s = new Scheduler([...inShare('2.2', flat(6, 10)), ...inShare('3.0', flat(6, 10))], [host('h1', 2), host('h2', 1)]);
    const first = s.nextAssignments();
    const count = (ids: string[]): Record<string, number> => ids.reduce<Record<string, number>>((acc, id) => ({ ...acc, [id.split('/')[0]!]: (acc[id.split('/')[0]!] ?? 0) + 1 }), {});
    expect(first).toHaveLength(3);
    for (const a of first) s.started(a.jobId, a.host);
    const c = count(first.map((a) => a.jobId));
    expect(Math.abs((c['2.2'] ?? 0) - (c['3.0'] ?? 0))).toBe(1);
    // The share that had fewer gets the next free slot, whichever share's build ended.
    const behind = (c['2.2'] ?? 0) < (c['3.0'] ?? 0) ? '2.2' : '3.0';
    const ahead = behind === '2.2' ? '3.0' : '2.2';
    const ending = first.find((a) => a.jobId.startsWith(behind))!;
    s.finished(ending.jobId, 'ok');
    const next = s.nextAssignments();
    expect(next.map((a) => a.jobId.split('/')[0])).toEqual([behind]);
    s.started(next[0]!.jobId, next[0]!.host);
    const endingAhead = first.find((a) => a.jobId.startsWith(ahead))!;
    s.finished(endingAhead.jobId, 'ok');
    expect(s.nextAssignments().map((a) => a.jobId.split('/')[0])).toEqual([ahead]);
  });
});
