/**
 * The dependency graph of a branch: every recipe's `depends` and `buildDepends`
 * resolved to recipes (directly by package name, or through `provides`),
 * cycles found, and a topological order. Pure.
 *
 * Versioned dependencies (`foo>=1.2`) are checked against the candidates'
 * versions as pacman does, when a version comparator is given: the package
 * `foo` at its recipe's version, or a recipe providing `foo=VERSION` (a
 * provide without a version satisfies only unversioned dependencies). The
 * first candidate that satisfies the constraint is used; when candidates exist
 * but none does, the dependency is unsatisfied. Trees that build against a
 * distribution resolve what they lack outside (`externalDependencies`).
 */
import { formatVersion, type Recipe, type RecipeId } from './types.js';

export interface DependencyGraph {
  /** Recipes by id (valid ones only). */
  readonly recipes: ReadonlyMap<RecipeId, Recipe>;
  /** Resolved dependencies of each node (sorted, unique, no self-edges). */
  readonly deps: EdgeMap;
  /** Reverse edges. */
  readonly dependents: EdgeMap;
  /** Dependency names no recipe provides, per recipe. */
  readonly unresolved: ReadonlyMap<RecipeId, readonly string[]>;
  /** Versioned dependencies whose every candidate has the wrong version, per recipe. */
  readonly unsatisfied: ReadonlyMap<RecipeId, readonly UnsatisfiedDependency[]>;
  /** Strongly connected components with more than one node: each a dependency cycle. Members sorted. */
  readonly cycles: readonly (readonly RecipeId[])[];
  /** One concrete cycle path per entry of `cycles` (first node repeated at the end). */
  readonly cyclePaths: readonly (readonly RecipeId[])[];
  /** All nodes, dependencies before dependents; nodes on or behind a cycle come last in id order. */
  readonly order: readonly RecipeId[];
  /** Virtual names provided by several recipes, and the one chosen (the first by id). */
  readonly providerConflicts: readonly { readonly name: string; readonly chosen: RecipeId; readonly others: readonly RecipeId[] }[];
  /** The same graph over node indexes, for passes that visit every edge (fingerprints): no `Map` per edge. */
  readonly indexed: IndexedGraph;
}

/**
 * A dependency graph whose nodes are numbered: node `i` is `nodes[i]`; numbering follows id order.
 * Edges are kept compressed (one typed array of node indexes, and where each node's part starts):
 * an INDEX of 35,000 ports has about a million edges, which as arrays of ids would take far more
 * memory (and on a virtual machine, each new page of memory costs time).
 */
export interface IndexedGraph {
  /** Every node (valid and invalid recipes), sorted by id. */
  readonly nodes: readonly RecipeId[];
  /** Node `i` depends on `depList[depStart[i]]` … `depList[depStart[i + 1] - 1]` (as `DependencyGraph.deps`: sorted, unique, no self-edges). */
  readonly depStart: Int32Array;
  readonly depList: Int32Array;
  /** The reverse edges, in the same form (each node's dependents, sorted). */
  readonly dependentStart: Int32Array;
  readonly dependentList: Int32Array;
  /** `DependencyGraph.order` as node indexes. */
  readonly order: Int32Array;
  /** Node `i`'s recipe, as `DependencyGraph.recipes.get(nodes[i])`; undefined for an invalid one. */
  readonly recipes: readonly (Recipe | undefined)[];
  /** Each node's index: `indexOf.get(nodes[i]) === i`. */
  readonly indexOf: ReadonlyMap<string, number>;
}

/** Each node's id to the ids at one end of its edges (`deps` or `dependents`): read-only, in node order. */
export type EdgeMap = ReadonlyMap<RecipeId, readonly RecipeId[]>;

/**
 * An `EdgeMap` over compressed edges: a list of ids is made when asked for (callers keep
 * none for long), so the graph holds no array of ids per node.
 */
class EdgeView implements EdgeMap {
  constructor(
    private readonly nodes: readonly RecipeId[],
    private readonly indexOf: ReadonlyMap<string, number>,
    private readonly start: Int32Array,
    private readonly list: Int32Array,
  ) {}

