/**
 * Properties of the planner (plan/computeBranchPlan.ts) over generated
 * branches: recipes with dependencies (cycles, missing and versioned ones,
 * virtual names, split packages), invalid recipes, duds, one or two repos
 * (globs, prune, manual review), and an observed state made of repo entries
 * (current, outdated, foreign, of packages gone from the source) and a real
 * ledger (JSON lines read by observe/ledger.ts's parseLedger).
 *
 * 1. Applied, then planned again, a plan is empty. "Applied" is what reconcile
 *    records: a ledger line per build attempt (the BuildRecord reconcile writes,
 *    `inputs` on success), each successful build's packages published as the
 *    RepoEntry reconcile writes (or staged as a StagedInfo when the build goes
 *    to review), dependents of a failed build never started (no line), and every
 *    `remove` taken out of its repo. Builds end `built` or `failed` (chosen at
 *    random). The second plan has no build and no remove action (hasChanges is
 *    false): everything built is up to date or awaits review, and every failure
 *    is held back as failed-unchanged / dependency-failed.
 *
 * 2. Removing one recipe r from the source, over the same observed state:
 *    - every recipe that does not depend on r (transitively, in the first
 *      plan's graph) gets the same decision: the same build (fingerprint,
 *      version, repo, reason), the same skip reason, or up to date again;
 *    - every recipe that depends on r is skipped (a build or up-to-date package
 *      becomes a skip: unresolvable, dependency-skipped, …; never a build);
 *    - the remove actions are the first plan's, plus r's packages published in
 *      a repo with prune (and no others);
 *    - the plan has no build that the first plan did not have.
 *    Virtual names are provided by one recipe each here (with several
 *    providers, dependents would resolve to another provider and rebuild).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeFingerprints, type FingerprintedRecipe } from '../../src/model/fingerprint.js';
import { buildDependencyGraph, type DependencyGraph } from '../../src/model/graph.js';
import { formatVersion, type InvalidRecipe, type PackageName, type Recipe, type RecipeId } from '../../src/model/types.js';
import { LEDGER_FORMAT_VERSION, parseLedger, type LedgerRecord } from '../../src/observe/ledger.js';
import type { ObservedBranch, RepoEntry, StagedInfo } from '../../src/observe/types.js';
import { computeBranchPlan } from '../../src/plan/computeBranchPlan.js';
import { hasChanges, type BranchPlan, type BuildAction } from '../../src/plan/types.js';
import { compareAlpmVersions } from '../../src/version/alpm.js';
import { propertyParams } from './mutate.js';

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] as const;
const BRANCH = 'main';

interface RecipeSpec {
  readonly name: string;
  readonly version: string;
  readonly release: string;
  readonly split: boolean;
  readonly depends: readonly string[];
  readonly buildDepends: readonly string[];
  readonly provides: boolean;
  readonly file: string;
}

interface RepoSpec {
  readonly name: string;
  readonly packages: readonly string[];
  readonly prune: boolean;
  readonly review: 'auto' | 'manual';
}

/** What a repo held before the run, for one package name. */
type EntrySpec = { readonly kind: 'current' | 'old-fingerprint' | 'foreign-same-version' | 'foreign-other-version'; readonly repo: number };

interface World {
  readonly recipes: readonly RecipeSpec[];
  readonly invalid: readonly string[];
  readonly duds: readonly string[];
  readonly repos: readonly RepoSpec[];
  /** By package name (also names no recipe has: gone from the source). */
  readonly entries: Readonly<Record<string, EntrySpec>>;
  /** Earlier ledger lines, by recipe name: a status for the current or an older fingerprint, or a rejection. */
  readonly history: Readonly<Record<string, { readonly status: 'built' | 'failed' | 'aborted' | 'lost' | 'rejected'; readonly current: boolean }>>;
  /** Builds of this run that fail. */
  readonly failing: readonly string[];
  readonly rebuild: 'transitive' | 'direct' | 'version';
}

/** Usually recipes listed earlier (a DAG); now and then also a later one (cycles), a missing, versioned or virtual name. */
const depList = (earlier: readonly string[], max: number): fc.Arbitrary<string[]> => {
  const earlierOnly = earlier.length > 0 ? fc.uniqueArray(fc.constantFrom(...earlier), { maxLength: max }) : fc.constant<string[]>([]);
  const odd = fc.constantFrom(...NAMES, 'missing', 'a>=2', 'b<1', 'c=1.0-1', 'virt-d', 'virt-e', 'f-doc');
  return fc.oneof({ weight: 6, arbitrary: earlierOnly }, { weight: 1, arbitrary: fc.tuple(earlierOnly, odd).map(([xs, x]) => [...new Set([...xs, x])]) });
};

