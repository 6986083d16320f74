import { describe, expect, it } from 'vitest';
import type { FingerprintedRecipe } from '../../src/model/fingerprint.js';
import type { InvalidRecipe, Recipe, RecipeId } from '../../src/model/types.js';
import type { ObservedBranch, RecipeHistory } from '../../src/observe/types.js';
import { computeBranchPlan, recipeDiagnostics } from '../../src/plan/computeBranchPlan.js';
import { hasChanges, type BranchPlan, type BuildAction, type PlanAction, type SkipAction } from '../../src/plan/types.js';
import {
  fingerprintOf,
  fingerprintsOf,
  graphOf,
  history,
  invalidRecipe,
  observed,
  recipe,
  repoEntry,
  type FingerprintOptions,
} from '../helpers/model.js';

const HOSTS = [{ name: 'local', power: 2, labels: ['x86_64'], up: true }];

interface Scenario {
  readonly recipes: readonly Recipe[];
  readonly invalid?: readonly InvalidRecipe[];
  readonly duds?: readonly { package: string; reason: string }[];
  readonly repos?: readonly { name: string; packages: readonly string[]; prune: boolean }[];
  readonly observed?: ObservedBranch;
  readonly retryFailed?: boolean;
  readonly fingerprintOptions?: FingerprintOptions;
}

function plan(s: Scenario): BranchPlan {
  const graph = graphOf(s.recipes, (s.invalid ?? []).map((r) => r.id));
  return computeBranchPlan({
    branch: { name: 'main', duds: s.duds ?? [], repos: s.repos ?? [{ name: 'main', packages: ['*'], prune: true }] },
    graph,
    invalid: s.invalid ?? [],
    fingerprints: fingerprintsOf(graph, s.fingerprintOptions),
    observed: s.observed ?? observed({}),
    hosts: HOSTS,
    ...(s.retryFailed !== undefined ? { retryFailed: s.retryFailed } : {}),
  });
}

/** `type package reason[: detail]` per action, a compact view for tables. */
function summary(p: BranchPlan): string[] {
  return p.actions.map((a) => {
    const detail = a.type !== 'remove' && a.detail !== undefined ? `: ${a.detail}` : '';
    const blocks = a.type === 'skip' && a.blocks > 0 ? ` (blocks ${a.blocks})` : '';
    return `${a.type} ${a.package} ${a.reason}${detail}${blocks}`;
  });
}

function action(p: BranchPlan, id: string): PlanAction {
  const found = p.actions.find((a) => a.package === id);
  if (found === undefined) throw new Error(`no action for ${id}`);
  return found;
}

/** libc <- zlib <- libpng, zlib providing libz.so; app depends on the virtual name. */
function tree(overrides: Partial<Record<'libc' | 'zlib' | 'libpng' | 'app', Parameters<typeof recipe>[1]>> = {}): Recipe[] {
  return [
    recipe('libc', { version: '2.40', ...overrides.libc }),
    recipe('zlib', { version: '1.3.1', depends: ['libc'], provides: ['libz.so'], ...overrides.zlib }),
    recipe('libpng', { version: '1.6.44', depends: ['zlib'], ...overrides.libpng }),
    recipe('app', { version: '1.0', depends: ['libz.so'], ...overrides.app }),
  ];
}

/**
 * The state after building `recipes` (all published in repo main at their
 * fingerprint, each with a ledger record holding its inputs).
 */
function builtState(recipes: readonly Recipe[], options?: FingerprintOptions): { observed: ObservedBranch; fingerprints: ReadonlyMap<RecipeId, FingerprintedRecipe> } {
  const fingerprints = fingerprintsOf(graphOf(recipes), options);
  const entries = recipes.map((r) => repoEntry(r.name, `${r.version.version}-${r.version.release}`, fingerprintOf(fingerprints, r.id).fingerprint));
  const histories: Record<string, RecipeHistory> = {};
  for (const r of recipes) {
    const f = fingerprintOf(fingerprints, r.id);
    histories[r.id] = history({ last: { fingerprint: f.fingerprint, version: `${r.version.version}-1`, status: 'built', at: '2026-01-01T00:00:00.000Z' }, built: [f], lastSuccessSeconds: 10 });
  }
  return { observed: observed({ main: entries }, histories), fingerprints };
}