  get size(): number {
    return this.nodes.length;
  }

  has(id: RecipeId): boolean {
    return this.indexOf.has(id);
  }

  get(id: RecipeId): readonly RecipeId[] | undefined {
    const i = this.indexOf.get(id);
    return i === undefined ? undefined : this.at(i);
  }

  private at(i: number): RecipeId[] {
    const from = this.start[i]!;
    const out = new Array<RecipeId>(this.start[i + 1]! - from);
    for (let k = 0; k < out.length; k++) out[k] = this.nodes[this.list[from + k]!]!;
    return out;
  }

  // Iterators over the nodes in order, making each list as it is reached.
  entries(): MapIterator<[RecipeId, readonly RecipeId[]]> {
    return this.pairs();
  }

  keys(): MapIterator<RecipeId> {
    return this.nodes.values();
  }

  values(): MapIterator<readonly RecipeId[]> {
    return this.lists();
  }

  [Symbol.iterator](): MapIterator<[RecipeId, readonly RecipeId[]]> {
    return this.entries();
  }

  forEach(callback: (value: readonly RecipeId[], key: RecipeId, map: EdgeMap) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.nodes.length; i++) callback.call(thisArg, this.at(i), this.nodes[i]!, this);
  }

  private *pairs(): Generator<[RecipeId, readonly RecipeId[]]> {
    for (let i = 0; i < this.nodes.length; i++) yield [this.nodes[i]!, this.at(i)];
  }

  private *lists(): Generator<readonly RecipeId[]> {
    for (let i = 0; i < this.nodes.length; i++) yield this.at(i);
  }
}

/**
 * The recipes' dependencies as indexes into a table of the distinct specs, when
 * a source has them at hand (an INDEX names about 27 dependencies per port, out
 * of far fewer distinct ones): `specs[starts[i]]` to `specs[starts[i + 1] - 1]`
 * are `recipes[i].depends` followed by `recipes[i].buildDepends`, each spec as
 * its index in `table`. The graph then resolves each distinct spec once instead
 * of once per reference; the result is the same as without it.
 */
export interface InternedDependencies {
  readonly table: readonly string[];
  /** Every recipe's specs, one after the other. */
  readonly specs: Int32Array;
  /** Where each recipe's specs start in `specs` (one more entry than recipes: the end). */
  readonly starts: Int32Array;
}

/** `zlib>=1.3` → `zlib`. */
export function dependencyName(spec: string): string {
  // One native search (a plan names each of thousands of dependencies before V8 optimizes this).
  const op = spec.search(VERSION_OPERATOR);
  return spec.slice(0, op < 0 ? spec.length : op);
}

const VERSION_OPERATOR = /[<=>]/;

/** A versioned dependency that no candidate satisfies. */
export interface UnsatisfiedDependency {
  /** As written: `foo>=1.2`. */
  readonly spec: string;
  /** What there is instead: `foo 1.0-1 (recipe foo)`, `foo=0.9 (provided by bar)`. */
  readonly candidates: readonly string[];
}

export type VersionConstraintOp = '<' | '<=' | '=' | '>=' | '>';

/** `zlib>=1.3` → `{ name: 'zlib', op: '>=', version: '1.3' }`; no `op` when unversioned. */
export function parseDependency(spec: string): { name: string; op?: VersionConstraintOp; version?: string } {
  const name = dependencyName(spec);
  if (name.length === spec.length) return { name };
  const rest = spec.slice(name.length);
  const opLength = rest[1] === '=' ? 2 : 1;
  const op = rest.slice(0, opLength);
  if (op !== '<' && op !== '<=' && op !== '=' && op !== '>=' && op !== '>') return { name };
  return { name, op, version: rest.slice(opLength) };
}

/** Whether `version` satisfies `op constraint` under `compare` (pacman's dep_vercmp). */
export function satisfiesConstraint(version: string, op: VersionConstraintOp, constraint: string, compare: (a: string, b: string) => number): boolean {
  const c = compare(version, constraint);
  switch (op) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
      return c >= 0;
    case '>':
      return c > 0;
  }
}

