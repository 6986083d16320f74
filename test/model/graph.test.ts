import { describe, expect, it } from 'vitest';
import { dependencyName } from '../../src/model/graph.js';
import type { Recipe } from '../../src/model/types.js';
import { graphOf, recipe } from '../helpers/model.js';

const asObject = (map: ReadonlyMap<string, readonly string[]>): Record<string, readonly string[]> => Object.fromEntries(map);

describe('dependencyName', () => {
  it.each([
    ['zlib', 'zlib'],
    ['zlib>=1.3', 'zlib'],
    ['zlib<=1.3', 'zlib'],
    ['zlib=1.3.1-2', 'zlib'],
    ['zlib>1', 'zlib'],
    ['zlib<2', 'zlib'],
    ['libz.so=1-64', 'libz.so'],
    ['gtk+3>=3.24', 'gtk+3'],
  ])('%s -> %s', (spec, name) => {
    expect(dependencyName(spec)).toBe(name);
  });
});

interface EdgeCase {
  readonly name: string;
  readonly recipes: readonly Recipe[];
  readonly invalid?: readonly string[];
  /** Resolved dependencies of every node. */
  readonly deps: Record<string, readonly string[]>;
  readonly unresolved?: Record<string, readonly string[]>;
  readonly conflicts?: readonly { name: string; chosen: string; others: readonly string[] }[];
}

const edgeCases: EdgeCase[] = [
  {
    name: 'depends and buildDepends both make edges',
    recipes: [recipe('libc'), recipe('docgen', { depends: ['libc'] }), recipe('manual', { buildDepends: ['docgen'] })],
    deps: { docgen: ['libc'], libc: [], manual: ['docgen'] },
  },
  {
    name: 'a virtual name resolves through provides',
    recipes: [recipe('mawk', { provides: ['awk'] }), recipe('report-gen', { depends: ['awk'] })],
    deps: { mawk: [], 'report-gen': ['mawk'] },
  },
  {
    name: 'a real package name beats a virtual name provided by another recipe',
    recipes: [recipe('awk'), recipe('mawk', { provides: ['awk'] }), recipe('report-gen', { depends: ['awk'] })],
    deps: { awk: [], mawk: [], 'report-gen': ['awk'] },
  },
  {
    name: 'version constraints are stripped from depends, buildDepends and provides',
    recipes: [
      recipe('libc'),
      recipe('zlib', { provides: ['libz.so=1-64'] }),
      recipe('cmake'),
      recipe('app', { depends: ['libc>=2.40', 'libz.so'], buildDepends: ['cmake<4'] }),
    ],
    deps: { app: ['cmake', 'libc', 'zlib'], cmake: [], libc: [], zlib: [] },
  },
  {
    name: 'duplicate dependencies (also through a virtual name) become one sorted edge list',
    recipes: [recipe('zlib', { provides: ['libz.so'] }), recipe('libc'), recipe('app', { depends: ['zlib', 'libc', 'libz.so'], buildDepends: ['zlib>=1'] })],
    deps: { app: ['libc', 'zlib'], libc: [], zlib: [] },
  },
  {
    name: 'a recipe depending on itself or on a name it provides has no self-edge',
    recipes: [recipe('perl', { depends: ['perl', 'perl-base'], provides: ['perl-base'] })],
    deps: { perl: [] },
  },
  {
    name: 'a dependency nothing provides is unresolved (constraint stripped, listed once); the rest still resolves',
    recipes: [recipe('libc'), recipe('app', { depends: ['libc', 'libfoo>=2'], buildDepends: ['libfoo', 'ghost'] })],
    deps: { app: ['libc'], libc: [] },
    unresolved: { app: ['libfoo', 'ghost'] },
  },
  {
    name: 'an invalid recipe is a node: its dependents get an edge to it, not an unresolved name',
    recipes: [recipe('app', { depends: ['broken'] })],
    invalid: ['broken'],
    deps: { app: ['broken'], broken: [] },
  },
  {
    name: 'a virtual name provided by several recipes: the first by id is chosen and the conflict reported',
    recipes: [recipe('nawk', { provides: ['awk'] }), recipe('gawk', { provides: ['awk'] }), recipe('mawk', { provides: ['awk'] }), recipe('app', { depends: ['awk'] })],
    deps: { app: ['gawk'], gawk: [], mawk: [], nawk: [] },
    conflicts: [{ name: 'awk', chosen: 'gawk', others: ['mawk', 'nawk'] }],
  },
];