describe('computeBranchPlan: build reasons', () => {
  it('builds everything as new into an empty repo, in dependency order with dependsOn', () => {
    const p = plan({ recipes: tree() });
    expect(summary(p)).toEqual(['build libc new', 'build zlib new', 'build app new', 'build libpng new']);
    expect(action(p, 'app')).toMatchObject({ type: 'build', version: '1.0-1', repo: 'main', dependsOn: ['zlib'], packages: ['app'] });
    expect(action(p, 'libpng')).toMatchObject({ dependsOn: ['zlib'] });
    expect(p.upToDate).toBe(0);
    // 4 builds of 60 s, chain of 3: libc, zlib, then app and libpng side by side on power 2
    expect(p.estimate).toEqual({ makespanSeconds: 180, lowerBoundSeconds: 180 });
    expect(hasChanges({ formatVersion: 1, branches: [p] })).toBe(true);
  });

  it('counts packages published at the desired fingerprint as up to date, with no action', () => {
    const state = builtState(tree());
    const p = plan({ recipes: tree(), observed: state.observed });
    expect(p.actions).toEqual([]);
    expect(p.upToDate).toBe(4);
    expect(p.estimate).toEqual({ makespanSeconds: 0, lowerBoundSeconds: 0 });
    expect(hasChanges({ formatVersion: 1, branches: [p] })).toBe(false);
  });

  interface ReasonCase {
    readonly name: string;
    readonly after: Recipe[];
    readonly options?: FingerprintOptions;
    readonly expected: string[];
    readonly upToDate: number;
  }

  const reasonCases: ReasonCase[] = [
    {
      name: 'version bump: version-changed "old -> new"; dependents dependency-changed naming it',
      after: tree({ zlib: { version: '1.3.2', files: { 'recipe.yaml': 'bumped', 'build.sh': 'script-of-zlib' } } }),
      expected: ['build zlib version-changed: 1.3.1-1 -> 1.3.2-1', 'build app dependency-changed: zlib', 'build libpng dependency-changed: zlib'],
      upToDate: 1,
    },
    {
      name: 'an edited build script: inputs-changed naming the file; dependents dependency-changed',
      after: tree({ zlib: { files: { 'recipe.yaml': 'yaml-of-zlib', 'build.sh': 'edited' } } }),
      expected: ['build zlib inputs-changed: build.sh', 'build app dependency-changed: zlib', 'build libpng dependency-changed: zlib'],
      upToDate: 1,
    },
    {
      name: 'an added patch: inputs-changed "<file> added"',
      after: tree({ libpng: { files: { 'recipe.yaml': 'yaml-of-libpng', 'build.sh': 'script-of-libpng', 'fix.patch': 'p' } } }),
      expected: ['build libpng inputs-changed: fix.patch added'],
      upToDate: 3,
    },
    {
      name: 'a changed prerequisite: prerequisite-changed for every package, naming it and its digests',
      after: tree(),
      options: { prerequisites: { bindist: 'b'.repeat(64) } },
      expected: ['build libc prerequisite-changed: bindist aaaaaaaaaaaa -> bbbbbbbbbbbb', 'build zlib prerequisite-changed: bindist aaaaaaaaaaaa -> bbbbbbbbbbbb', 'build app prerequisite-changed: bindist aaaaaaaaaaaa -> bbbbbbbbbbbb', 'build libpng prerequisite-changed: bindist aaaaaaaaaaaa -> bbbbbbbbbbbb'],
      upToDate: 0,
    },
    {
      name: 'a changed pipeline: pipeline-changed for every package',
      after: tree(),
      options: { pipelineDigest: 'q'.repeat(64), prerequisites: { bindist: 'a'.repeat(64) } },
      expected: ['build libc pipeline-changed: pipeline definition changed', 'build zlib pipeline-changed: pipeline definition changed', 'build app pipeline-changed: pipeline definition changed', 'build libpng pipeline-changed: pipeline definition changed'],
      upToDate: 0,
    },
  ];

  it.each(reasonCases)('$name', (c) => {
    const state = builtState(tree(), { prerequisites: { bindist: 'a'.repeat(64) } });
    const p = plan({ recipes: c.after, observed: state.observed, fingerprintOptions: c.options ?? { prerequisites: { bindist: 'a'.repeat(64) } } });
    expect(summary(p)).toEqual(c.expected);
    expect(p.upToDate).toBe(c.upToDate);
  });

  it('lists every changed input in `changes`, the first one giving the reason', () => {
    const state = builtState(tree());
    const after = tree({ zlib: { version: '1.3.2', files: { 'recipe.yaml': 'bumped', 'build.sh': 'edited' } } });
    const zlib = action(plan({ recipes: after, observed: state.observed }), 'zlib') as BuildAction;
    expect(zlib.reason).toBe('version-changed');
    expect(zlib.changes).toEqual([
      { kind: 'version', detail: '1.3.1-1 -> 1.3.2-1' },
      { kind: 'recipe-file', name: 'build.sh', detail: 'changed' },
      { kind: 'recipe-file', name: 'recipe.yaml', detail: 'changed' },
    ]);
    expect(zlib.fingerprint).toBe(fingerprintOf(fingerprintsOf(graphOf(after)), 'zlib').fingerprint);
  });

  it('says inputs-changed without naming an input when the ledger does not hold the published inputs', () => {
    const state = builtState(tree());
    const withoutLedger = observed({ main: [...state.observed.repos.get('main')!.entries.values()] });
    const p = plan({ recipes: tree({ zlib: { files: { 'recipe.yaml': 'yaml-of-zlib', 'build.sh': 'edited' } } }), observed: withoutLedger });
    expect(action(p, 'zlib')).toMatchObject({ reason: 'inputs-changed', detail: 'the published fingerprint differs, and the inputs it was built from are not in the ledger' });
    expect(action(p, 'zlib')).not.toHaveProperty('changes');
  });

  it('adopts packages published by another tool (no fingerprint) at the desired version, and builds those at another version', () => {
    const adopted = observed({ main: [repoEntry('libc', '2.40-1', ''), repoEntry('zlib', '1.3.1-1', ''), repoEntry('libpng', '1.6.43-1', '')] });
    const p = plan({ recipes: tree(), observed: adopted });
    expect(summary(p)).toEqual(['build app new', 'build libpng version-changed: 1.6.43-1 -> 1.6.44-1']);
    expect(p.upToDate).toBe(2);
  });

  it('still says inputs-changed for a package buildfleet published at the desired version with another fingerprint', () => {
    const p = plan({ recipes: tree(), observed: observed({ main: [repoEntry('libc', '2.40-1', 'e'.repeat(64))] }) });
    expect(action(p, 'libc')).toMatchObject({ type: 'build', reason: 'inputs-changed' });
  });

  it('skips every stale package with no-eligible-host when no host can build for the branch, keeping the up-to-date ones', () => {
    const state = builtState(tree());
    const graph = graphOf(tree({ zlib: { version: '1.3.2' } }));
    const p = computeBranchPlan({
      branch: { name: 'main', duds: [], repos: [{ name: 'main', packages: ['*'], prune: true }] },
      graph,
      invalid: [],
      fingerprints: fingerprintsOf(graph),
      observed: state.observed,
      hosts: [],
      noEligibleHost: 'no host has the commands pipeline makepkg requires (local lacks makepkg)',
    });
    expect(summary(p)).toEqual([
      'skip app no-eligible-host: no host has the commands pipeline makepkg requires (local lacks makepkg)',
      'skip libpng no-eligible-host: no host has the commands pipeline makepkg requires (local lacks makepkg)',
      'skip zlib no-eligible-host: no host has the commands pipeline makepkg requires (local lacks makepkg) (blocks 2)',
    ]);
    expect(p.upToDate).toBe(1);
    expect(hasChanges({ formatVersion: 1, branches: [p] })).toBe(false);
  });

  it('still says version-changed without the ledger', () => {
    const state = builtState(tree());
    const withoutLedger = observed({ main: [...state.observed.repos.get('main')!.entries.values()] });
    const p = plan({ recipes: tree({ libc: { version: '2.41' } }), observed: withoutLedger });
    expect(action(p, 'libc')).toMatchObject({ reason: 'version-changed', detail: '2.40-1 -> 2.41-1' });
  });

  it('uses the durations of the last successful builds for the estimate', () => {
    const state = builtState(tree());
    const p = plan({ recipes: tree({ libc: { version: '2.41' } }), observed: state.observed });
    // 4 rebuilds of 10 s each (ledger), chain libc -> zlib -> {app, libpng}
    expect(p.estimate).toEqual({ makespanSeconds: 30, lowerBoundSeconds: 30 });
  });
});