export interface GraphInput {
  readonly recipes: readonly Recipe[];
  /** Ids of recipes that could not be read: they are nodes (so dependents are skipped, not unresolvable) without edges. */
  readonly invalidIds: readonly RecipeId[];
  /** Dependencies may also name a recipe by its id (FreeBSD INDEX sources write origins `category/port`). */
  readonly resolveIds?: boolean;
  /** The branch's version order; without it, version constraints are not checked (only names resolve). */
  readonly compareVersions?: (a: string, b: string) => number;
  /**
   * Dependencies may come from outside the tree (an Arch tree builds against the
   * distribution's repositories): a name no recipe has is no edge and no error,
   * and neither is a versioned virtual name whose providers in the tree all have
   * the wrong version. A package of the tree at the wrong version stays an error.
   */
  readonly externalDependencies?: boolean;
  /** The dependencies of `recipes` as interned specs (same graph, less work). */
  readonly interned?: InternedDependencies;
}

export function buildDependencyGraph(input: GraphInput): DependencyGraph {
  const recipes = new Map<RecipeId, Recipe>();
  // Indexed loops over the recipes (35,000 for a large INDEX): a for-of makes an iterator result
  // per element until V8 optimizes the loop, and these loops run once.
  for (let p = 0; p < input.recipes.length; p++) recipes.set(input.recipes[p]!.id, input.recipes[p]!);

  // Nodes by index (sorted ids), edges as index lists: the traversals below touch no Map.
  const nodes: RecipeId[] = (input.invalidIds.length > 0 ? [...new Set([...recipes.keys(), ...input.invalidIds])] : [...recipes.keys()]).sort();
  const indexOf = new Map<string, number>();
  nodes.forEach((id, i) => indexOf.set(id, i));
  /** Per node, its recipe (undefined: invalid) and where it is in `input.recipes` (the last of an id, as in `recipes`); per recipe, its node. */
  const recipeOfNode = new Array<Recipe | undefined>(nodes.length);
  const positionOfNode = new Int32Array(nodes.length);
  const nodeOfPosition = new Int32Array(input.recipes.length);
  input.recipes.forEach((recipe, p) => {
    const i = indexOf.get(recipe.id)!;
    recipeOfNode[i] = recipe;
    positionOfNode[i] = p;
    nodeOfPosition[p] = i;
  });

  // Each name a dependency may use, to the node that provides it: package names first; then
  // virtual names, which never override a real package. A name with a version operator is never
  // looked up (lookups strip the operator): leaving it out lets a dependency found as written be
  // taken for a plain name.
  const providerIndex = new Map<string, number>();
  const own = (name: string, node: number): void => {
    if (dependencyName(name) === name) providerIndex.set(name, node);
  };
  for (const id of input.invalidIds) own(id, indexOf.get(id)!);
  if (input.resolveIds === true) input.recipes.forEach((recipe, p) => own(recipe.id, nodeOfPosition[p]!));
  input.recipes.forEach((recipe, p) => {
    // Read once: a recipe may make its list at each read (an INDEX recipe does).
    const packages = recipe.packages;
    for (let k = 0; k < packages.length; k++) own(packages[k]!, nodeOfPosition[p]!);
  });
  const virtual = new Map<string, RecipeId[]>();
  /** Every versioned provide by name (also of names a real package has), for constraints. */
  const versionedProvides = new Map<string, { id: RecipeId; version: string }[]>();
  for (let p = 0; p < input.recipes.length; p++) {
    const recipe = input.recipes[p]!;
    for (let k = 0; k < recipe.provides.length; k++) {
      const spec = recipe.provides[k]!;
      const name = dependencyName(spec);
      if (name.length < spec.length && spec[name.length] === '=') {
        const list = versionedProvides.get(name);
        const entry = { id: recipe.id, version: spec.slice(name.length + 1) };
        if (list === undefined) versionedProvides.set(name, [entry]);
        else list.push(entry);
      }
      if (providerIndex.has(name)) continue;
      const list = virtual.get(name);
      if (list === undefined) virtual.set(name, [recipe.id]);
      else list.push(recipe.id);
    }
  }
  const providerConflicts: { name: string; chosen: RecipeId; others: RecipeId[] }[] = [];
  for (const [name, ids] of virtual) {
    // Most virtual names have one provider: no set and no sort for them.
    const sorted = ids.length === 1 ? ids : [...new Set(ids)].sort();
    providerIndex.set(name, indexOf.get(sorted[0]!)!);
    if (sorted.length > 1) providerConflicts.push({ name, chosen: sorted[0]!, others: sorted.slice(1) });
  }
  /** The node of the real package (or recipe id) `name`, not of a virtual name. */
  const ownerOf = (name: string): number | undefined => (virtual.has(name) ? undefined : providerIndex.get(name));

  const n = nodes.length;
  const unresolved = new Map<RecipeId, string[]>();
  const unsatisfied = new Map<RecipeId, UnsatisfiedDependency[]>();
  const compare = input.compareVersions;
  /** The provider of a versioned dependency: undefined when nothing has the name, the candidates when none has the version. */
  const constrainedProvider = (spec: string): number | undefined | UnsatisfiedDependency => {
    const dep = parseDependency(spec);
    if (dep.op === undefined || compare === undefined) return providerIndex.get(dep.name);
    const candidates: string[] = [];
    const ownerNode = ownerOf(dep.name);
    if (ownerNode !== undefined) {
      const owner = nodes[ownerNode]!;
      const recipe = recipeOfNode[ownerNode];
      // An invalid recipe resolves as before: its dependents are skipped anyway.
      if (recipe === undefined) return ownerNode;
      const version = formatVersion(recipe.version);
      if (satisfiesConstraint(version, dep.op, dep.version!, compare)) return ownerNode;
      candidates.push(`${dep.name} ${version}${owner === dep.name ? '' : ` (recipe ${owner})`}`);
    }
    const offers = [...(versionedProvides.get(dep.name) ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const offer of offers) {
      if (satisfiesConstraint(offer.version, dep.op, dep.version!, compare)) return indexOf.get(offer.id);
      candidates.push(`${dep.name}=${offer.version} (provided by ${offer.id})`);
    }
    if (candidates.length === 0) {
      const provider = providerIndex.get(dep.name);
      if (provider === undefined) return undefined;
      candidates.push(`${dep.name} without a version (provided by ${nodes[provider]})`);
    }
    if (ownerNode === undefined && input.externalDependencies === true) return undefined;
    return { spec, candidates };
  };
  /** The node a spec resolves to; undefined when nothing provides it; the candidates when none has the version. */
  const resolveSpec = (spec: string): number | undefined | UnsatisfiedDependency => {
    // Provider names hold no version operator: a spec found as it is is a plain name.
    const direct = providerIndex.get(spec);
    if (direct !== undefined) return direct;
    const name = dependencyName(spec);
    return compare !== undefined && name.length < spec.length ? constrainedProvider(spec) : providerIndex.get(name);
  };
  /** Interned specs: each table entry resolved on first use (`UNRESOLVED`: not yet). */
  const interned = input.interned;
  const UNRESOLVED = -1;
  const internedFound: (number | undefined | UnsatisfiedDependency)[] = interned !== undefined ? new Array<number>(interned.table.length).fill(UNRESOLVED) : [];
  /** `seen[p] === i + 1` while node i's edges are collected: p is already among them. */
  const seen = new Int32Array(n);
  // Edges as found (per node, in the order its specs name them): node i's are found[start[i]] … found[start[i + 1] - 1].
  let found = new Int32Array(Math.max(16, interned?.specs.length ?? n * 4));
  let edgeCount = 0;
  const depStart = new Int32Array(n + 1);
  const dependentCount = new Int32Array(n);
  const addEdge = (i: number, d: number): void => {
    if (d === i || seen[d] === i + 1) return;
    seen[d] = i + 1;
    if (edgeCount === found.length) {
      const grown = new Int32Array(found.length * 2);
      grown.set(found);
      found = grown;
    }
    found[edgeCount++] = d;
    dependentCount[d]!++;
  };
  /** The names nothing provides, of the node whose edges are being collected. */
  let missing: string[] | undefined;
  /** Records what a spec of node i resolved to: an edge, a name nothing provides, or the candidates of none with the version. */
  const add = (i: number, spec: string, resolved: number | undefined | UnsatisfiedDependency): void => {
    if (typeof resolved === 'object') {
      const list = unsatisfied.get(nodes[i]!);
      if (list === undefined) unsatisfied.set(nodes[i]!, [resolved]);
      else if (!list.some((u) => u.spec === resolved.spec)) list.push(resolved);
    } else if (resolved === undefined) {
      if (input.externalDependencies === true) return;
      const name = dependencyName(spec);
      missing ??= [];
      if (!missing.includes(name)) missing.push(name);
    } else addEdge(i, resolved);
  };
  for (let i = 0; i < n; i++) {
    depStart[i] = edgeCount;
    const recipe = recipeOfNode[i];
    if (recipe === undefined) continue;
    missing = undefined;
    if (interned !== undefined) {
      const p = positionOfNode[i]!;
      for (let k = interned.starts[p]!, end = interned.starts[p + 1]!; k < end; k++) {
        const t = interned.specs[k]!;
        let resolved = internedFound[t];
        if (resolved === UNRESOLVED) resolved = internedFound[t] = resolveSpec(interned.table[t]!);
        // Edges, the common case, need not the spec's text.
        if (typeof resolved === 'number') addEdge(i, resolved);
        else add(i, interned.table[t]!, resolved);
      }
    } else {
      // Indexed loops: this runs mostly before V8 optimizes it, and an unoptimized for…of makes an iterator result per item.
      const { depends, buildDepends } = recipe;
      for (let k = 0; k < depends.length; k++) add(i, depends[k]!, resolveSpec(depends[k]!));
      for (let k = 0; k < buildDepends.length; k++) add(i, buildDepends[k]!, resolveSpec(buildDepends[k]!));
    }
    if (missing !== undefined) unresolved.set(nodes[i]!, missing);
  }
  depStart[n] = edgeCount;
  // Index order is id order. Dependents filled in node order come out sorted, and so do
  // dependencies filled back from them (over the edges as found): no sort per node (an INDEX port has ~27 edges).
  const dependentStart = new Int32Array(n + 1);
  for (let d = 0; d < n; d++) dependentStart[d + 1] = dependentStart[d]! + dependentCount[d]!;
  const dependentList = new Int32Array(edgeCount);
  const filled = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let k = depStart[i]!, end = depStart[i + 1]!; k < end; k++) {
      const d = found[k]!;
      dependentList[dependentStart[d]! + filled[d]!++] = i;
    }
  }
  filled.fill(0);
  // Every entry is written below: `found` is reused when it is exactly full, else nothing of it needs copying.
  const depList = found.length === edgeCount ? found : new Int32Array(edgeCount);
  for (let d = 0; d < n; d++) {
    for (let k = dependentStart[d]!, end = dependentStart[d + 1]!; k < end; k++) {
      const i = dependentList[k]!;
      depList[depStart[i]! + filled[i]!++] = d;
    }
  }

  const deps = new EdgeView(nodes, indexOf, depStart, depList);
  const dependents = new EdgeView(nodes, indexOf, dependentStart, dependentList);
  const { order: orderIdx, placed } = topologicalOrder(depStart, depList, dependentStart, dependentList);
  // Kahn's algorithm places every node exactly when there is no cycle: only then is there nothing to find.
  const cycles = placed < n ? findCycles(depStart, depList, orderIdx.subarray(placed)).map((component) => component.map((i) => nodes[i]!)) : [];
  const cyclePaths = cycles.map((c) => shortestCycle(c, deps));
  const order = new Array<RecipeId>(n);
  for (let k = 0; k < n; k++) order[k] = nodes[orderIdx[k]!]!;
  return {
    recipes,
    deps,
    dependents,
    unresolved,
    unsatisfied,
    cycles,
    cyclePaths,
    order,
    providerConflicts,
    indexed: { nodes, depStart, depList, dependentStart, dependentList, order: orderIdx, recipes: recipeOfNode, indexOf },
  };
}