const recipeSpec = (name: string, earlier: readonly string[]): fc.Arbitrary<RecipeSpec> =>
  fc.record({
    name: fc.constant(name),
    version: fc.constantFrom('1.0', '1.1', '2.0', '0.9'),
    release: fc.constantFrom('1', '2'),
    split: fc.boolean(),
    depends: depList(earlier, 3),
    buildDepends: depList(earlier, 2),
    provides: fc.boolean(),
    file: fc.constantFrom('v1', 'v2'),
  });

/** Up to `max` items of `items`, usually none or one. */
const few = (items: readonly string[], max: number): fc.Arbitrary<string[]> => fc.subarray([...items]).map((xs) => xs.slice(0, max)).chain((xs) => fc.oneof({ weight: 2, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: fc.constant(xs) }));

const repoSpecs = fc.oneof(
  fc.tuple(fc.boolean(), fc.constantFrom('auto' as const, 'manual' as const)).map(([prune, review]): RepoSpec[] => [{ name: 'main', packages: ['*'], prune, review }]),
  fc.tuple(fc.boolean(), fc.boolean(), fc.constantFrom('auto' as const, 'manual' as const)).map(([prune1, prune2, review]): RepoSpec[] => [
    { name: 'core', packages: ['[a-d]*'], prune: prune1, review: 'auto' },
    { name: 'extra', packages: ['[a-h]*', 'gone*'], prune: prune2, review },
  ]),
);

const worldArb: fc.Arbitrary<World> = fc
  .uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: NAMES.length })
  .chain((names) =>
    fc.record({
      recipes: fc.tuple(...names.map((n, i) => recipeSpec(n, names.slice(0, i)))),
      invalid: few(NAMES.filter((n) => !names.includes(n)), 2),
      duds: few(names, 2),
      repos: repoSpecs,
      entries: fc.dictionary(
        fc.constantFrom(...names, ...names.map((n) => `${n}-doc`), 'gone1', 'gone2', 'other'),
        fc.record({ kind: fc.constantFrom('current' as const, 'old-fingerprint' as const, 'foreign-same-version' as const, 'foreign-other-version' as const), repo: fc.nat(1) }),
        { maxKeys: 8 },
      ),
      history: fc.dictionary(fc.constantFrom(...names), fc.record({ status: fc.constantFrom('built' as const, 'failed' as const, 'aborted' as const, 'lost' as const, 'rejected' as const), current: fc.boolean() }), { maxKeys: 4 }),
      failing: few(names, 2),
      rebuild: fc.constantFrom('transitive' as const, 'direct' as const, 'version' as const),
    }),
  );

function recipeOf(spec: RecipeSpec, uniqueProvides: boolean): Recipe {
  const name = spec.name as PackageName;
  return {
    id: spec.name as RecipeId,
    name,
    packages: spec.split ? [name, `${spec.name}-doc` as PackageName] : [name],
    version: { version: spec.version, release: spec.release },
    depends: spec.depends.filter((d) => d !== spec.name),
    buildDepends: spec.buildDepends.filter((d) => d !== spec.name),
    // virt-<name> from its own recipe; without unique provides, every recipe that provides also gives "virt-d".
    provides: spec.provides ? [`virt-${spec.name}=${spec.version}`, ...(uniqueProvides ? [] : ['virt-d'])] : [],
    dir: `/src/${spec.name}`,
    file: `recipes/${spec.name}/recipe.yaml`,
    files: { 'recipe.yaml': `${spec.name}-${spec.file}` },
  };
}

interface Branch {
  readonly graph: DependencyGraph;
  readonly invalid: readonly InvalidRecipe[];
  readonly fingerprints: ReadonlyMap<RecipeId, FingerprintedRecipe>;
}

function branchOf(world: World, recipes: readonly Recipe[]): Branch {
  const invalid: InvalidRecipe[] = world.invalid.map((id) => ({ id: id as RecipeId, file: `recipes/${id}/recipe.yaml`, diagnostics: [{ severity: 'error', file: `recipes/${id}/recipe.yaml`, line: 1, col: 1, message: 'bad', hint: 'fix it' }] }));
  const graph = buildDependencyGraph({ recipes, invalidIds: invalid.map((r) => r.id), compareVersions: compareAlpmVersions });
  const fingerprints = computeFingerprints(graph, { pipelineDigest: 'p'.repeat(64), prerequisites: {}, rebuild: world.rebuild });
  return { graph, invalid, fingerprints };
}

const OLD_FINGERPRINT = 'o'.repeat(64);

function entry(name: string, version: string, fingerprint: string, recipe?: string): RepoEntry {
  return { name, version, file: `${name}-${version}-${fingerprint.slice(0, 6)}.pkg`, sha256: 's'.repeat(64), size: 1, depends: [], provides: [], fingerprint, ...(recipe !== undefined ? { recipe } : {}) };
}