describe('computeBranchPlan: failures and retries', () => {
  const failedLast = (fingerprint: string, status: 'failed' | 'aborted' | 'lost' = 'failed'): RecipeHistory =>
    history({ last: { fingerprint, version: '1.3.1-1', status, at: '2026-02-03T04:05:06.000Z', phase: 'build', host: 'builder1' } });

  it('skips a package that failed with the same fingerprint (failed-unchanged), and its dependents as dependency-failed', () => {
    const fp = fingerprintOf(fingerprintsOf(graphOf(tree())), 'zlib').fingerprint;
    const p = plan({ recipes: tree(), observed: observed({}, { zlib: failedLast(fp) }) });
    expect(summary(p)).toEqual([
      'build libc new',
      'skip app dependency-failed: zlib',
      'skip libpng dependency-failed: zlib',
      'skip zlib failed-unchanged: failed in step build at 2026-02-03T04:05:06.000Z; unchanged since (use --retry-failed to try again) (blocks 2)',
    ]);
    expect(hasChanges({ formatVersion: 1, branches: [p] })).toBe(true);
  });

  it('plans the failed package again as a retry with --retry-failed', () => {
    const fp = fingerprintOf(fingerprintsOf(graphOf(tree())), 'zlib').fingerprint;
    const p = plan({ recipes: tree(), observed: observed({}, { zlib: failedLast(fp) }), retryFailed: true });
    expect(summary(p)).toEqual(['build libc new', 'build zlib retry: failed last time; retrying as asked (--retry-failed)', 'build app new', 'build libpng new']);
  });

  it('builds a package that failed with another fingerprint (something changed since)', () => {
    const p = plan({ recipes: tree(), observed: observed({}, { zlib: failedLast('0'.repeat(64)) }) });
    expect(action(p, 'zlib')).toMatchObject({ type: 'build', reason: 'new' });
  });

  it.each([
    ['aborted', 'interrupted last time'],
    ['lost', 'lost to a host fault last time on builder1'],
  ] as const)('retries a build %s last time without being asked', (status, detail) => {
    const fp = fingerprintOf(fingerprintsOf(graphOf(tree())), 'zlib').fingerprint;
    const p = plan({ recipes: tree(), observed: observed({}, { zlib: failedLast(fp, status) }) });
    expect(action(p, 'zlib')).toMatchObject({ type: 'build', reason: 'retry', detail });
  });

  it('skips a fingerprint rejected in review, with the reviewer\'s reason', () => {
    const fp = fingerprintOf(fingerprintsOf(graphOf(tree())), 'libpng').fingerprint;
    const p = plan({ recipes: tree(), observed: observed({}, { libpng: history({ rejected: { [fp]: 'wrong soname' } }) }) });
    expect(action(p, 'libpng')).toEqual({ type: 'skip', package: 'libpng', version: '1.6.44-1', reason: 'rejected', detail: 'wrong soname', blocks: 0 });
  });
});