/**
 * Kahn's algorithm over indexes; nodes that never become ready (on or behind a cycle) are appended in index order.
 * `placed`: how many became ready (all of them when the graph has no cycle).
 */
function topologicalOrder(depStart: Int32Array, depList: Int32Array, dependentStart: Int32Array, dependentList: Int32Array): { order: Int32Array; placed: number } {
  const n = depStart.length - 1;
  const remaining = new Int32Array(n);
  const order = new Int32Array(n);
  let placed = 0;
  for (let i = 0; i < n; i++) {
    remaining[i] = depStart[i + 1]! - depStart[i]!;
    if (remaining[i] === 0) order[placed++] = i;
  }
  for (let k = 0; k < placed; k++) {
    const ready = order[k]!;
    for (let e = dependentStart[ready]!, end = dependentStart[ready + 1]!; e < end; e++) {
      const dependent = dependentList[e]!;
      if (--remaining[dependent]! === 0) order[placed++] = dependent;
    }
  }
  if (placed < n) {
    const isPlaced = new Uint8Array(n);
    for (let k = 0; k < placed; k++) isPlaced[order[k]!] = 1;
    for (let i = 0, k = placed; i < n; i++) if (isPlaced[i] === 0) order[k++] = i;
  }
  return { order, placed };
}

