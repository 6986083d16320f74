/**
 * parsePacmanDatabase walks the tar archive itself (no generator, no copy per
 * member): it must read exactly what tarFiles + parseDesc read, over real
 * databases and over archives GNU tar writes in each header format (ustar
 * prefix, pax path records, GNU long names, `./` members).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveText, parseDesc, parsePacmanDatabase, readArchive, REPO_ENTRY_FIELDS, tarFiles } from '../../src/observe/pacmanRepo.js';
import { corpus } from '../helpers/corpora.js';
import { testdir } from '../helpers/testdir.js';

/** What a database holds, read through the generic tar reader and desc parser. */
function throughTarFiles(archive: Buffer): { dir: string; desc: string; fields: Map<string, string[]> }[] {
  const entries: { dir: string; desc: string; fields: Map<string, string[]> }[] = [];
  for (const file of tarFiles(archive)) {
    if (!file.path.endsWith('/desc')) continue;
    const dir = file.path.slice(0, -'/desc'.length).replace(/^\.\//, '');
    if (dir.includes('/')) continue;
    const desc = Buffer.from(file.body).toString('utf8');
    entries.push({ dir, desc, fields: parseDesc(desc) });
  }
  return entries;
}

describe('parsePacmanDatabase', () => {
  it.each(['malr-core.db.tar.gz', 'malr-multilib.db.tar.gz'])('reads the real %s as tarFiles and parseDesc do', (name) => {
    const archive = readArchive(corpus('archdb', name));
    const entries = parsePacmanDatabase(archive);
    expect(entries.length).toBeGreaterThan(250);
    expect(entries).toEqual(throughTarFiles(archive));
    expect(entries.every((e) => e.fields.get('NAME')?.length === 1)).toBe(true);
  });

  it.each(['ustar', 'pax', 'gnu'])('reads long entry names and UTF-8 descs of a %s archive written by GNU tar', (format) => {
    const dir = testdir({});
    const work = path.join(dir, 'work');
    // 120 + 6 characters: longer than a ustar name field (100), so ustar splits it into prefix/name.
    const long = `${'a'.repeat(60)}/${'b'.repeat(59)}`;
    const names = ['short-1.0-1', 'caf\u00e9-2.0-1', `${'x'.repeat(90)}-1.0-1`];
    for (const n of names) {
      mkdirSync(path.join(work, n), { recursive: true });
      writeFileSync(path.join(work, n, 'desc'), `%NAME%\n${n.split('-')[0]}\n\n%DESC%\nd\u00e9j\u00e0 vu \u{1F600}\n\n%DEPENDS%\nglibc\nzlib>=1.2\n`);
    }
    // A nested desc (not a package entry) is skipped.
    mkdirSync(path.join(work, long), { recursive: true });
    writeFileSync(path.join(work, long, 'desc'), '%NAME%\nnested\n');
    const file = path.join(dir, `db.${format}.tar`);
    execFileSync('tar', ['-cf', file, `--format=${format}`, '-C', work, ...names, long.split('/')[0]!]);
    const dotted = path.join(dir, `db.${format}.dot.tar`);
    execFileSync('tar', ['-cf', dotted, `--format=${format}`, '-C', work, '.']);
    for (const archive of [readFileSync(file), readFileSync(dotted)]) {
      const entries = parsePacmanDatabase(archive);
      expect(entries).toEqual(throughTarFiles(archive));
      expect(entries.map((e) => e.dir).sort()).toEqual([...names].sort());
      for (const e of entries) {
        expect(e.fields.get('DESC')).toEqual(['d\u00e9j\u00e0 vu \u{1F600}']);
        expect(e.fields.get('DEPENDS')).toEqual(['glibc', 'zlib>=1.2']);
      }
    }
    // The long name really took its format's long-name mechanism.
    expect([...tarFiles(readFileSync(file))].map((f) => f.path)).toContain(`${long}/desc`);
  });

  it('reads header fields and text alike through one Latin-1 string and from the bytes (an archive too large for a string)', () => {
    const dir = testdir({});
    const work = path.join(dir, 'work');
    const names = ['plain-1.0-1', 'caf\u00e9-2.0-1'];
    for (const n of names) {
      mkdirSync(path.join(work, n), { recursive: true });
      writeFileSync(path.join(work, n, 'desc'), `%NAME%\n${n}\n\n%DESC%\nd\u00e9j\u00e0 vu \u{1F600}\n`);
    }
    // A file whose name fills the 100 bytes of the name field: no NUL ends it.
    const full = `${'x'.repeat(98)}\u00e9`;
    writeFileSync(path.join(work, full), 'x');
    execFileSync('tar', ['-cf', path.join(dir, 'db.tar'), '--format=ustar', '-C', work, ...names, full]);
    expect([...tarFiles(readFileSync(path.join(dir, 'db.tar')))].map((f) => f.path)).toContain(full);
    const archives = [readFileSync(path.join(dir, 'db.tar')), readArchive(corpus('archdb', 'malr-core.db.tar.gz'))];
    for (const buf of archives) {
      const [text, bytes] = [archiveText(buf), archiveText(buf, 0)];
      // Every block read as a header's name field, and as text (a multi-byte character cut at a block's edge included).
      for (let offset = 0; offset + 512 <= buf.length; offset += 512) {
        expect(text.cString(offset, 100)).toBe(bytes.cString(offset, 100));
        expect(text.utf8(offset, offset + 512)).toBe(bytes.utf8(offset, offset + 512));
      }
    }
  });

  it('with the fields to keep, only those are parsed, the others skipped with their values', () => {
    const archive = readArchive(corpus('archdb', 'malr-core.db.tar.gz'));
    const all = parsePacmanDatabase(archive);
    const kept = parsePacmanDatabase(archive, REPO_ENTRY_FIELDS);
    expect(kept.map((e) => e.dir)).toEqual(all.map((e) => e.dir));
    expect(kept.map((e) => [...e.fields])).toEqual(all.map((e) => [...e.fields].filter(([key]) => REPO_ENTRY_FIELDS.has(key))));
    expect(all.some((e) => e.fields.has('ARCH') && e.fields.has('BUILDDATE'))).toBe(true);
    // A value that looks like a key, in the values of a field not kept, is a value: skipped with them.
    expect([...parseDesc('%URL%\nhttps://x\n%NAME%\n\n%NAME%\nfoo\n', new Set(['NAME']))]).toEqual([['NAME', ['foo']]]);
  });

  it('a truncated archive is an error, as for tarFiles', () => {
    const dir = testdir({ 'work/pkg-1-1/desc': '%NAME%\npkg\n' });
    execFileSync('tar', ['-cf', path.join(dir, 'db.tar'), '--format=ustar', '-C', path.join(dir, 'work'), 'pkg-1-1/desc']);
    // The member's header and 3 of its 13 bytes.
    const cut = readFileSync(path.join(dir, 'db.tar')).subarray(0, 512 + 3);
    expect(() => parsePacmanDatabase(cut)).toThrow(/truncated tar archive/);
    expect(() => [...tarFiles(cut)]).toThrow(/truncated tar archive/);
  });
});
