/**
 * parseLedger over lines of the current format with a field missing or of the
 * wrong type. The counterexample of the ledger property
 * (test/property/ledger.test.ts), kept as a regression test: a build line with
 * `"inputs": {}` made the next plan throw a TypeError (its inputs are compared
 * field by field); such lines are now ignored with a located warning.
 */
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/config/diagnostic.js';
import { diffInputs, type FingerprintInputs } from '../../src/model/fingerprint.js';
import { parseLedger } from '../../src/observe/ledger.js';

const INPUTS: FingerprintInputs = { format: 1, recipe: { 'recipe.yaml': 'h' }, version: '1.0-1', pipeline: 'p', prerequisites: {}, rebuild: 'transitive', dependencies: {} };
const build = (extra: Record<string, unknown>): string =>
  JSON.stringify({ formatVersion: 1, kind: 'build', at: '2026-11-24T00:00:00.000Z', runId: 'r', branch: 'main', recipe: 'zlib', packages: ['zlib'], version: '1.0-1', fingerprint: 'f', status: 'built', inputs: INPUTS, ...extra });
const WARNING = 'state/ledger.jsonl:2:1: warning: ledger line with a field missing or of the wrong type; it is ignored\n  hint: the line was edited by hand or written by another tool: correct it or delete it';

describe('parseLedger: lines of the wrong shape', () => {
  it.each([
    ['inputs {}', { inputs: {} }],
    ['inputs.recipe null', { inputs: { ...INPUTS, recipe: null } }],
    ['a status of another kind', { status: 'exploded' }],
    ['no recipe', { recipe: undefined }],
    ['seconds as text', { seconds: '3' }],
  ])('%s: ignored with a located warning; the earlier line stands', (_, extra) => {
    const snapshot = parseLedger(`${build({ fingerprint: 'good' })}\n${build({ ...extra, fingerprint: 'bad' })}\n`, 'state/ledger.jsonl');
    expect(snapshot.diagnostics.map(formatDiagnostic)).toEqual([WARNING]);
    const history = snapshot.branches.get('main')!.get('zlib')!;
    expect(history.last?.fingerprint).toBe('good');
    // What the planner does with the inputs it finds: compare them with the desired ones.
    expect(diffInputs(history.builtInputs.get('good')!, INPUTS)).toEqual([]);
  });
});
