/**
 * The heart of the dry run: compare a branch's desired state (recipes,
 * fingerprints) with what its repos hold and what the ledger remembers, and
 * decide for every package whether to build it, skip it or leave it, and for
 * every published package no longer in the source whether to remove it. Pure.
 */
import picomatch from 'picomatch';
import type { Diagnostic } from '../config/diagnostic.js';
import type { IsolationMode } from '../config/types.js';
import { diffInputs, fingerprintReader, type FingerprintedRecipe } from '../model/fingerprint.js';
import { dependencyName, type DependencyGraph } from '../model/graph.js';
import { formatVersion, type InvalidRecipe, type Recipe, type RecipeId } from '../model/types.js';
import type { ObservedBranch, RecipeHistory, RepoEntry } from '../observe/types.js';
import { estimate, type ScheduleHost, type ScheduleJob } from '../schedule/index.js';
import { checkGuards, type Guards } from './guards.js';
import type { BranchPlan, BuildAction, BuildReason, InputChange, PlanAction, RemoveAction, SkipAction, SkipReason } from './types.js';

/** Seconds assumed for a package never built before. */
export const DEFAULT_BUILD_SECONDS = 60;

export interface BranchPlanInput {
  readonly branch: {
    readonly name: string;
    readonly duds: readonly { readonly package: string; readonly reason: string }[];
    readonly repos: readonly { readonly name: string; readonly packages: readonly string[]; readonly prune: boolean; readonly review?: 'auto' | 'manual' }[];
  };
  readonly graph: DependencyGraph;
  readonly invalid: readonly InvalidRecipe[];
  readonly fingerprints: ReadonlyMap<RecipeId, FingerprintedRecipe>;
  readonly observed: ObservedBranch;
  /** The branch's eligible hosts, for the estimate. */
  readonly hosts: readonly ScheduleHost[];
  readonly retryFailed?: boolean;
  /** Set when no host can build for the branch (why): every stale package is skipped with `no-eligible-host`. */
  readonly noEligibleHost?: string;
  readonly sourceCommit?: string;
  /** Prune and storm guards; absent: not checked. */
  readonly guards?: Guards;
  /** Seconds assumed for a package never built (default 60). */
  readonly defaultBuildSeconds?: number;
  /** How the branch's pipeline isolates builds (default none); `overlay` needs hosts that support it. */
  readonly isolation?: IsolationMode;
  /** What each host supports, by host name (probed by the caller); a host absent here supports nothing. */
  readonly capabilities?: ReadonlyMap<string, HostCapabilities>;
  /** The branch's version order (negative: a older than b), to tell a downgrade from an upgrade; never compare versions as numbers. */
  readonly compareVersions?: (a: string, b: string) => number;
}

/** What the planner knows of a host beyond its labels. */
export interface HostCapabilities {
  /** Overlay isolation works there (docs/ISOLATION.md); otherwise `reason` says why not. */
  readonly overlay: boolean;
  readonly reason?: string;
}

/**
 * The hosts that can build for a branch with this isolation, and when there are
 * none, why (the `no-eligible-host` detail).
 */
export function hostsForIsolation(
  hosts: readonly ScheduleHost[],
  isolation: IsolationMode,
  capabilities: ReadonlyMap<string, HostCapabilities>,
): { readonly hosts: readonly ScheduleHost[]; readonly missing?: string } {
  if (isolation === 'none') return { hosts };
  const able = hosts.filter((h) => capabilities.get(h.name)?.overlay === true);
  if (able.length > 0 || hosts.length === 0) return { hosts: able };
  const why = hosts.map((h) => `${h.name}: ${capabilities.get(h.name)?.reason ?? 'not checked'}`).join('; ');
  return { hosts: able, missing: `the pipeline needs overlay isolation, which no eligible host supports (${why})` };
}

interface SkipDecision {
  readonly reason: SkipReason;
  readonly detail?: string;
}

const FAILURE_SKIPS: ReadonlySet<SkipReason> = new Set(['failed-unchanged', 'rejected', 'dependency-failed']);

