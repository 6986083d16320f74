/**
 * State files buildfleet writes for itself, damaged: a git source's file-digest cache and a
 * staged build's `staged.json`. A damaged entry is no record (hashed again; not staged, with a
 * warning), never a TypeError, and a staged file name never points outside the staged build.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStaged, STAGED_FILE } from '../../src/observe/staging.js';
import { readTreeDigests } from '../../src/sources/gitSource.js';
import { testdir } from '../helpers/testdir.js';

const DIGEST = 'b'.repeat(64);

describe('readTreeDigests', () => {
  it('keeps the well-formed trees and drops the rest', () => {
    const file = path.join(testdir({}), 'digests.json');
    for (const text of ['{torn', 'null', '{"formatVersion":1,"trees":null}', '{"formatVersion":2,"trees":{}}']) {
      writeFileSync(file, text);
      expect(readTreeDigests(file)).toEqual({});
    }
    writeFileSync(file, JSON.stringify({ formatVersion: 1, trees: { good: { 'recipe.yaml': DIGEST }, nothing: null, list: [DIGEST], number: { 'recipe.yaml': 1 } } }));
    expect(readTreeDigests(file)).toEqual({ good: { 'recipe.yaml': DIGEST } });
  });
});

describe('readStaged', () => {
  it('ignores, with a warning, a staged build whose entries are damaged or name a file outside it', () => {
    const state = testdir({});
    const entry = { name: 'zlib', version: '1.3-1', file: 'zlib-1.3-1.tar.gz', sha256: DIGEST, size: 5, depends: [], provides: [], fingerprint: DIGEST };
    const staged = { formatVersion: 1, recipe: 'zlib', version: '1.3-1', fingerprint: DIGEST, repo: 'main', stagedAt: '2026-11-24T10:00:00Z', entries: [entry] };
    const write = (value: unknown): void => {
      mkdirSync(path.join(state, 'main/staged/zlib'), { recursive: true });
      writeFileSync(path.join(state, 'main/staged/zlib', STAGED_FILE), JSON.stringify(value));
    };
    write(staged);
    expect([...readStaged(state, 'main', 'var').staged.keys()]).toEqual(['zlib']);
    for (const damaged of [null, { ...staged, entries: [null] }, { ...staged, entries: [{ ...entry, file: '../../../etc/passwd' }] }, { ...staged, entries: [{ ...entry, depends: null }] }]) {
      write(damaged);
      const read = readStaged(state, 'main', 'var');
      expect(read.staged.size).toBe(0);
      expect(read.diagnostics.map((d) => `${d.file}: ${d.message}`)).toEqual(['var/main/staged/zlib/staged.json: staged build of an unknown format; it is ignored']);
    }
  });
});