/** The observed state before the run: repo entries and the ledger, as JSON lines. */
function observedOf(world: World, branch: Branch): { observed: ObservedBranch; ledger: LedgerRecord[] } {
  const repos = new Map(world.repos.map((r) => [r.name, new Map<string, RepoEntry>()]));
  const recipeOfPackage = new Map<string, Recipe>();
  for (const r of branch.graph.recipes.values()) for (const p of r.packages) recipeOfPackage.set(p, r);
  for (const [name, spec] of Object.entries(world.entries)) {
    const repo = world.repos[spec.repo % world.repos.length]!;
    const recipe = recipeOfPackage.get(name);
    const version = recipe !== undefined ? formatVersion(recipe.version) : '1.0-1';
    const fp = recipe !== undefined ? branch.fingerprints.get(recipe.id)?.fingerprint : undefined;
    const e =
      spec.kind === 'current' && fp !== undefined
        ? entry(name, version, fp, recipe!.id)
        : spec.kind === 'foreign-same-version'
          ? entry(name, version, '')
          : spec.kind === 'foreign-other-version'
            ? entry(name, '0.1-1', '')
            : entry(name, '0.5-1', OLD_FINGERPRINT, recipe?.id ?? name);
    repos.get(repo.name)!.set(name, e);
  }
  const ledger: LedgerRecord[] = [];
  for (const [name, h] of Object.entries(world.history)) {
    const fp = h.current ? (branch.fingerprints.get(name as RecipeId)?.fingerprint ?? OLD_FINGERPRINT) : OLD_FINGERPRINT;
    if (h.status === 'rejected') {
      ledger.push({ formatVersion: LEDGER_FORMAT_VERSION, kind: 'review', at: '2026-11-01T00:00:00.000Z', branch: BRANCH, recipe: name, version: '1.0-1', fingerprint: fp, decision: 'rejected', reason: 'no' });
    } else {
      ledger.push({ formatVersion: LEDGER_FORMAT_VERSION, kind: 'build', at: '2026-11-01T00:00:00.000Z', runId: 'r0', branch: BRANCH, recipe: name, packages: [name], version: '1.0-1', fingerprint: fp, status: h.status, seconds: 5 });
    }
  }
  return { observed: observedFrom(repos, ledger, new Map()), ledger };
}

function observedFrom(repos: ReadonlyMap<string, ReadonlyMap<string, RepoEntry>>, ledger: readonly LedgerRecord[], staged: ReadonlyMap<string, StagedInfo>): ObservedBranch {
  const snapshot = parseLedger(ledger.map((r) => `${JSON.stringify(r)}\n`).join(''), 'state/ledger.jsonl');
  expect(snapshot.diagnostics).toEqual([]);
  return {
    repos: new Map([...repos].map(([name, entries]) => [name, { name, path: `/repos/${name}`, entries: new Map(entries) }])),
    history: snapshot.branches.get(BRANCH) ?? new Map(),
    staged: new Map(staged),
  };
}

function plan(world: World, branch: Branch, observed: ObservedBranch): BranchPlan {
  return computeBranchPlan({
    branch: { name: BRANCH, duds: world.duds.map((d) => ({ package: d, reason: 'dud' })), repos: world.repos },
    graph: branch.graph,
    invalid: branch.invalid,
    fingerprints: branch.fingerprints,
    observed,
    hosts: [{ name: 'local', power: 2, labels: [], up: true }],
    compareVersions: compareAlpmVersions,
  });
}

/**
 * What reconcile does with a plan, as data: ledger lines, repo entries, staged
 * builds. A build whose dependency failed (or was itself held back) never starts.
 */
