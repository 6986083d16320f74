/**
 * Properties of the ledger reader (observe/ledger.ts's parseLedger) and of the
 * planner over what it reads: a ledger of real records (as reconcile writes them),
 * mutated as bytes or with a field's value replaced by an odd JSON value, gives
 * histories and located warnings, and the plan over them is made without an
 * exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeFingerprints } from '../../src/model/fingerprint.js';
import { buildDependencyGraph } from '../../src/model/graph.js';
import type { PackageName, Recipe, RecipeId } from '../../src/model/types.js';
import { LEDGER_FORMAT_VERSION, parseLedger, type LedgerRecord } from '../../src/observe/ledger.js';
import type { RepoEntry } from '../../src/observe/types.js';
import { computeBranchPlan } from '../../src/plan/computeBranchPlan.js';
import { expectLocated, lineCount, mutateText, mutationsArb, propertyParams } from './mutate.js';

const recipe = (name: string, depends: string[], file: string): Recipe => ({
  id: name as RecipeId,
  name: name as PackageName,
  packages: [name as PackageName],
  version: { version: '1.0', release: '1' },
  depends,
  buildDepends: [],
  provides: [],
  dir: `/src/${name}`,
  file: `recipes/${name}/recipe.yaml`,
  files: { 'recipe.yaml': file },
});

/** Version 1 of a three-recipe branch was built and published; version 2 changes zlib's recipe file. */
const V1 = [recipe('zlib', [], 'z1'), recipe('libpng', ['zlib'], 'p1'), recipe('app', ['libpng'], 'a1')];
const V2 = [recipe('zlib', [], 'z2'), V1[1]!, V1[2]!];
const fingerprintsOf = (recipes: Recipe[]) => {
  const graph = buildDependencyGraph({ recipes, invalidIds: [] });
  return { graph, fingerprints: computeFingerprints(graph, { pipelineDigest: 'p'.repeat(64), prerequisites: {}, rebuild: 'transitive' }) };
};
const built = fingerprintsOf(V1);
const wanted = fingerprintsOf(V2);

/** The ledger reconcile wrote for version 1 (every build, one failure retried), a rejection and a staged build. */
const LEDGER: LedgerRecord[] = [
  ...V1.map((r, i): LedgerRecord => ({
    formatVersion: LEDGER_FORMAT_VERSION,
    kind: 'build',
    at: `2026-11-0${i + 1}T00:00:00.000Z`,
    runId: `r${i}`,
    branch: 'main',
    recipe: r.id,
    packages: [r.id],
    version: '1.0-1',
    fingerprint: built.fingerprints.get(r.id)!.fingerprint,
    status: 'built',
    host: 'local',
    seconds: 3 + i,
    log: `logs/${r.id}.log`,
    inputs: built.fingerprints.get(r.id)!.inputs,
    sourceCommit: 'c'.repeat(40),
  })),
  { formatVersion: LEDGER_FORMAT_VERSION, kind: 'build', at: '2026-11-05T00:00:00.000Z', runId: 'r5', branch: 'main', recipe: 'app', packages: ['app'], version: '1.0-1', fingerprint: 'x'.repeat(64), status: 'failed', phase: 'build' },
  { formatVersion: LEDGER_FORMAT_VERSION, kind: 'review', at: '2026-11-06T00:00:00.000Z', branch: 'main', recipe: 'libpng', version: '1.0-1', fingerprint: 'y'.repeat(64), decision: 'rejected', reason: 'no' },
  { formatVersion: LEDGER_FORMAT_VERSION, kind: 'staged', at: '2026-11-07T00:00:00.000Z', runId: 'r7', branch: 'main', recipe: 'zlib', version: '1.0-1', fingerprint: 'z'.repeat(64), repo: 'main' },
];
const TEXT = LEDGER.map((r) => `${JSON.stringify(r)}\n`).join('');

const REPO: RepoEntry[] = V1.map((r) => ({ name: r.id, version: '1.0-1', file: `${r.id}.pkg`, sha256: 's', size: 1, depends: [], provides: [], fingerprint: built.fingerprints.get(r.id)!.fingerprint }));

function check(text: string): void {
  const snapshot = parseLedger(text, 'state/ledger.jsonl');
  expectLocated(snapshot.diagnostics, lineCount(text));
  for (const d of snapshot.diagnostics) expect(d.severity).toBe('warning');
  computeBranchPlan({
    branch: { name: 'main', duds: [], repos: [{ name: 'main', packages: ['*'], prune: true }] },
    graph: wanted.graph,
    invalid: [],
    fingerprints: wanted.fingerprints,
    observed: { repos: new Map([['main', { name: 'main', path: '/r', entries: new Map(REPO.map((e) => [e.name, e])) }]]), history: snapshot.branches.get('main') ?? new Map() },
    hosts: [{ name: 'local', power: 1, labels: [], up: true }],
  });
}

/** Odd JSON values for a field. */
const odd = fc.oneof(fc.constantFrom(null, [], {}, '', 0, true, 'built', { recipe: null }), fc.jsonValue({ maxDepth: 2 }));

/** A path to a field of a record (inputs' fields included) and the value put there. */
const fieldEdit = fc.record({
  line: fc.nat(LEDGER.length - 1),
  path: fc.constantFrom(['kind'], ['branch'], ['recipe'], ['fingerprint'], ['status'], ['version'], ['inputs'], ['inputs', 'recipe'], ['inputs', 'dependencies'], ['inputs', 'prerequisites'], ['inputs', 'version'], ['decision'], ['reason'], ['seconds'], ['packages']),
  value: odd,
});

function edit(records: readonly LedgerRecord[], e: { line: number; path: readonly string[]; value: unknown }): string {
  return records
    .map((r, i) => {
      if (i !== e.line) return JSON.stringify(r);
      const copy = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
      let target = copy;
      for (const key of e.path.slice(0, -1)) {
        if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
        target = target[key] as Record<string, unknown>;
      }
      target[e.path[e.path.length - 1]!] = e.value;
      return JSON.stringify(copy);
    })
    .map((l) => `${l}\n`)
    .join('');
}

describe('the ledger (observe/ledger.ts) and the plan over it', () => {
  it('the real ledger reads without a diagnostic and plans zlib, libpng and app', () => {
    const snapshot = parseLedger(TEXT, 'state/ledger.jsonl');
    expect(snapshot.diagnostics).toEqual([]);
    expect(snapshot.records).toBe(LEDGER.length);
    check(TEXT);
  });

  it('mutated bytes: histories and located warnings, and a plan', () => {
    fc.assert(fc.property(mutationsArb, (mutations) => check(mutateText(TEXT, mutations))), propertyParams());
  });

  it('a field of a record replaced by an odd JSON value: histories and located warnings, and a plan', () => {
    fc.assert(fc.property(fieldEdit, (e) => check(edit(LEDGER, e))), propertyParams(300));
  });
});
