/**
 * The dependency graph of a branch: every recipe's `depends` and `buildDepends`
 * resolved to recipes (directly by package name, or through `provides`),
 * cycles found, and a topological order. Pure.
 */
import type { Recipe, RecipeId } from './types.js';

export interface DependencyGraph {
  /** Recipes by id (valid ones only). */
  readonly recipes: ReadonlyMap<RecipeId, Recipe>;
  /** Resolved dependencies of each node (sorted, unique, no self-edges). */
  readonly deps: ReadonlyMap<RecipeId, readonly RecipeId[]>;
  /** Reverse edges. */
  readonly dependents: ReadonlyMap<RecipeId, readonly RecipeId[]>;
  /** Dependency names no recipe provides, per recipe. */
  readonly unresolved: ReadonlyMap<RecipeId, readonly string[]>;
  /** Strongly connected components with more than one node: each a dependency cycle. Members sorted. */
  readonly cycles: readonly (readonly RecipeId[])[];
  /** One concrete cycle path per entry of `cycles` (first node repeated at the end). */
  readonly cyclePaths: readonly (readonly RecipeId[])[];
  /** All nodes, dependencies before dependents; nodes on or behind a cycle come last in id order. */
  readonly order: readonly RecipeId[];
  /** Virtual names provided by several recipes, and the one chosen (the first by id). */
  readonly providerConflicts: readonly { readonly name: string; readonly chosen: RecipeId; readonly others: readonly RecipeId[] }[];
}

/** `zlib>=1.3` → `zlib`. */
export function dependencyName(spec: string): string {
  for (let i = 0; i < spec.length; i++) {
    const c = spec.charCodeAt(i);
    if (c === 60 /* < */ || c === 61 /* = */ || c === 62 /* > */) return spec.slice(0, i);
  }
  return spec;
}

export interface GraphInput {
  readonly recipes: readonly Recipe[];
  /** Ids of recipes that could not be read: they are nodes (so dependents are skipped, not unresolvable) without edges. */
  readonly invalidIds: readonly RecipeId[];
}

export function buildDependencyGraph(input: GraphInput): DependencyGraph {
  const recipes = new Map<RecipeId, Recipe>();
  for (const recipe of input.recipes) recipes.set(recipe.id, recipe);

  // Package names first; then virtual names, which never override a real package.
  const providers = new Map<string, RecipeId>();
  for (const id of input.invalidIds) providers.set(id, id);
  for (const recipe of input.recipes) for (const name of recipe.packages) providers.set(name, recipe.id);
  const virtual = new Map<string, RecipeId[]>();
  for (const recipe of input.recipes) {
    for (const spec of recipe.provides) {
      const name = dependencyName(spec);
      if (providers.has(name)) continue;
      const list = virtual.get(name);
      if (list === undefined) virtual.set(name, [recipe.id]);
      else list.push(recipe.id);
    }
  }
  const providerConflicts: { name: string; chosen: RecipeId; others: RecipeId[] }[] = [];
  for (const [name, ids] of virtual) {
    const sorted = [...new Set(ids)].sort();
    providers.set(name, sorted[0]!);
    if (sorted.length > 1) providerConflicts.push({ name, chosen: sorted[0]!, others: sorted.slice(1) });
  }

  const nodes: RecipeId[] = [...recipes.keys(), ...input.invalidIds].sort();
  const deps = new Map<RecipeId, RecipeId[]>();
  const unresolved = new Map<RecipeId, string[]>();
  const dependents = new Map<RecipeId, RecipeId[]>();
  for (const id of nodes) dependents.set(id, []);
  for (const id of nodes) {
    const recipe = recipes.get(id);
    const resolved = new Set<RecipeId>();
    const missing: string[] = [];
    if (recipe !== undefined) {
      for (const list of [recipe.depends, recipe.buildDepends]) {
        for (const spec of list) {
          const name = dependencyName(spec);
          const provider = providers.get(name);
          if (provider === undefined) {
            if (!missing.includes(name)) missing.push(name);
          } else if (provider !== id) resolved.add(provider);
        }
      }
    }
    const list = [...resolved].sort();
    deps.set(id, list);
    for (const dep of list) dependents.get(dep)!.push(id);
    if (missing.length > 0) unresolved.set(id, missing);
  }

  const { cycles, cyclePaths } = findCycles(nodes, deps);
  const order = topologicalOrder(nodes, deps, dependents);
  return { recipes, deps, dependents, unresolved, cycles, cyclePaths, order, providerConflicts };
}

/** Kahn's algorithm; nodes that never become ready (on or behind a cycle) are appended in id order. */
function topologicalOrder(nodes: readonly RecipeId[], deps: ReadonlyMap<RecipeId, readonly RecipeId[]>, dependents: ReadonlyMap<RecipeId, readonly RecipeId[]>): RecipeId[] {
  const remaining = new Map<RecipeId, number>();
  const queue: RecipeId[] = [];
  for (const id of nodes) {
    const n = deps.get(id)!.length;
    remaining.set(id, n);
    if (n === 0) queue.push(id);
  }
  const order: RecipeId[] = [];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    order.push(id);
    for (const dependent of dependents.get(id)!) {
      const n = remaining.get(dependent)! - 1;
      remaining.set(dependent, n);
      if (n === 0) queue.push(dependent);
    }
  }
  if (order.length < nodes.length) {
    const placed = new Set(order);
    for (const id of nodes) if (!placed.has(id)) order.push(id);
  }
  return order;
}

/** Tarjan's strongly connected components, iteratively (deep graphs must not overflow the stack). */
function findCycles(nodes: readonly RecipeId[], deps: ReadonlyMap<RecipeId, readonly RecipeId[]>): { cycles: RecipeId[][]; cyclePaths: RecipeId[][] } {
  const index = new Map<RecipeId, number>();
  const low = new Map<RecipeId, number>();
  const onStack = new Set<RecipeId>();
  const stack: RecipeId[] = [];
  const cycles: RecipeId[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { id: RecipeId; next: number }[] = [{ id: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter);
    counter++;
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = deps.get(frame.id)!;
      if (frame.next < edges.length) {
        const to = edges[frame.next++]!;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter);
          counter++;
          stack.push(to);
          onStack.add(to);
          work.push({ id: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.id, Math.min(low.get(frame.id)!, index.get(to)!));
        }
      } else {
        work.pop();
        const parent = work[work.length - 1];
        if (parent !== undefined) low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.id)!));
        if (low.get(frame.id) === index.get(frame.id)) {
          const component: RecipeId[] = [];
          let member: RecipeId;
          do {
            member = stack.pop()!;
            onStack.delete(member);
            component.push(member);
          } while (member !== frame.id);
          if (component.length > 1) cycles.push(component.sort());
        }
      }
    }
  }
  cycles.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  return { cycles, cyclePaths: cycles.map((c) => shortestCycle(c, deps)) };
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