describe('computeBranchPlan: skips', () => {
  it('skips a dud with its reason and everything above it; blocks counts distinct packages on a diamond', () => {
    // d <- b, d <- c, {b, c} <- a; a <- top; e stands aside
    const recipes = [
      recipe('d'),
      recipe('b', { depends: ['d'] }),
      recipe('c', { depends: ['d'] }),
      recipe('a', { depends: ['b', 'c'] }),
      recipe('top', { depends: ['a'] }),
      recipe('e'),
    ];
    const p = plan({ recipes, duds: [{ package: 'd', reason: 'needs Motif' }] });
    expect(summary(p)).toEqual([
      'build e new',
      'skip a dependency-skipped: b (blocks 1)',
      'skip b dependency-skipped: d (blocks 2)',
      'skip c dependency-skipped: d (blocks 2)',
      'skip d dud: needs Motif (blocks 4)',
      'skip top dependency-skipped: a',
    ]);
    expect(action(p, 'd')).toEqual({ type: 'skip', package: 'd', version: '1.0-1', reason: 'dud', detail: 'needs Motif', blocks: 4 });
  });

  it('is not a change when everything left is skipped', () => {
    const p = plan({ recipes: [recipe('motif'), recipe('xdemo', { depends: ['motif'] })], duds: [{ package: 'motif', reason: 'licence' }] });
    expect(p.actions.map((a) => a.type)).toEqual(['skip', 'skip']);
    expect(hasChanges({ formatVersion: 1, branches: [p] })).toBe(false);
  });

  it('skips a package with an unprovided dependency as unresolvable, naming it; the rest of the branch builds', () => {
    const recipes = tree({ zlib: { depends: ['libc', 'libfoo>=2'] } });
    const p = plan({ recipes });
    expect(summary(p)).toEqual([
      'build libc new',
      'skip app dependency-skipped: zlib',
      'skip libpng dependency-skipped: zlib',
      'skip zlib unresolvable: nothing provides libfoo (blocks 2)',
    ]);
  });

  it('skips an invalid recipe with its diagnostic and its dependents; the rest builds', () => {
    const p = plan({ recipes: tree().filter((r) => r.id !== 'zlib').map((r) => (r.id === 'app' ? recipe('app', { depends: ['zlib'] }) : r)), invalid: [invalidRecipe('zlib', 'recipe name "zlb" does not match its directory "zlib"')] });
    expect(summary(p)).toEqual([
      'build libc new',
      'skip app dependency-skipped: zlib',
      'skip libpng dependency-skipped: zlib',
      'skip zlib invalid-recipe: recipe name "zlb" does not match its directory "zlib" (blocks 2)',
    ]);
    expect(action(p, 'zlib')).not.toHaveProperty('version');
  });

  it('skips every package on a cycle with the cycle path, and what depends on it', () => {
    const recipes = [recipe('a', { depends: ['b'] }), recipe('b', { depends: ['c'] }), recipe('c', { depends: ['a'] }), recipe('top', { depends: ['c'] }), recipe('ok')];
    expect(summary(plan({ recipes }))).toEqual([
      'build ok new',
      'skip a dependency-cycle: a -> b -> c -> a (blocks 3)',
      'skip b dependency-cycle: a -> b -> c -> a (blocks 3)',
      'skip c dependency-cycle: a -> b -> c -> a (blocks 3)',
      'skip top dependency-skipped: c',
    ]);
  });

  it('skips a package no repo takes (no-repo)', () => {
    const p = plan({ recipes: tree(), repos: [{ name: 'libs', packages: ['lib*', 'zlib'], prune: false }] });
    expect(summary(p)).toEqual(['build libc new', 'build zlib new', 'build libpng new', 'skip app no-repo: no repo of branch main takes app']);
    expect(action(p, 'libpng')).toMatchObject({ repo: 'libs' });
  });

  it('routes packages to the first repo whose globs take them', () => {
    const p = plan({ recipes: tree(), repos: [{ name: 'libs', packages: ['lib*'], prune: false }, { name: 'rest', packages: ['*'], prune: false }] });
    expect(p.actions.map((a) => `${a.package}:${a.type === 'skip' ? '' : a.repo}`)).toEqual(['libc:libs', 'zlib:rest', 'app:rest', 'libpng:libs']);
  });

  it('keeps the first skip reason of a package that is both a dud and unresolvable (dud wins)', () => {
    const p = plan({ recipes: [recipe('x', { depends: ['ghost'] })], duds: [{ package: 'x', reason: 'broken upstream' }] });
    expect((action(p, 'x') as SkipAction).reason).toBe('dud');
  });
});