export function computeBranchPlan(input: BranchPlanInput): BranchPlan {
  const { graph, observed } = input;
  // Over node indexes: per-node state in arrays, and a recipe's dependencies read from the graph's edge arrays.
  const { nodes, depStart, depList, order, recipes: recipeOfNode } = graph.indexed;
  const skips = new Map<RecipeId, SkipDecision>();
  const isolated = hostsForIsolation(input.hosts, input.isolation ?? 'none', input.capabilities ?? new Map());

  // 1. Packages that cannot be built at all, then everything that depends on them.
  for (const bad of input.invalid) skips.set(bad.id, { reason: 'invalid-recipe', detail: bad.diagnostics[0]?.message ?? 'unreadable recipe' });
  graph.cycles.forEach((members, i) => {
    const detail = (graph.cyclePaths[i] ?? members).join(' -> ');
    for (const id of members) if (!skips.has(id)) skips.set(id, { reason: 'dependency-cycle', detail });
  });
  /** Package names (and invalid recipe ids) to their recipe: made when duds or pruning need it. */
  let recipeByPackage: Map<string, RecipeId> | undefined;
  const byPackage = (): Map<string, RecipeId> => (recipeByPackage ??= packageIndex(graph));
  for (const dud of input.branch.duds) {
    const id = byPackage().get(dud.package);
    if (id !== undefined && !skips.has(id)) skips.set(id, { reason: 'dud', detail: dud.reason });
  }
  for (let i = 0; i < nodes.length; i++) {
    const notBuilt = recipeOfNode[i]?.notBuilt;
    if (notBuilt !== undefined && !skips.has(nodes[i]!)) skips.set(nodes[i]!, { reason: notBuilt.reason, detail: notBuilt.detail });
  }
  for (const id of new Set([...graph.unresolved.keys(), ...graph.unsatisfied.keys()])) {
    if (skips.has(id)) continue;
    const missing = graph.unresolved.get(id);
    const details = [
      ...(missing !== undefined ? [`nothing provides ${missing.join(', ')}`] : []),
      ...(graph.unsatisfied.get(id) ?? []).map((u) => `nothing provides ${u.spec} (only ${u.candidates.join(', ')})`),
    ];
    skips.set(id, { reason: 'unresolvable', detail: details.join('; ') });
  }
  const repoOf = repoMatcher(input.branch.repos);
  /** Per node, the repo that takes its recipe (for the recipes not skipped by now). */
  const repoOfNode = new Array<string | undefined>(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const id = nodes[i]!;
    const recipe = recipeOfNode[i];
    if (recipe === undefined || skips.has(id)) continue;
    repoOfNode[i] = repoOf(recipe.name);
    if (repoOfNode[i] === undefined) skips.set(id, { reason: 'no-repo', detail: `no repo of branch ${input.branch.name} takes ${recipe.name}` });
  }
  propagate(graph, skips, [...skips.keys()], 'dependency-skipped');

  // 2. For the rest, in dependency order: up to date, build, or held back by a failure.
  const actions: PlanAction[] = [];
  /** Per node: 1 when it is built (its dependents depend on that build). */
  const building = new Uint8Array(nodes.length);
  /** Per node: 1 when it is skipped below for a reason in FAILURE_SKIPS (its dependents are then held back). */
  const failed = new Uint8Array(nodes.length);
  /** Records a skip decided below (of a node not skipped before). */
  const skip = (i: number, decision: SkipDecision): void => {
    skips.set(nodes[i]!, decision);
    if (FAILURE_SKIPS.has(decision.reason)) failed[i] = 1;
  };
  /** Per build: the change at the bottom of its chain of dependency changes (`zlib version-changed 1.3 -> 1.4`). */
  const rootCauses = new Map<RecipeId, string>();
  const reasons = new Map<RecipeId, BuildReason>();
  /**
   * Per node, why its artifacts (or a dependency's, transitively) await review:
   * a build against them is staged too, so that no published package depends on
   * an unreviewed one.
   */
  const unreviewed = new Array<string | undefined>(nodes.length);
  let anyUnreviewed = false;
  const markUnreviewed = (i: number, why: string): void => {
    unreviewed[i] = why;
    anyUnreviewed = true;
  };
  const manualRepos = new Set(input.branch.repos.filter((r) => r.review === 'manual').map((r) => r.name));
  let upToDate = 0;
  const fingerprintAt = fingerprintReader(input.fingerprints, graph.indexed);
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const id = nodes[i]!;
    if (skips.has(id)) continue;
    const recipe = recipeOfNode[i];
    const fp = fingerprintAt(i);
    if (recipe === undefined || fp === undefined) continue;
    let inheritedReview: string | undefined;
    if (anyUnreviewed) {
      for (let k = depStart[i]!; k < depStart[i + 1]! && inheritedReview === undefined; k++) inheritedReview = unreviewed[depList[k]!];
    }
    if (inheritedReview !== undefined) markUnreviewed(i, inheritedReview);
    const repoName = repoOfNode[i]!;
    const entries = observed.repos.get(repoName)?.entries;
    // Read once: a recipe may make its list at each read (an INDEX recipe does).
    const packages = recipe.packages;
    const published = packages.length === 1 ? isUpToDate(entries?.get(packages[0]!), fp, recipe) : packages.every((p) => isUpToDate(entries?.get(p), fp, recipe));
    if (published) {
      upToDate++;
      continue;
    }
    const version = formatVersion(recipe.version);
    // A split recipe's packages are published together; any of them tells the published version.
    const entry = entries?.get(recipe.name) ?? packages.map((p) => entries?.get(p)).find((e) => e !== undefined);
    const history = observed.history.get(id);
    const rejectedReason = history?.rejected.get(fp);
    if (rejectedReason !== undefined) {
      skip(i, { reason: 'rejected', detail: rejectedReason === '' ? 'rejected in review' : rejectedReason });
      continue;
    }
    if (history?.last?.fingerprint === fp && history.last.status === 'failed' && input.retryFailed !== true) {
      skip(i, { reason: 'failed-unchanged', detail: `failed${history.last.phase !== undefined ? ` in step ${history.last.phase}` : ''} at ${history.last.at}; unchanged since (use --retry-failed to try again)` });
      continue;
    }
    // Skips with a reason in FAILURE_SKIPS are all decided in this loop, in dependency order: `failed` has them.
    let failedDep: RecipeId | undefined;
    for (let k = depStart[i]!; k < depStart[i + 1]! && failedDep === undefined; k++) {
      if (failed[depList[k]!] === 1) failedDep = nodes[depList[k]!]!;
    }
    if (failedDep !== undefined) {
      skip(i, { reason: 'dependency-failed', detail: failedDep });
      continue;
    }
    const staged = observed.staged?.get(id);
    if (staged?.fingerprint === fp) {
      // Built already and waiting in the staging area: not built again until approved, rejected or changed.
      skip(i, { reason: 'awaiting-review', detail: `${staged.version} staged for repo ${staged.repo} at ${staged.stagedAt}; see \`buildfleet review show ${id}\`` });
      markUnreviewed(i, `built against ${id} ${staged.version}, which awaits review`);
      continue;
    }
    const noHost = input.noEligibleHost ?? isolated.missing;
    if (noHost !== undefined) {
      skip(i, { reason: 'no-eligible-host', detail: noHost });
      continue;
    }
    const why = buildReason(recipe, input.fingerprints.get(id)!, entry, history, input.compareVersions);
    if (why.reason === 'dependency-changed') {
      // Name the change that started it when that is further down than a direct dependency.
      const changedDeps = why.changes.flatMap((c) => (c.kind === 'dependency' && c.name !== undefined && rootCauses.has(c.name as RecipeId) ? [c.name as RecipeId] : []));
      const inherited = [...new Set(changedDeps.filter((d) => reasons.get(d) === 'dependency-changed').map((d) => rootCauses.get(d)!))];
      if (inherited.length > 0) why.detail = `${why.detail ?? ''} (from ${inherited.join('; ')})`;
      rootCauses.set(id, inherited[0] ?? (changedDeps[0] !== undefined ? rootCauses.get(changedDeps[0])! : `${id} ${why.reason}`));
    } else {
      rootCauses.set(id, `${id} ${why.reason}${why.detail !== undefined ? ` ${why.detail}` : ''}`);
    }
    reasons.set(id, why.reason);
    building[i] = 1;
    const dependsOn: RecipeId[] = [];
    for (let k = depStart[i]!; k < depStart[i + 1]!; k++) if (building[depList[k]!] === 1) dependsOn.push(nodes[depList[k]!]!);
    const review = manualRepos.has(repoName) ? `repo ${repoName} is reviewed by hand` : inheritedReview;
    if (review !== undefined) markUnreviewed(i, manualRepos.has(repoName) ? `built against ${id} ${formatVersion(recipe.version)}, which goes to review` : review);
    actions.push({
      type: 'build',
      package: id,
      packages,
      version,
      repo: repoName,
      reason: why.reason,
      ...(why.detail !== undefined ? { detail: why.detail } : {}),
      ...(why.changes.length > 0 ? { changes: why.changes } : {}),
      dependsOn,
      fingerprint: fp,
      ...(review !== undefined ? { review } : {}),
      ...sourceRange(history, input.sourceCommit),
    });
  }

  // 3. Skip actions, each with how many packages it holds back.
  const heldBack = heldBackCounter(graph, skips);
  const skipActions: SkipAction[] = [...skips.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, skip]) => {
      const recipe = graph.recipes.get(id);
      return {
        type: 'skip',
        package: id,
        ...(recipe !== undefined ? { version: formatVersion(recipe.version) } : {}),
        reason: skip.reason,
        ...(skip.detail !== undefined ? { detail: skip.detail } : {}),
        blocks: heldBack(id),
      };
    });

  // 4. Published packages no longer in the source.
  /** Package names (and invalid recipe ids) the source has. */
  const inSource = byPackage;
  const removeActions: RemoveAction[] = [];
  for (const repoConfig of input.branch.repos) {
    if (!repoConfig.prune) continue;
    const repo = observed.repos.get(repoConfig.name);
    if (repo === undefined) continue;
    // The few entries to remove, then sorted (not every entry sorted first).
    const gone: RepoEntry[] = [];
    for (const entry of repo.entries.values()) if (!inSource().has(entry.name)) gone.push(entry);
    for (const entry of gone.sort((a, b) => (a.name < b.name ? -1 : 1))) removeActions.push({ type: 'remove', package: entry.name, version: entry.version, repo: repoConfig.name, reason: 'not-in-source' });
  }

  const builds = actions as BuildAction[];
  const jobs: ScheduleJob[] = builds.map((b) => ({
    id: b.package,
    dependsOn: b.dependsOn,
    seconds: observed.history.get(b.package)?.lastSuccessSeconds ?? input.defaultBuildSeconds ?? DEFAULT_BUILD_SECONDS,
  }));
  const allActions = [...builds, ...skipActions, ...removeActions];
  const violations = input.guards !== undefined ? checkGuards(allActions, new Map([...observed.repos].map(([name, repo]) => [name, repo.entries.size])), input.guards) : [];
  return {
    name: input.branch.name,
    ...(input.sourceCommit !== undefined ? { sourceCommit: input.sourceCommit } : {}),
    ...(violations.length > 0 ? { guardViolations: violations } : {}),
    actions: allActions,
    upToDate,
    estimate: builds.length > 0 ? estimate(jobs, isolated.hosts) : { makespanSeconds: 0, lowerBoundSeconds: 0 },
  };
}