/**
 * Tarjan's strongly connected components over indexes, iteratively (deep graphs
 * must not overflow the stack). Components of more than one node, members sorted,
 * components sorted by first member.
 *
 * Only among `unplaced`, the nodes Kahn's algorithm could not order: a node it placed depends
 * only on placed nodes, so no cycle goes through one. Placed nodes are never visited (a tree of
 * thousands with a few cycles searches a few dozen nodes).
 */
function findCycles(depStart: Int32Array, depList: Int32Array, unplaced: Int32Array): number[][] {
  const n = depStart.length - 1;
  // -1: not visited yet; -2: placed, never visited.
  const index = new Int32Array(n).fill(-2);
  for (let k = 0; k < unplaced.length; k++) index[unplaced[k]!] = -1;
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const next = new Int32Array(n);
  const stack: number[] = [];
  const work: number[] = [];
  const cycles: number[][] = [];
  let counter = 0;
  for (let r = 0; r < unplaced.length; r++) {
    const root = unplaced[r]!;
    if (index[root] !== -1) continue;
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    work.push(root);
    while (work.length > 0) {
      const v = work[work.length - 1]!;
      if (next[v]! < depStart[v + 1]! - depStart[v]!) {
        const w = depList[depStart[v]! + next[v]!++]!;
        if (index[w] === -2) continue;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push(w);
        } else if (onStack[w] === 1) {
          low[v] = Math.min(low[v]!, index[w]!);
        }
      } else {
        work.pop();
        const parent = work[work.length - 1];
        if (parent !== undefined) low[parent] = Math.min(low[parent]!, low[v]!);
        if (low[v] === index[v]) {
          const component: number[] = [];
          let member: number;
          do {
            member = stack.pop()!;
            onStack[member] = 0;
            component.push(member);
          } while (member !== v);
          if (component.length > 1) cycles.push(component.sort((a, b) => a - b));
        }
      }
    }
  }
  return cycles.sort((a, b) => a[0]! - b[0]!);
}

/** A shortest cycle through the first member of a component (breadth-first inside it). */
function shortestCycle(component: readonly RecipeId[], deps: ReadonlyMap<RecipeId, readonly RecipeId[]>): RecipeId[] {
  const members = new Set(component);
  const start = component[0]!;
  const parent = new Map<RecipeId, RecipeId>();
  const queue: RecipeId[] = [start];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    for (const to of deps.get(id)!) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path: RecipeId[] = [start];
        for (let at: RecipeId | undefined = id; at !== undefined && at !== start; at = parent.get(at)) path.push(at);
        path.push(start);
        // `path` runs backwards along dependency edges: start <- … ; show it as "a depends on b depends on …".
        return [start, ...path.slice(1, -1).reverse(), start];
      }
      if (!parent.has(to) && to !== start) {
        parent.set(to, id);
        queue.push(to);
      }
    }
  }
  return [...component, start];
}