describe('computeBranchPlan: removals', () => {
  const stale = [repoEntry('oldpkg', '0.9-1', 'e'.repeat(64)), repoEntry('zlib', '1.3-1', 'f'.repeat(64))];

  it('removes published packages no longer in the source when the repo prunes', () => {
    const p = plan({ recipes: tree(), observed: observed({ main: stale }) });
    expect(p.actions.filter((a) => a.type === 'remove')).toEqual([{ type: 'remove', package: 'oldpkg', version: '0.9-1', repo: 'main', reason: 'not-in-source' }]);
    expect(action(p, 'zlib')).toMatchObject({ reason: 'version-changed', detail: '1.3-1 -> 1.3.1-1' });
  });

  it('keeps them when the repo does not prune', () => {
    const p = plan({ recipes: tree(), repos: [{ name: 'main', packages: ['*'], prune: false }], observed: observed({ main: stale }) });
    expect(p.actions.filter((a) => a.type === 'remove')).toEqual([]);
  });

  it('never removes the package of an invalid recipe (it is still in the source)', () => {
    const p = plan({ recipes: [recipe('libc')], invalid: [invalidRecipe('broken')], observed: observed({ main: [repoEntry('broken', '1.0-1', 'e'.repeat(64))] }) });
    expect(p.actions.filter((a) => a.type === 'remove')).toEqual([]);
  });

  it('removals alone are changes', () => {
    const state = builtState(tree());
    const entries = [...state.observed.repos.get('main')!.entries.values(), repoEntry('oldpkg', '0.9-1', 'e'.repeat(64))];
    const p = plan({ recipes: tree(), observed: observed({ main: entries }, Object.fromEntries(state.observed.history)) });
    expect(summary(p)).toEqual(['remove oldpkg not-in-source']);
    expect(p.upToDate).toBe(4);
    expect(hasChanges({ formatVersion: 1, branches: [p] })).toBe(true);
  });
});

