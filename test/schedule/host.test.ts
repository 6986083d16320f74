import { describe, expect, it } from 'vitest';
import { host } from '../helpers/schedule.js';
import { pickHost, type ScheduleHost } from '../../src/schedule/index.js';


interface Case {
  name: string;
  hosts: ScheduleHost[];
  running: Record<string, number>;
  labels?: string[];
  expected: string | undefined;
}

const cases: Case[] = [
  { name: 'no hosts', hosts: [], running: {}, expected: undefined },
  { name: 'single idle host', hosts: [host('a', 2)], running: {}, expected: 'a' },
  { name: 'missing running entry counts as 0', hosts: [host('a', 1), host('b', 2)], running: { a: 0 }, expected: 'b' },
  { name: 'full host skipped', hosts: [host('a', 4), host('b', 1)], running: { a: 4 }, expected: 'b' },
  { name: 'all hosts full', hosts: [host('a', 1), host('b', 2)], running: { a: 1, b: 2 }, expected: undefined },
  { name: 'over-committed host (running > power) skipped', hosts: [host('a', 2), host('b', 1)], running: { a: 3 }, expected: 'b' },
  { name: 'down host skipped', hosts: [host('a', 8, ['x86_64'], false), host('b', 1)], running: {}, expected: 'b' },
  { name: 'all hosts down', hosts: [host('a', 8, ['x86_64'], false)], running: {}, expected: undefined },
  // floor(running/power) is 0 on every host with a free slot: all of them are in the
  // minimal range, and the most free slots wins, not the lowest running/power ratio.
  {
    name: 'minimal floor range: most free slots wins over lowest load ratio',
    hosts: [host('a', 2), host('b', 8)],
    running: { a: 0, b: 5 },
    expected: 'b',
  },
  {
    name: 'minimal floor range: load 2/3 vs 1/4 picks the 3 free slots',
    hosts: [host('e', 3), host('f', 4)],
    running: { e: 2, f: 1 },
    expected: 'f',
  },
  { name: 'equal free slots: host order (busy big host first)', hosts: [host('c', 8), host('d', 1)], running: { c: 7 }, expected: 'c' },
  { name: 'equal free slots: host order (idle small host first)', hosts: [host('d', 1), host('c', 8)], running: { c: 7 }, expected: 'd' },
  {
    name: 'full hosts (floor 1) never chosen even when others are busier by ratio',
    hosts: [host('a', 1), host('b', 4), host('c', 2)],
    running: { a: 1, b: 3, c: 1 },
    expected: 'b',
  },
  { name: 'powers 1,2,4,8 idle: the 8', hosts: [host('p1', 1), host('p2', 2), host('p4', 4), host('p8', 8)], running: {}, expected: 'p8' },
  {
    name: 'powers 1,2,4,8 with p8 at 6: p4 has more free slots',
    hosts: [host('p1', 1), host('p2', 2), host('p4', 4), host('p8', 8)],
    running: { p8: 6 },
    expected: 'p4',
  },
  {
    name: 'labels: only the host with every label',
    hosts: [host('big', 8, ['x86_64']), host('arm', 1, ['aarch64', 'linux'])],
    running: {},
    labels: ['aarch64', 'linux'],
    expected: 'arm',
  },
  {
    name: 'labels: a host with only some of the labels is not eligible',
    hosts: [host('big', 8, ['aarch64']), host('arm', 2, ['aarch64', 'linux'])],
    running: { arm: 2 },
    labels: ['aarch64', 'linux'],
    expected: undefined,
  },
  {
    name: 'no labels required: any host',
    hosts: [host('a', 1, []), host('b', 2, ['gpu'])],
    running: {},
    labels: [],
    expected: 'b',
  },
  {
    name: 'labels: eligible host down',
    hosts: [host('arm', 4, ['aarch64'], false), host('x', 4)],
    running: {},
    labels: ['aarch64'],
    expected: undefined,
  },
];

describe('pickHost (portbuild checkmachines rule)', () => {
  it.each(cases)('$name', ({ hosts, running, labels, expected }) => {
    const job = labels === undefined ? {} : { labels };
    expect(pickHost(hosts, running, job)?.name).toBe(expected);
    expect(pickHost(hosts, new Map(Object.entries(running)), job)?.name).toBe(expected);
  });
});
