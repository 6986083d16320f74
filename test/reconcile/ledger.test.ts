/**
 * The ledger after a crash: a torn last line (a run killed while appending) is
 * ignored, and records appended after it are not lost. Real files.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendLedger, LEDGER_FORMAT_VERSION, readLedger, type BuildRecord } from '../../src/observe/ledger.js';
import { testdir } from '../helpers/testdir.js';

function record(recipe: string, status: BuildRecord['status']): BuildRecord {
  return { formatVersion: LEDGER_FORMAT_VERSION, kind: 'build', at: '2026-01-01T00:00:00.000Z', runId: 'r1', branch: 'main', recipe, packages: [recipe], version: '1.0-1', fingerprint: `fp-${recipe}`, status };
}

describe('the ledger after a crash', () => {
  it('ignores a torn last line with a warning', () => {
    const state = testdir({});
    writeFileSync(path.join(state, 'ledger.jsonl'), `${JSON.stringify(record('a', 'built'))}\n{"formatVersion":1,"kind":"bu`);
    const ledger = readLedger(state, 'state');
    expect(ledger.records).toBe(1);
    expect(ledger.diagnostics.map((d) => [d.severity, d.line])).toEqual([['warning', 2]]);
    expect(ledger.diagnostics[0]?.message).toContain('last ledger line is incomplete');
  });

  it('does not let a torn last line swallow the next record appended', async () => {
    const state = testdir({});
    writeFileSync(path.join(state, 'ledger.jsonl'), `${JSON.stringify(record('a', 'built'))}\n{"formatVersion":1,"kind":"bu`);
    await appendLedger(state, [record('b', 'failed')]);
    await appendLedger(state, [record('c', 'built')]);

    const ledger = readLedger(state, 'state');
    expect(ledger.records).toBe(3);
    expect(ledger.branches.get('main')?.get('b')?.last?.status).toBe('failed');
    expect(ledger.branches.get('main')?.get('c')?.last?.status).toBe('built');
    // The torn fragment stays on a line of its own, reported and skipped.
    expect(ledger.diagnostics.map((d) => [d.severity, d.line])).toEqual([['warning', 2]]);
    expect(readFileSync(path.join(state, 'ledger.jsonl'), 'utf8').split('\n')).toHaveLength(5); // 4 lines and the final newline
  });
});
