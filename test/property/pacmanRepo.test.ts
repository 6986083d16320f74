/**
 * Properties of reading a pacman repository (observe/pacmanRepo.ts): a real
 * sync database (malr-core, 261 packages) mutated as bytes — of the tar inside
 * or of the gzip around it — and random sidecar records beside it give entries
 * or an error naming the file, never an exception.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pacmanRepoFiles, readPacmanRepo, type PacmanRepoRead } from '../../src/observe/pacmanRepo.js';
import { corpus } from '../helpers/corpora.js';
import { expectLocated, mutate, mutationsArb, propertyParams } from './mutate.js';

const GZ = readFileSync(corpus('archdb/malr-core.db.tar.gz'));
const TAR = gunzipSync(GZ);
const NAMES = pacmanRepoFiles('core');
let dir: string;

/** A one-package database (zlib's entry of malr-core), for the sidecar property. */
let ZLIB_DB: Buffer;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-prop-pacman-'));
  const work = path.join(dir, 'zlib');
  mkdirSync(work);
  execFileSync('bsdtar', ['--no-fflags', '-xzf', corpus('archdb/malr-core.db.tar.gz'), '-C', work, 'zlib-1:1.2.12-2']);
  ZLIB_DB = execFileSync('bsdtar', ['-czf', '-', '--format', 'pax', '-C', work, 'zlib-1:1.2.12-2']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function read(db: Buffer, sidecar?: string): PacmanRepoRead {
  writeFileSync(path.join(dir, NAMES.dbLink), db);
  if (sidecar !== undefined) writeFileSync(path.join(dir, NAMES.sidecar), sidecar);
  else rmSync(path.join(dir, NAMES.sidecar), { force: true });
  return readPacmanRepo(dir, 'core', 'repo');
}

function check(r: PacmanRepoRead): void {
  expectLocated(r.diagnostics, Number.MAX_SAFE_INTEGER);
  for (const d of r.diagnostics) expect(d.file.startsWith('repo/')).toBe(true);
  for (const [name, entry] of r.entries) {
    expect(entry.name).toBe(name);
    expect(typeof entry.version).toBe('string');
    expect(typeof entry.fingerprint).toBe('string');
  }
}

describe('readPacmanRepo over a mutated real database', () => {
  it('the real database reads: 261 packages (and the one-package extract of it: zlib)', () => {
    const r = read(GZ);
    expect(r.diagnostics).toEqual([]);
    expect(r.entries.size).toBe(261);
    expect([...read(ZLIB_DB).entries.keys()]).toEqual(['zlib']);
  });

  it('mutated tar (uncompressed database): entries or an error, never a throw', () => {
    fc.assert(fc.property(mutationsArb, (mutations) => check(read(mutate(TAR, mutations)))), propertyParams(20));
  });

  it('mutated gzip: entries or an error, never a throw', () => {
    fc.assert(fc.property(mutationsArb, (mutations) => check(read(mutate(GZ, mutations)))), propertyParams(15));
  });
});

describe('readPacmanRepo with random sidecar records', () => {
  const file = 'zlib-1:1.2.12-2-x86_64.pkg.tar.zst';
  /** JSON values, often the odd ones out of a record's shape. */
  const odd = fc.oneof(fc.constantFrom(null, [], {}, '', 0, true), fc.jsonValue({ maxDepth: 2 }));
  const often = <T,>(value: T): fc.Arbitrary<T | fc.JsonValue> => fc.oneof(fc.constant(value), odd);
  const record = fc.oneof(
    { weight: 3, arbitrary: fc.record({ name: often('zlib'), sha256: fc.oneof(fc.string(), odd), fingerprint: often('f'.repeat(64)), recipe: often('zlib') }, { requiredKeys: ['name'] }) },
    { weight: 1, arbitrary: odd },
  );
  const sidecar = fc.oneof(
    { weight: 4, arbitrary: fc.record({ formatVersion: often(1), packages: fc.oneof(fc.dictionary(fc.oneof(fc.constant(file), fc.string()), record, { maxKeys: 4 }), odd) }, { requiredKeys: ['formatVersion'] }) },
    { weight: 1, arbitrary: odd },
  );
  it('entries or an error naming the sidecar, never a throw', () => {
    fc.assert(
      fc.property(sidecar, fc.nat(9), (data, cut) => {
        // Now and then cut short, as by a crash while writing it.
        const text = JSON.stringify(data);
        const r = read(ZLIB_DB, cut === 0 ? text.slice(0, -1) : text);
        check(r);
        if (r.diagnostics.length > 0) expect(r.diagnostics[0]!.file).toBe(`repo/${NAMES.sidecar}`);
      }),
      propertyParams(100),
    );
  });
});