describe('recipeDiagnostics', () => {
  it('reports invalid recipes, cycles with their files, unresolved names, provider conflicts and unknown duds', () => {
    const recipes = [
      recipe('a', { depends: ['b'] }),
      recipe('b', { depends: ['a'] }),
      recipe('app', { depends: ['libfoo>=2', 'awk'] }),
      recipe('gawk', { provides: ['awk'] }),
      recipe('mawk', { provides: ['awk'] }),
    ];
    const bad = invalidRecipe('broken', 'recipe name "brokn" does not match its directory "broken"');
    const graph = graphOf(recipes, ['broken']);
    const diagnostics = recipeDiagnostics({ graph, invalid: [bad], duds: [{ package: 'nosuch', file: 'branches/main.yaml', position: { line: 9, col: 14 } }, { package: 'broken', file: 'branches/main.yaml', position: { line: 11, col: 14 } }] });
    expect(diagnostics).toEqual([
      ...bad.diagnostics,
      { severity: 'error', file: 'recipes/a/recipe.yaml', message: 'dependency cycle: a -> b -> a', hint: 'break the cycle in one of: recipes/a/recipe.yaml, recipes/b/recipe.yaml' },
      { severity: 'warning', file: 'recipes/app/recipe.yaml', message: 'app depends on libfoo, which no recipe provides; it will be skipped', hint: 'add a recipe that provides it, or fix the dependency name' },
      { severity: 'warning', file: 'recipes/gawk/recipe.yaml', message: '"awk" is provided by several recipes (gawk, mawk); gawk is used', hint: 'depend on the package you mean by its own name' },
      { severity: 'warning', file: 'branches/main.yaml', line: 9, col: 14, message: 'dud "nosuch" names no package of the source', hint: 'remove the entry if the package is gone, or correct its name' },
    ]);
  });
});

describe('computeBranchPlan: review gate', () => {
  const manual = [
    { name: 'reviewed', packages: ['zlib'], prune: false, review: 'manual' as const },
    { name: 'main', packages: ['*'], prune: false, review: 'auto' as const },
  ];

  it('stages builds of a manual repo and every build against them', () => {
    const base = builtState(tree(), { rebuild: 'version' });
    const recipes = tree({ zlib: { version: '1.3.2' } });
    const p = plan({ recipes, repos: manual, observed: base.observed, fingerprintOptions: { rebuild: 'version' } });
    const review = (id: string): string | undefined => (action(p, id) as BuildAction).review;
    expect(review('zlib')).toBe('repo reviewed is reviewed by hand');
    expect(review('app')).toBe('built against zlib 1.3.2-1, which goes to review');
    expect(review('libpng')).toBe('built against zlib 1.3.2-1, which goes to review');
    expect(p.actions.some((a) => a.package === 'libc')).toBe(false);
  });

  it('skips a staged fingerprint as awaiting-review (not a change), builds a changed one, and stages builds against it', () => {
    const recipes = tree();
    const fingerprints = fingerprintsOf(graphOf(recipes));
    const zlib = fingerprintOf(fingerprints, 'zlib').fingerprint;
    const libc = fingerprintOf(fingerprints, 'libc').fingerprint;
    const base = observed({ main: [repoEntry('libc', '2.40-1', libc)] });
    const staged = new Map([['zlib', { recipe: 'zlib', version: '1.3.1-1', fingerprint: zlib, repo: 'reviewed', stagedAt: '2026-01-01T00:00:00.000Z', entries: [] }]]);
    const p = plan({ recipes, repos: manual, observed: { ...base, staged } });
    expect(summary(p)).toEqual([
      'build app new',
      'build libpng new',
      'skip zlib awaiting-review: 1.3.1-1 staged for repo reviewed at 2026-01-01T00:00:00.000Z; see `buildfleet review show zlib`',
    ]);
    expect((action(p, 'app') as BuildAction).review).toBe('built against zlib 1.3.1-1, which awaits review');
    expect(hasChanges({ formatVersion: 1, branches: [{ ...p, actions: p.actions.filter((a) => a.type === 'skip') }] })).toBe(false);
    // Another fingerprint staged (the recipe changed since): built again.
    const changed = plan({ recipes, repos: manual, observed: { ...base, staged: new Map([['zlib', { ...staged.get('zlib')!, fingerprint: 'f'.repeat(64) }]]) } });
    expect(action(changed, 'zlib')).toMatchObject({ type: 'build', reason: 'new', review: 'repo reviewed is reviewed by hand' });
  });
});