/**
 * Whether a published package is the desired build: its fingerprint is the desired
 * one, or it has none (made by another tool, e.g. `repo-add`, and adopted) and its
 * version is the recipe's (formatted only then: most packages match by fingerprint).
 */
function isUpToDate(entry: RepoEntry | undefined, fingerprint: string, recipe: Recipe): boolean {
  if (entry === undefined) return false;
  return entry.fingerprint === fingerprint || (entry.fingerprint === '' && entry.version === formatVersion(recipe.version));
}

/** `{ sourceRange: 'from..to' }` when the package's last successful build was of another commit of a git source. */
function sourceRange(history: RecipeHistory | undefined, commit: string | undefined): { sourceRange?: string } {
  const from = history?.lastBuiltCommit;
  return commit !== undefined && from !== undefined && from !== commit ? { sourceRange: `${from}..${commit}` } : {};
}

/** The dependency name with which `recipe` depends on `dep` (directly or through a virtual name). */
function specNaming(recipe: Recipe, dep: Recipe): string | undefined {
  const names = new Set<string>([...dep.packages, ...dep.provides.map(dependencyName)]);
  return [...recipe.depends, ...recipe.buildDepends].map(dependencyName).find((n) => names.has(n));
}

/** Package names (and invalid recipe ids) to the recipe that produces them. */
function packageIndex(graph: DependencyGraph): Map<string, RecipeId> {
  const index = new Map<string, RecipeId>();
  for (const id of graph.deps.keys()) index.set(id, id);
  for (const recipe of graph.recipes.values()) for (const name of recipe.packages) index.set(name, recipe.id);
  return index;
}

