import { describe, expect, it } from 'vitest';
import { buildDependencyGraph, parseDependency } from '../../src/model/graph.js';
import type { PackageName, Recipe, RecipeId } from '../../src/model/types.js';
import { computeBranchPlan } from '../../src/plan/computeBranchPlan.js';
import type { PlanAction } from '../../src/plan/types.js';
import { versionComparator } from '../../src/run/planBranches.js';
import { compareAlpmVersions } from '../../src/version/alpm.js';
import { fingerprintsOf, observed, recipe, repoEntry } from '../helpers/model.js';

const HOSTS = [{ name: 'local', power: 2, labels: ['x86_64'], up: true }];

function planOf(recipes: readonly Recipe[], options: { external?: boolean; observed?: ReturnType<typeof observed> } = {}): readonly PlanAction[] {
  const graph = buildDependencyGraph({ recipes, invalidIds: [], compareVersions: compareAlpmVersions, ...(options.external === true ? { externalDependencies: true } : {}) });
  return computeBranchPlan({
    branch: { name: 'main', duds: [], repos: [{ name: 'main', packages: ['*'], prune: true }] },
    graph,
    invalid: [],
    fingerprints: fingerprintsOf(graph),
    observed: options.observed ?? observed({}),
    hosts: HOSTS,
    compareVersions: compareAlpmVersions,
  }).actions;
}

const summary = (actions: readonly PlanAction[]): string[] => actions.map((a) => `${a.type} ${a.package} ${a.reason}${'detail' in a && a.detail !== undefined ? `: ${a.detail}` : ''}`);

describe('parseDependency', () => {
  it.each([
    ['zlib', { name: 'zlib' }],
    ['zlib>=1.3', { name: 'zlib', op: '>=', version: '1.3' }],
    ['zlib<=1:1.3-2', { name: 'zlib', op: '<=', version: '1:1.3-2' }],
    ['zlib=1', { name: 'zlib', op: '=', version: '1' }],
    ['zlib>1', { name: 'zlib', op: '>', version: '1' }],
    ['zlib<1', { name: 'zlib', op: '<', version: '1' }],
  ])('%s', (spec, parsed) => expect(parseDependency(spec)).toEqual(parsed));
});

describe('versioned dependencies, checked in pacman\'s version order', () => {
  it('a package at a satisfying version, or a versioned provide, resolves; a wrong version is unresolvable with what there is', () => {
    const actions = planOf([
      recipe('zlib', { version: '1.3.1' }),
      recipe('zlib-ng', { version: '2.2', provides: ['zlib-compat=1.4', 'libz'] }),
      recipe('ok', { depends: ['zlib>=1.3'], buildDepends: ['zlib-compat>1.3'] }),
      recipe('old', { depends: ['zlib<1.3'] }),
      recipe('nover', { depends: ['libz>=1'] }),
      recipe('above', { depends: ['old'] }),
    ]);
    expect(summary(actions)).toEqual([
      'build zlib new',
      'build zlib-ng new',
      'build ok new',
      'skip above dependency-skipped: old',
      'skip nover unresolvable: nothing provides libz>=1 (only libz without a version (provided by zlib-ng))',
      'skip old unresolvable: nothing provides zlib<1.3 (only zlib 1.3.1-1)',
    ]);
    expect(actions.find((a) => a.package === 'ok' && a.type === 'build')).toMatchObject({ dependsOn: ['zlib', 'zlib-ng'] });
  });

  it('with external dependencies (an Arch tree), unknown names and virtual names at other versions come from outside; a tree package at the wrong version does not', () => {
    expect(
      summary(
        planOf(
          [
            recipe('jdk', { version: '26', provides: ['java-runtime=26'] }),
            recipe('app', { depends: ['glibc', 'java-runtime=17'] }),
            recipe('plugin', { depends: ['jdk<20'] }),
          ],
          { external: true },
        ),
      ),
    ).toEqual(['build app new', 'build jdk new', 'skip plugin unresolvable: nothing provides jdk<20 (only jdk 26-1)']);
  });
});

describe('the plan compares versions in the branch order', () => {
  it('names a downgrade, and finds the published version of a split recipe through any of its packages', () => {
    const split: Recipe = { ...recipe('base', { version: '1.10' }), name: 'base-a' as PackageName, packages: ['base-a', 'base-b'] as PackageName[], id: 'base' as RecipeId };
    const actions = planOf([recipe('tool', { version: '1.9' }), split], {
      observed: observed({ main: [repoEntry('tool', '1.10-1', 'x'), repoEntry('base-b', '1.9-1', 'y')] }),
    });
    expect(summary(actions)).toEqual(['build base version-changed: 1.9-1 -> 1.10-1', 'build tool version-changed: 1.10-1 -> 1.9-1 (a downgrade)']);
  });

  it('skips a recipe not for the architecture, and what depends on it', () => {
    const arm: Recipe = { ...recipe('armonly'), notBuilt: { reason: 'not-for-architecture', detail: 'arch is aarch64, not x86_64 or any' } };
    expect(summary(planOf([arm, recipe('app', { depends: ['armonly'] })]))).toEqual([
      'skip app dependency-skipped: armonly',
      'skip armonly not-for-architecture: arch is aarch64, not x86_64 or any',
    ]);
  });
});

describe('the version order a branch is planned with', () => {
  // Only `source` matters to the choice; the rest of a BranchConfig is not read.
  const branchOf = (format: 'recipe' | 'srcinfo' | 'freebsd-index') => ({ source: { kind: 'path', path: 'src', format } }) as unknown as Parameters<typeof versionComparator>[0];

  it('is pkg version -t for a FreeBSD INDEX tree and pacman\'s vercmp otherwise', () => {
    // A port epoch (",1") outranks any version in FreeBSD's order; pacman reads "1.0,1" as a plain version.
    expect(Math.sign(versionComparator(branchOf('freebsd-index'))('1.0,1', '2.0'))).toBe(1);
    expect(Math.sign(versionComparator(branchOf('srcinfo'))('1.0,1', '2.0'))).toBe(-1);
    expect(Math.sign(versionComparator(branchOf('recipe'))('1:1.0', '2.0'))).toBe(1);
  });
});
