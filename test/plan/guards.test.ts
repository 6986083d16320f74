import { describe, expect, it } from 'vitest';
import { checkGuards, describeViolation } from '../../src/plan/guards.js';
import type { PlanAction } from '../../src/plan/types.js';

const build = (name: string): PlanAction => ({ type: 'build', package: name, packages: [name], version: '1-1', repo: 'main', reason: 'new', dependsOn: [], fingerprint: 'f' });
const remove = (name: string, repo = 'main'): PlanAction => ({ type: 'remove', package: name, version: '1-1', repo, reason: 'not-in-source' });
const skip = (name: string): PlanAction => ({ type: 'skip', package: name, reason: 'dud', blocks: 0 });
const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

describe('checkGuards', () => {
  const cases: { name: string; actions: PlanAction[]; sizes: Record<string, number>; guards: { maxBuilds: number | null; maxRemovePercent: number }; expected: string[] }[] = [
    { name: 'at the build limit', actions: many(3, (i) => build(`p${i}`)), sizes: {}, guards: { maxBuilds: 3, maxRemovePercent: 50 }, expected: [] },
    { name: 'over the build limit (skips do not count)', actions: [...many(4, (i) => build(`p${i}`)), skip('x')], sizes: {}, guards: { maxBuilds: 3, maxRemovePercent: 50 }, expected: ['4 builds, more than guards.maxBuilds 3'] },
    { name: 'no build limit', actions: many(900, (i) => build(`p${i}`)), sizes: {}, guards: { maxBuilds: null, maxRemovePercent: 50 }, expected: [] },
    { name: 'half a repo removed is at the limit', actions: [remove('a'), remove('b')], sizes: { main: 4 }, guards: { maxBuilds: null, maxRemovePercent: 50 }, expected: [] },
    {
      name: 'more than half removed, per repo',
      actions: [remove('a'), remove('b'), remove('c'), remove('d', 'extra')],
      sizes: { main: 4, extra: 10 },
      guards: { maxBuilds: null, maxRemovePercent: 50 },
      expected: ['removes 3 of the 4 packages of repo main (75%), more than guards.maxRemovePercent 50%'],
    },
    { name: 'a limit of 0 refuses any removal', actions: [remove('a')], sizes: { main: 300 }, guards: { maxBuilds: null, maxRemovePercent: 0 }, expected: ['removes 1 of the 300 packages of repo main (0.3%), more than guards.maxRemovePercent 0%'] },
    { name: 'a limit of 100 allows emptying a repo', actions: [remove('a')], sizes: { main: 1 }, guards: { maxBuilds: null, maxRemovePercent: 100 }, expected: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(checkGuards(c.actions, new Map(Object.entries(c.sizes)), c.guards).map(describeViolation)).toEqual(c.expected);
    });
  }
});