function apply(world: World, branch: Branch, before: ObservedBranch, ledger: readonly LedgerRecord[], p: BranchPlan): ObservedBranch {
  const repos = new Map([...before.repos].map(([name, repo]) => [name, new Map(repo.entries)]));
  const staged = new Map(before.staged ?? []);
  const records = [...ledger];
  const notBuilt = new Set<string>();
  const at = '2026-11-24T00:00:00.000Z';
  for (const action of p.actions) {
    if (action.type !== 'build') continue;
    if (action.dependsOn.some((d) => notBuilt.has(d))) {
      notBuilt.add(action.package);
      continue;
    }
    const recipe = branch.graph.recipes.get(action.package as RecipeId)!;
    const ok = !world.failing.includes(action.package);
    records.push({
      formatVersion: LEDGER_FORMAT_VERSION,
      kind: 'build',
      at,
      runId: 'r1',
      branch: BRANCH,
      recipe: action.package,
      packages: action.packages,
      version: action.version,
      fingerprint: action.fingerprint,
      status: ok ? 'built' : 'failed',
      host: 'local',
      seconds: 3,
      ...(ok ? { inputs: branch.fingerprints.get(action.package as RecipeId)!.inputs } : { phase: 'build' }),
    });
    if (!ok) {
      notBuilt.add(action.package);
      continue;
    }
    // The entries reconcile publishes (or stages) for a finished build.
    const entries = action.packages.map((name) => ({ ...entry(name, action.version, action.fingerprint, action.package), depends: [...recipe.depends], provides: [...recipe.provides] }));
    if (action.review !== undefined) {
      staged.set(action.package, { recipe: action.package, version: action.version, fingerprint: action.fingerprint, repo: action.repo, stagedAt: at, entries });
      records.push({ formatVersion: LEDGER_FORMAT_VERSION, kind: 'staged', at, runId: 'r1', branch: BRANCH, recipe: action.package, version: action.version, fingerprint: action.fingerprint, repo: action.repo });
    } else {
      for (const e of entries) repos.get(action.repo)!.set(e.name, e);
    }
  }
  for (const action of p.actions) if (action.type === 'remove') repos.get(action.repo)!.delete(action.package);
  return observedFrom(repos, records, staged);
}

describe('planner: a plan applied, then planned again, is empty', () => {
  it('no build and no remove in the second plan', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const branch = branchOf(world, world.recipes.map((r) => recipeOf(r, false)));
        const { observed, ledger } = observedOf(world, branch);
        const first = plan(world, branch, observed);
        const after = apply(world, branch, observed, ledger, first);
        const second = plan(world, branch, after);
        const changes = second.actions.filter((a) => a.type !== 'skip');
        expect(changes, JSON.stringify({ first: first.actions, second: second.actions }, null, 1)).toEqual([]);
        expect(hasChanges({ formatVersion: 1, branches: [second] })).toBe(false);
      }),
      propertyParams(200),
    );
  });
});

/** Each recipe's decision in a plan: `build <fp> <version> <repo> <reason>`, `skip <reason>`, or `up-to-date`. */
function decisions(p: BranchPlan, ids: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const id of ids) out.set(id, 'up-to-date');
  for (const a of p.actions) {
    if (a.type === 'build') out.set(a.package, `build ${a.fingerprint} ${a.version} ${a.repo} ${a.reason}`);
    else if (a.type === 'skip') out.set(a.package, `skip ${a.reason}`);
  }
  return out;
}

/** `r` and every recipe that depends on it, transitively. */
function dependentsOf(graph: DependencyGraph, r: string): Set<string> {
  const seen = new Set<string>([r]);
  const queue = [r];
  for (let i = 0; i < queue.length; i++) {
    for (const d of graph.dependents.get(queue[i]! as RecipeId) ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      queue.push(d);
    }
  }
  return seen;
}

describe('planner: removing a recipe only adds removes and skips', () => {
  it('the other decisions stay; dependents are skipped; removes gain exactly r\'s pruned packages', () => {
    fc.assert(
      fc.property(worldArb, fc.nat(), (world, pick) => {
        const recipes = world.recipes.map((r) => recipeOf(r, true));
        const branch = branchOf(world, recipes);
        const { observed } = observedOf(world, branch);
        const removed = recipes[pick % recipes.length]!;
        const without = branchOf(world, recipes.filter((r) => r.id !== removed.id));
        const before = plan(world, branch, observed);
        const after = plan(world, without, observed);

        const held = dependentsOf(branch.graph, removed.id);
        const ids = [...branch.graph.deps.keys()].filter((id) => id !== removed.id);
        const d1 = decisions(before, ids);
        const d2 = decisions(after, ids);
        for (const id of ids) {
          if (held.has(id)) expect(d2.get(id), `${id} depends on ${removed.id}`).toMatch(/^skip /);
          else expect(d2.get(id), `${id} does not depend on ${removed.id}`).toBe(d1.get(id));
        }
        const builds1 = new Set(before.actions.filter((a): a is BuildAction => a.type === 'build').map((a) => `${a.package} ${a.fingerprint}`));
        for (const a of after.actions) if (a.type === 'build') expect(builds1.has(`${a.package} ${a.fingerprint}`)).toBe(true);

        const removes = (p: BranchPlan): string[] => p.actions.flatMap((a) => (a.type === 'remove' ? [`${a.repo}/${a.package}`] : [])).sort();
        const gained = world.repos.filter((r) => r.prune).flatMap((r) => removed.packages.filter((name) => observed.repos.get(r.name)?.entries.has(name)).map((name) => `${r.name}/${name}`));
        expect(removes(after)).toEqual([...removes(before), ...gained].sort());
        expect(after.upToDate).toBeLessThanOrEqual(before.upToDate);
      }),
      propertyParams(200),
    );
  });
});
