/**
 * Load-aware scheduling (hosts.yaml `maxLoad`): the load averages are fed in as data;
 * a host above its threshold is full (no new builds) but never down.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler, type ScheduleHost } from '../../src/schedule/index.js';
import { host, job } from '../helpers/schedule.js';

const loaded = (name: string, power: number, maxLoad: number): ScheduleHost => ({ ...host(name, power), maxLoad });

describe('Scheduler: host load (maxLoad)', () => {
  it.each([
    { case: 'load under the threshold', load: 1.5, full: false, hosts: ['busy', 'busy', 'other'] },
    { case: 'load equal to the threshold', load: 2, full: false, hosts: ['busy', 'busy', 'other'] },
    { case: 'load above the threshold', load: 2.01, full: true, hosts: ['other'] },
    { case: 'load unknown', load: undefined, full: false, hosts: ['busy', 'busy', 'other'] },
  ])('$case: full = $full', ({ load, full, hosts }) => {
    const s = new Scheduler([job('a', 10), job('b', 10), job('c', 10)], [loaded('busy', 2, 2), host('other', 1)]);
    expect(s.setHostLoad('busy', load)).toBe(full);
    expect(s.fullHosts()).toEqual(full ? ['busy'] : []);
    expect(s.nextAssignments().map((a) => a.host)).toEqual(hosts);
  });

  it('ignores the load of a host without maxLoad', () => {
    const s = new Scheduler([job('a', 10)], [host('h', 1)]);
    expect(s.setHostLoad('h', 99)).toBe(false);
    expect(s.nextAssignments()).toEqual([{ jobId: 'a', host: 'h' }]);
  });

  it('a full host keeps its running builds and its jobs: they wait, and start once the load drops', () => {
    const s = new Scheduler([job('a', 10), job('b', 10), job('c', 10, ['a'])], [loaded('only', 2, 4)]);
    s.started('a', 'only');
    expect(s.setHostLoad('only', 6.5)).toBe(true);
    expect(s.nextAssignments()).toEqual([]);
    expect(() => s.started('b', 'only')).toThrow(/above its maxLoad/);
    // a running build is not a stall: the caller waits for it
    expect(s.waitingForLoad()).toBe(false);
    const update = s.finished('a', 'ok');
    expect(update.unschedulable).toEqual([]);
    expect(s.ready()).toEqual(['b', 'c']);
    // nothing runs, work is ready, every host is full: the caller must wait for the load
    expect(s.waitingForLoad()).toBe(true);
    expect(s.isDone()).toBe(false);
    expect(s.status('b')).toBe('ready');
    expect(s.setHostLoad('only', 3.9)).toBe(false);
    expect(s.waitingForLoad()).toBe(false);
    expect(s.nextAssignments().map((a) => a.jobId).sort()).toEqual(['b', 'c']);
  });

  it('work goes to the hosts that are not full, in the host rule order, and a lost build returns to the queue', () => {
    const s = new Scheduler(
      [job('j1', 10), job('j2', 10), job('j3', 10), job('j4', 10)],
      [loaded('big', 4, 8), loaded('small', 1, 1), host('plain', 1)],
    );
    s.setHostLoad('big', 9);
    s.setHostLoad('small', 0.2);
    const first = s.nextAssignments();
    expect(first.map((a) => a.host).sort()).toEqual(['plain', 'small']);
    for (const a of first) s.started(a.jobId, a.host);
    s.finished(first[0]!.jobId, 'lost');
    expect(s.status(first[0]!.jobId)).toBe('ready');
    s.setHostLoad('big', 1);
    expect(s.nextAssignments().map((a) => a.host)).toEqual(['big', 'big', 'big']);
  });

  it('a full host is not a down host: marking it down still makes its jobs unschedulable', () => {
    const s = new Scheduler([job('a', 10, [], ['special'])], [{ ...loaded('h', 1, 1), labels: ['special'] }, host('o', 1)]);
    s.setHostLoad('h', 5);
    expect(s.unschedulable()).toEqual([]);
    expect(s.waitingForLoad()).toBe(true);
    expect(s.setHostUp('h', false).unschedulable).toEqual(['a']);
    expect(s.waitingForLoad()).toBe(false);
  });

  it('refuses an invalid maxLoad or load', () => {
    expect(() => new Scheduler([], [loaded('h', 1, 0)])).toThrow(/invalid maxLoad/);
    expect(() => new Scheduler([], [loaded('h', 1, Number.NaN)])).toThrow(/invalid maxLoad/);
    const s = new Scheduler([], [loaded('h', 1, 1)]);
    expect(() => s.setHostLoad('h', -1)).toThrow(/invalid load/);
    expect(() => s.setHostLoad('nope', 1)).toThrow(/unknown host/);
  });
});