describe('buildDependencyGraph: edges', () => {
  it.each(edgeCases)('$name', (c) => {
    const graph = graphOf(c.recipes, c.invalid);
    expect(asObject(graph.deps)).toEqual(c.deps);
    expect(asObject(graph.unresolved)).toEqual(c.unresolved ?? {});
    expect(graph.providerConflicts).toEqual(c.conflicts ?? []);
    // dependents are exactly the reverse edges
    const reverse: Record<string, string[]> = Object.fromEntries(Object.keys(c.deps).map((id) => [id, []]));
    for (const [id, deps] of Object.entries(c.deps)) for (const dep of deps) reverse[dep]!.push(id);
    for (const list of Object.values(reverse)) list.sort();
    expect(Object.fromEntries([...graph.dependents].map(([id, list]) => [id, [...list].sort()]))).toEqual(reverse);
  });
});

interface CycleCase {
  readonly name: string;
  readonly recipes: readonly Recipe[];
  readonly cycles: readonly (readonly string[])[];
  readonly paths: readonly (readonly string[])[];
}

const cycleCases: CycleCase[] = [
  { name: 'no cycle in a diamond', recipes: [recipe('d'), recipe('b', { depends: ['d'] }), recipe('c', { depends: ['d'] }), recipe('a', { depends: ['b', 'c'] })], cycles: [], paths: [] },
  { name: 'two packages depending on each other', recipes: [recipe('a', { depends: ['b'] }), recipe('b', { depends: ['a'] })], cycles: [['a', 'b']], paths: [['a', 'b', 'a']] },
  {
    name: 'a three-cycle, path in dependency direction',
    recipes: [recipe('app', { depends: ['zlib'] }), recipe('zlib', { depends: ['libc'] }), recipe('libc', { depends: ['app'] })],
    cycles: [['app', 'libc', 'zlib']],
    paths: [['app', 'zlib', 'libc', 'app']],
  },
  {
    name: 'a cycle through buildDepends and a virtual name, with a dependent hanging off it',
    recipes: [recipe('gcc', { buildDepends: ['libc'] }), recipe('glibc', { depends: ['cc'], provides: ['libc'] }), recipe('cc-wrapper', { depends: ['gcc'], provides: ['cc'] }), recipe('app', { depends: ['gcc'] })],
    cycles: [['cc-wrapper', 'gcc', 'glibc']],
    paths: [['cc-wrapper', 'gcc', 'glibc', 'cc-wrapper']],
  },
  {
    name: 'a component with a chord: the shortest cycle through its first member',
    recipes: [recipe('a', { depends: ['b', 'd'] }), recipe('b', { depends: ['c'] }), recipe('c', { depends: ['d'] }), recipe('d', { depends: ['a'] })],
    cycles: [['a', 'b', 'c', 'd']],
    paths: [['a', 'd', 'a']],
  },
  {
    name: 'two separate cycles, sorted by first member',
    recipes: [recipe('y', { depends: ['z'] }), recipe('z', { depends: ['y'] }), recipe('b', { depends: ['c'] }), recipe('c', { depends: ['b'] }), recipe('ok')],
    cycles: [
      ['b', 'c'],
      ['y', 'z'],
    ],
    paths: [
      ['b', 'c', 'b'],
      ['y', 'z', 'y'],
    ],
  },
];