/** The first repo whose globs take a package name. */
function repoMatcher(repos: BranchPlanInput['branch']['repos']): (name: string) => string | undefined {
  const matchers = repos.map((r) => {
    // Compiled when first needed: a repo that takes `*` (the default) needs it for no package name.
    let compiled: ((name: string) => boolean) | undefined;
    const match = (name: string): boolean => (compiled ??= picomatch(r.packages as string[], { dot: true }))(name);
    // `*` (every repo's default) takes every name picomatch's `*` matches: not empty, no `/`, not
    // `.` or `..`. That is every package name, told without a regex match per package (35,000).
    return { name: r.name, match: r.packages.includes('*') ? (name: string) => (name !== '' && name !== '.' && name !== '..' && !name.includes('/')) || match(name) : match };
  });
  return (name) => matchers.find((m) => m.match(name))?.name;
}

/** Marks every (transitive) dependent of `sources` as skipped because of the nearest skipped dependency. */
function propagate(graph: DependencyGraph, skips: Map<RecipeId, SkipDecision>, sources: RecipeId[], reason: SkipReason): void {
  const queue = [...sources].sort();
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    for (const dependent of graph.dependents.get(id) ?? []) {
      if (skips.has(dependent)) continue;
      skips.set(dependent, { reason, detail: id });
      queue.push(dependent);
    }
  }
}

