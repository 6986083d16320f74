import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/plan/types.js';
import { actionSymbol, renderPlan } from '../../src/report/renderPlan.js';
import { formatSeconds } from '../../src/report/format.js';

const FP = 'c'.repeat(64);

/** Two branches: one with every kind of action, one up to date. */
const plan: Plan = {
  formatVersion: 1,
  branches: [
    {
      name: 'main',
      sourceCommit: '0123456789abcdef0123456789abcdef01234567',
      actions: [
        { type: 'build', package: 'libc', packages: ['libc'], version: '2.40-1', repo: 'main', reason: 'new', dependsOn: [], fingerprint: FP },
        { type: 'build', package: 'zlib', packages: ['zlib'], version: '1.3.1-1', repo: 'main', reason: 'version-changed', detail: '1.3-1 -> 1.3.1-1', dependsOn: ['libc'], fingerprint: FP },
        { type: 'build', package: 'python', packages: ['python', 'python-tests'], version: '3.12.1-1', repo: 'extra', reason: 'dependency-changed', detail: 'zlib', dependsOn: ['zlib'], fingerprint: FP },
        { type: 'skip', package: 'motif', version: '2.3.8-1', reason: 'dud', detail: 'needs Motif | licence', blocks: 3 },
        { type: 'skip', package: 'xdemo', version: '0.9-1', reason: 'dependency-skipped', detail: 'motif', blocks: 1 },
        { type: 'skip', package: 'broken', reason: 'invalid-recipe', detail: 'recipe name "brokn" does not match its directory "broken"', blocks: 0 },
        { type: 'remove', package: 'old|pkg', version: '0.9-1', repo: 'main', reason: 'not-in-source' },
      ],
      upToDate: 120,
      estimate: { makespanSeconds: 812, lowerBoundSeconds: 790 },
    },
    { name: 'stable', actions: [], upToDate: 7, estimate: { makespanSeconds: 0, lowerBoundSeconds: 0 } },
  ],
};

const noChanges: Plan = {
  formatVersion: 1,
  branches: [
    {
      name: 'main',
      actions: [{ type: 'skip', package: 'motif', version: '2.3.8-1', reason: 'dud', detail: 'needs Motif', blocks: 1 }],
      upToDate: 8,
      estimate: { makespanSeconds: 0, lowerBoundSeconds: 0 },
    },
  ],
};

describe('renderPlan text', () => {
  it('prints one line per action, a summary per branch and a total', () => {
    expect(renderPlan(plan, 'text')).toBe(
      [
        'branch main (source 0123456789ab): 3 to build, 1 to remove, 3 skipped, 120 up to date',
        '  + build libc 2.40-1 -> main  (new)',
        '  ~ build zlib 1.3.1-1 -> main  (version-changed: 1.3-1 -> 1.3.1-1)',
        '  ~ build python 3.12.1-1 [python, python-tests] -> extra  (dependency-changed: zlib)',
        '  ! skip  motif 2.3.8-1  (dud: needs Motif | licence; blocks 3 packages)',
        '  ! skip  xdemo 0.9-1  (dependency-skipped: motif; blocks 1 package)',
        '  ! skip  broken  (invalid-recipe: recipe name "brokn" does not match its directory "broken")',
        '  - remove old|pkg 0.9-1 from main  (not-in-source)',
        '  estimate: 13m 32s (lower bound 13m 10s)',
        '',
        'branch stable: 0 to build, 0 to remove, 0 skipped, 7 up to date',
        '',
        'Plan: 3 to build, 1 to remove, 3 skipped, 127 up to date.',
        '',
      ].join('\n'),
    );
  });

  it('says "No changes." when there are only skips', () => {
    expect(renderPlan(noChanges, 'text')).toBe(
      [
        'branch main: 0 to build, 0 to remove, 1 skipped, 8 up to date',
        '  ! skip  motif 2.3.8-1  (dud: needs Motif; blocks 1 package)',
        '',
        'No changes. 0 to build, 0 to remove, 1 skipped, 8 up to date.',
        '',
      ].join('\n'),
    );
  });
});

describe('renderPlan markdown', () => {
  it('prints a summary table and one details table per branch with actions, escaping |', () => {
    expect(renderPlan(plan, 'markdown')).toBe(
      [
        '### buildfleet plan',
        '',
        '**Plan:** 3 to build, 1 to remove, 3 skipped, 127 up to date.',
        '',
        'Source commits: main `0123456789ab`',
        '',
        '| branch | build | remove | skipped | up to date | estimate |',
        '|---|---:|---:|---:|---:|---:|',
        '| main | 3 | 1 | 3 | 120 | 13m 32s |',
        '| stable | 0 | 0 | 0 | 7 | – |',
        '',
        '<details><summary><b>main</b>: 3 to build, 1 to remove, 3 skipped, 120 up to date</summary>',
        '',
        '| | action | package | version | repo | reason | detail |',
        '|---|---|---|---|---|---|---|',
        '| `+` | build | libc | 2.40-1 | main | new |  |',
        '| `~` | build | zlib | 1.3.1-1 | main | version-changed | 1.3-1 -> 1.3.1-1 |',
        '| `~` | build | python | 3.12.1-1 | extra | dependency-changed | zlib |',
        '| `!` | skip | motif | 2.3.8-1 |  | dud | needs Motif \\| licence; blocks 3 |',
        '| `!` | skip | xdemo | 0.9-1 |  | dependency-skipped | motif; blocks 1 |',
        '| `!` | skip | broken |  |  | invalid-recipe | recipe name "brokn" does not match its directory "broken" |',
        '| `-` | remove | old\\|pkg | 0.9-1 | main | not-in-source |  |',
        '',
        '</details>',
        '',
      ].join('\n'),
    );
  });

  it('keeps every table row on one line (a | or a newline in a value would break the table)', () => {
    const tricky: Plan = {
      formatVersion: 1,
      branches: [{ name: 'a<b>', actions: [{ type: 'skip', package: 'p', reason: 'dud', detail: 'line one\nline | two', blocks: 0 }], upToDate: 0, estimate: { makespanSeconds: 0, lowerBoundSeconds: 0 } }],
    };
    const out = renderPlan(tricky, 'markdown');
    expect(out).toContain('| `!` | skip | p |  |  | dud | line one line \\| two |\n');
    expect(out).toContain('<details><summary><b>a&lt;b&gt;</b>:');
    expect(out.startsWith('### buildfleet plan\n\n**No changes.** 0 to build, 0 to remove, 1 skipped, 0 up to date.\n')).toBe(true);
  });
});

describe('renderPlan json', () => {
  it('is the plan document itself, indented, ending in a newline', () => {
    const out = renderPlan(plan, 'json');
    expect(JSON.parse(out)).toEqual(plan);
    expect(out).toBe(`${JSON.stringify(plan, null, 2)}\n`);
  });
});

describe('helpers', () => {
  it.each([
    [0, '0s'],
    [59.4, '59s'],
    [60, '1m 0s'],
    [812, '13m 32s'],
    [3600, '1h 0m 0s'],
    [4000, '1h 6m 40s'],
  ])('formatSeconds(%s) = %s', (s, text) => {
    expect(formatSeconds(s)).toBe(text);
  });

  it('marks new builds +, rebuilds ~, removals - and skips !', () => {
    expect(plan.branches[0]!.actions.map(actionSymbol).join('')).toBe('+~~!!!-');
  });
});