describe('buildDependencyGraph: cycles', () => {
  it.each(cycleCases)('$name', (c) => {
    const graph = graphOf(c.recipes);
    expect(graph.cycles).toEqual(c.cycles);
    expect(graph.cyclePaths).toEqual(c.paths);
    // every step of a reported path is a real edge
    for (const path of graph.cyclePaths) {
      for (let i = 0; i + 1 < path.length; i++) expect(graph.deps.get(path[i]!)).toContain(path[i + 1]);
    }
  });
});

describe('buildDependencyGraph: cycles of random graphs', () => {
  /** The components of more than one node, from mutual reachability (Floyd–Warshall): the plain definition. */
  function reference(ids: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[][] {
    const n = ids.length;
    const at = new Map(ids.map((id, i) => [id, i]));
    const reach = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => i === j || (deps.get(ids[i]!) ?? []).includes(ids[j]!)));
    for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) if (reach[i]![k]) for (let j = 0; j < n; j++) if (reach[k]![j]) reach[i]![j] = true;
    const seen = new Set<number>();
    const components: string[][] = [];
    for (let i = 0; i < n; i++) {
      if (seen.has(i)) continue;
      const members = ids.filter((_, j) => reach[i]![j] && reach[j]![i]);
      for (const m of members) seen.add(at.get(m)!);
      if (members.length > 1) components.push([...members].sort());
    }
    return components.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  }

  it('are the components of mutually reachable recipes, whatever hangs off them or lies before them', () => {
    let seed = 11;
    const random = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % k;
    };
    for (let round = 0; round < 300; round++) {
      const n = 2 + random(24);
      const ids = Array.from({ length: n }, (_, i) => `p${String(i).padStart(2, '0')}`);
      // Mostly edges to lower ids (acyclic), some back: cycles, nodes behind them and nodes before them.
      const deps = new Map(ids.map((id, i) => [id, [...new Set(Array.from({ length: random(4) }, () => (random(6) === 0 ? ids[random(n)]! : ids[random(i + 1)]!)))].filter((d) => d !== id)]));
      const graph = graphOf(ids.map((id) => recipe(id, { depends: deps.get(id)! })));
      expect(graph.cycles.map((c) => [...c]), JSON.stringify([...deps])).toEqual(reference(ids, deps));
    }
  });
});

describe('buildDependencyGraph: topological order', () => {
  it('puts every dependency before its dependents, ties in id order', () => {
    const graph = graphOf([
      recipe('imagetool', { depends: ['libpng'] }),
      recipe('libpng', { depends: ['zlib'] }),
      recipe('zlib', { depends: ['libc'] }),
      recipe('libc'),
      recipe('mawk', { depends: ['libc'], provides: ['awk'] }),
      recipe('report-gen', { depends: ['awk'] }),
      recipe('docgen', { depends: ['libc'] }),
      recipe('manual', { buildDepends: ['docgen'] }),
    ]);
    expect(graph.order).toEqual(['libc', 'docgen', 'mawk', 'zlib', 'manual', 'report-gen', 'libpng', 'imagetool']);
  });

  it('places nodes on or behind a cycle last, in id order, and everything else before them', () => {
    const graph = graphOf([recipe('a', { depends: ['b'] }), recipe('b', { depends: ['a'] }), recipe('c', { depends: ['a'] }), recipe('base'), recipe('top', { depends: ['base'] })]);
    expect(graph.order).toEqual(['base', 'top', 'a', 'b', 'c']);
  });

  it('includes invalid recipes as nodes without dependencies', () => {
    const graph = graphOf([recipe('app', { depends: ['broken'] })], ['broken']);
    expect(graph.order).toEqual(['broken', 'app']);
    expect(graph.recipes.has('broken' as Recipe['id'])).toBe(false);
  });

  it('orders a long chain without overflowing the stack', () => {
    const n = 20_000;
    const recipes = Array.from({ length: n }, (_, i) => recipe(`p${String(i).padStart(5, '0')}`, i > 0 ? { depends: [`p${String(i - 1).padStart(5, '0')}`] } : {}));
    const graph = graphOf([...recipes].reverse());
    expect(graph.order).toEqual(recipes.map((r) => r.id));
    expect(graph.cycles).toEqual([]);
  });
});