/**
 * Per skipped package, how many distinct packages it holds back: its transitive dependents that
 * are skipped. Over node indexes (a stamp per node, not a Set per skip): an INDEX with a popular
 * dud has thousands of skips.
 */
function heldBackCounter(graph: DependencyGraph, skips: ReadonlyMap<RecipeId, SkipDecision>): (id: RecipeId) => number {
  const { nodes, dependentStart, dependentList, indexOf } = graph.indexed;
  const skipped = new Uint8Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) if (skips.has(nodes[i]!)) skipped[i] = 1;
  const seenAt = new Int32Array(nodes.length);
  const queue = new Int32Array(nodes.length);
  let stamp = 0;
  return (id) => {
    const start = indexOf.get(id);
    if (start === undefined) return 0;
    stamp++;
    seenAt[start] = stamp;
    let tail = 0;
    queue[tail++] = start;
    for (let head = 0; head < tail; head++) {
      const x = queue[head]!;
      for (let k = dependentStart[x]!, end = dependentStart[x + 1]!; k < end; k++) {
        const d = dependentList[k]!;
        if (seenAt[d] !== stamp && skipped[d] === 1) {
          seenAt[d] = stamp;
          queue[tail++] = d;
        }
      }
    }
    return tail - 1;
  };
}

const CHANGE_REASONS: readonly [InputChange['kind'], BuildReason][] = [
  ['version', 'version-changed'],
  ['recipe-file', 'inputs-changed'],
  ['pipeline', 'pipeline-changed'],
  ['prerequisite', 'prerequisite-changed'],
  ['dependency', 'dependency-changed'],
];

