/**
 * readPacmanRepo over sidecars and databases of the wrong shape. Counterexamples
 * of the property tests (test/property/pacmanRepo.test.ts), kept as regression
 * tests: the first two threw a bare TypeError before; the file names outside the
 * repository were read as they were, and publishing deletes the files the
 * sidecar and the old database name.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/config/diagnostic.js';
import { readPacmanRepo } from '../../src/observe/pacmanRepo.js';
import { corpus } from '../helpers/corpora.js';
import { testdir } from '../helpers/testdir.js';

const ZLIB = 'zlib-1:1.2.12-2';
const FILE = 'zlib-1:1.2.12-2-x86_64.pkg.tar.zst';

/** A repo directory holding a database of malr-core's zlib entry (its desc edited by `edit`), and `sidecar` beside it. */
function repo(sidecar: string | undefined, edit: (desc: string) => string = (d) => d): string {
  const dir = testdir({});
  const work = path.join(dir, 'work');
  mkdirSync(work);
  execFileSync('bsdtar', ['--no-fflags', '-xzf', corpus('archdb/malr-core.db.tar.gz'), '-C', work, ZLIB]);
  const desc = path.join(work, ZLIB, 'desc');
  writeFileSync(desc, edit(readFileSync(desc, 'utf8')));
  mkdirSync(path.join(dir, 'repo'));
  execFileSync('bsdtar', ['-czf', path.join(dir, 'repo', 'core.db'), '--format', 'pax', '-C', work, ZLIB]);
  if (sidecar !== undefined) writeFileSync(path.join(dir, 'repo', 'core.buildfleet.json'), sidecar);
  return path.join(dir, 'repo');
}

const NOT_A_RECORD =
  'repo/core.buildfleet.json: error: not a formatVersion 1 record of buildfleet\'s packages\n  hint: delete the file: the packages of the database are then adopted as they are (their fingerprints are forgotten)';

describe('readPacmanRepo: sidecars of the wrong shape are errors, not exceptions', () => {
  it.each([
    ['packages null', '{"formatVersion":1,"packages":null}'],
    ['a record null', `{"formatVersion":1,"packages":{"${FILE}":null}}`],
    ['packages a list', '{"formatVersion":1,"packages":[]}'],
    ['a fingerprint not text', `{"formatVersion":1,"packages":{"${FILE}":{"name":"zlib","sha256":"x","fingerprint":7,"recipe":"zlib"}}}`],
    ['a record for a file outside the repository', '{"formatVersion":1,"packages":{"../../victim":{"name":"zlib","sha256":"x","fingerprint":"f","recipe":"zlib"}}}'],
  ])('%s', (_, sidecar) => {
    const r = readPacmanRepo(repo(sidecar), 'core', 'repo');
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([NOT_A_RECORD]);
  });

  it('a well-formed record applies to its file', () => {
    const r0 = readPacmanRepo(repo(undefined), 'core', 'repo');
    const entry = r0.entries.get('zlib')!;
    const r = readPacmanRepo(repo(JSON.stringify({ formatVersion: 1, packages: { [FILE]: { name: 'zlib', sha256: entry.sha256, fingerprint: 'f'.repeat(64), recipe: 'zlib' } } })), 'core', 'repo');
    expect(r.diagnostics).toEqual([]);
    expect(r.entries.get('zlib')).toMatchObject({ fingerprint: 'f'.repeat(64), recipe: 'zlib' });
  });

  it('a record applies only to the file of its name and digest: another name or sha256 leaves the entry adopted as it is', () => {
    const entry = readPacmanRepo(repo(undefined), 'core', 'repo').entries.get('zlib')!;
    for (const [name, sha256] of [['zlib-ng', entry.sha256], ['zlib', 'e'.repeat(64)]]) {
      const r = readPacmanRepo(repo(JSON.stringify({ formatVersion: 1, packages: { [FILE]: { name, sha256, fingerprint: 'f'.repeat(64), recipe: 'other' } } })), 'core', 'repo');
      expect(r.diagnostics).toEqual([]);
      expect(r.entries.get('zlib')).toEqual(entry);
    }
  });

  it('with a broken database and a broken sidecar, the database is said', () => {
    const r = readPacmanRepo(repo('{"formatVersion":1,"packages":null}', (d) => d.replace(FILE, '../../victim')), 'core', 'repo');
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([expect.stringContaining('repo/core.db: error: entry')]);
  });

  it('a database entry naming a file outside the repository is an error', () => {
    const r = readPacmanRepo(repo(undefined, (d) => d.replace(FILE, '../../victim')), 'core', 'repo');
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      `repo/core.db: error: entry ${ZLIB}/desc names the file "../../victim", which is not a file of the repository directory\n  hint: restore the database from a backup (repo-add keeps <name>.db.tar.gz.old), or rebuild it with repo-add from the package files`,
    ]);
  });
});