function buildReason(
  recipe: Recipe,
  desired: FingerprintedRecipe,
  entry: RepoEntry | undefined,
  history: RecipeHistory | undefined,
  compareVersions: ((a: string, b: string) => number) | undefined,
): { reason: BuildReason; detail?: string; changes: InputChange[] } {
  const last = history?.last;
  if (last !== undefined && last.fingerprint === desired.fingerprint && last.status !== 'built') {
    const detail =
      last.status === 'failed' ? 'failed last time; retrying as asked (--retry-failed)' : last.status === 'aborted' ? 'interrupted last time' : `lost to a host fault last time${last.host !== undefined ? ` on ${last.host}` : ''}`;
    return { reason: 'retry', detail, changes: [] };
  }
  if (entry === undefined) return { reason: 'new', changes: [] };
  const version = formatVersion(recipe.version);
  const before = history?.builtInputs.get(entry.fingerprint);
  const changes = before !== undefined ? diffInputs(before, desired.inputs) : [];
  if (entry.version !== version) {
    const order = compareVersions?.(version, entry.version);
    const note = order === undefined || order > 0 ? '' : order < 0 ? ' (a downgrade)' : ' (equal in the version order; written differently)';
    return { reason: 'version-changed', detail: `${entry.version} -> ${version}${note}`, changes };
  }
  if (before === undefined) {
    return { reason: 'inputs-changed', detail: 'the published fingerprint differs, and the inputs it was built from are not in the ledger', changes };
  }
  for (const [kind, reason] of CHANGE_REASONS) {
    const ofKind = changes.filter((c) => c.kind === kind);
    if (ofKind.length === 0) continue;
    const detail = ofKind.map((c) => (c.name !== undefined ? (c.detail === 'changed' ? c.name : `${c.name} ${c.detail}`) : c.detail)).join(', ');
    return { reason, detail, changes };
  }
  return { reason: 'inputs-changed', detail: 'the fingerprint format changed', changes };
}

/** Warnings and errors about a branch's recipes that validate and plan print. */
/** Finds where a recipe names a dependency (line and column in its file); supplied by the I/O shell. */
export type DependencyLocator = (recipe: Recipe, dependency: string) => { line: number; col: number } | undefined;

export function recipeDiagnostics(input: {
  graph: DependencyGraph;
  invalid: readonly InvalidRecipe[];
  duds: readonly { package: string; file: string; position: { line: number; col: number } }[];
  locate?: DependencyLocator;
}): Diagnostic[] {
  const at = (recipe: Recipe | undefined, dependency: string | undefined): { line?: number; col?: number } => {
    if (recipe === undefined || dependency === undefined || input.locate === undefined) return {};
    const position = input.locate(recipe, dependency);
    return position !== undefined ? { line: position.line, col: position.col } : {};
  };
  const diagnostics: Diagnostic[] = [];
  for (const bad of input.invalid) diagnostics.push(...bad.diagnostics);
  const { graph } = input;
  graph.cycles.forEach((members, i) => {
    const path = graph.cyclePaths[i] ?? members;
    const first = graph.recipes.get(path[0]!);
    const next = graph.recipes.get(path[1]!);
    diagnostics.push({
      severity: 'error',
      file: first?.file ?? members[0]!,
      ...at(first, next !== undefined && first !== undefined ? specNaming(first, next) : undefined),
      message: `dependency cycle: ${path.join(' -> ')}`,
      hint: `break the cycle in one of: ${members.map((m) => graph.recipes.get(m)?.file ?? m).join(', ')}`,
    });
  });
  for (const [id, missing] of graph.unresolved) {
    const recipe = graph.recipes.get(id)!;
    diagnostics.push({ severity: 'warning', file: recipe.file, ...at(recipe, missing[0]), message: `${id} depends on ${missing.join(', ')}, which no recipe provides; it will be skipped`, hint: 'add a recipe that provides it, or fix the dependency name' });
  }
  for (const [id, unsatisfied] of graph.unsatisfied) {
    const recipe = graph.recipes.get(id)!;
    for (const u of unsatisfied) {
      diagnostics.push({
        severity: 'warning',
        file: recipe.file,
        ...at(recipe, dependencyName(u.spec)),
        message: `${id} depends on ${u.spec}, but there is only ${u.candidates.join(', ')}; it will be skipped`,
        hint: 'update the recipe that provides it, or relax the version constraint',
      });
    }
  }
  for (const conflict of graph.providerConflicts) {
    diagnostics.push({
      severity: 'warning',
      file: graph.recipes.get(conflict.chosen)!.file,
      message: `"${conflict.name}" is provided by several recipes (${[conflict.chosen, ...conflict.others].join(', ')}); ${conflict.chosen} is used`,
      hint: 'depend on the package you mean by its own name',
    });
  }
  const known = input.duds.length > 0 ? packageIndex(graph) : new Map<string, RecipeId>();
  for (const dud of input.duds) {
    if (!known.has(dud.package)) {
      diagnostics.push({ severity: 'warning', file: dud.file, line: dud.position.line, col: dud.position.col, message: `dud "${dud.package}" names no package of the source`, hint: 'remove the entry if the package is gone, or correct its name' });
    }
  }
  return diagnostics;
}
