/**
 * Properties of the line-oriented parsers (.SRCINFO, FreeBSD INDEX, pacman
 * `desc`, duds files, mlists): fed random text and mutated real files from the
 * shared corpora, each returns a value or located diagnostics, and never throws.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMlist } from '../../src/cli/commands/importMlist.js';
import { DUD_NAME_PATTERN, parseDudsFile } from '../../src/config/dudsFile.js';
import { PACKAGE_NAME_PATTERN, VERSION_PART_PATTERN, type InvalidRecipe, type Recipe } from '../../src/model/types.js';
import { parseDesc, repoEntryOf, tarFiles } from '../../src/observe/pacmanRepo.js';
import { parseFreebsdIndex } from '../../src/sources/freebsdIndex.js';
import { locateSrcinfoDependency, parseSrcinfoFile } from '../../src/sources/srcinfoFile.js';
import { corpus } from '../helpers/corpora.js';
import { extractSrcinfoCorpus, type SrcinfoCorpus } from '../helpers/srcinfoCorpus.js';
import { expectLocated, lineCount, mutateText, mutationsArb, propertyParams, textLike } from './mutate.js';

let srcinfo: SrcinfoCorpus;
let srcinfoDirs: string[];
const INDEX_LINES = gunzipSync(readFileSync(corpus('freebsd-INDEX-11.gz'))).toString('utf8').split('\n').filter((l) => l !== '');
const DESCS: string[] = [];
for (const file of tarFiles(gunzipSync(readFileSync(corpus('archdb/malr-core.db.tar.gz'))))) {
  if (file.path.endsWith('/desc')) DESCS.push(Buffer.from(file.body).toString('utf8'));
}

beforeAll(() => {
  srcinfo = extractSrcinfoCorpus();
  srcinfoDirs = execFileSync('ls', [srcinfo.root], { encoding: 'utf8' }).split('\n').filter((d) => d !== '');
});
afterAll(() => srcinfo.remove());

const isInvalid = (r: Recipe | InvalidRecipe): r is InvalidRecipe => 'diagnostics' in r;

function checkSrcinfo(text: string, dirName = 'pkg'): void {
  const r = parseSrcinfoFile({ dirName, dir: `/src/${dirName}`, displayFile: `aur/${dirName}/.SRCINFO`, text, files: { '.SRCINFO': 'h' }, architecture: 'x86_64' });
  if (isInvalid(r)) {
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expectLocated(r.diagnostics, lineCount(text), { needLine: true });
    return;
  }
  // A value: every name a package name, every version part a version.
  expect(r.packages.length).toBeGreaterThan(0);
  for (const p of [r.name, ...r.packages]) expect(p).toMatch(PACKAGE_NAME_PATTERN);
  expect(r.version.version).toMatch(VERSION_PART_PATTERN);
  expect(r.version.release).toMatch(/^[0-9]+(\.[0-9]+)?$/);
  if (r.version.epoch !== undefined) expect(r.version.epoch).toMatch(/^[0-9]+$/);
  for (const d of [...r.depends, ...r.buildDepends]) locateSrcinfoDependency(text, d);
}

describe('.SRCINFO (srcinfoFile.ts)', () => {
  it('the whole chaotic-aur corpus reads; its two malformed files are located errors', () => {
    expect(srcinfoDirs.length).toBe(2533);
    const invalid: string[] = [];
    for (const dir of srcinfoDirs) {
      const text = srcinfo.text(dir);
      const r = parseSrcinfoFile({ dirName: dir, dir: `/src/${dir}`, displayFile: `${dir}/.SRCINFO`, text, files: {}, architecture: 'x86_64' });
      if (isInvalid(r)) invalid.push(...r.diagnostics.map((d) => `${d.file}:${d.line}`));
    }
    // stockfish writes a "-" in pkgver; upscayl-ncnn's .SRCINFO is empty.
    expect(invalid).toEqual(['stockfish/.SRCINFO:3', 'upscayl-ncnn/.SRCINFO:1']);
  });

  it('mutated real files: a recipe or located errors', () => {
    fc.assert(
      fc.property(fc.nat(), mutationsArb, (pick, mutations) => {
        const dir = srcinfoDirs[pick % srcinfoDirs.length]!;
        checkSrcinfo(mutateText(srcinfo.text(dir), mutations), dir);
      }),
      propertyParams(),
    );
  });

  it('random text: a recipe or located errors', () => {
    const line = fc.tuple(
      fc.constantFrom('pkgbase', 'pkgname', 'pkgver', 'pkgrel', 'epoch', 'arch', 'depends', 'depends_x86_64', 'makedepends', 'provides', 'pkgdesc', '\tdepends', 'bad key', ''),
      fc.constantFrom(' = ', '=', ' =', '= ', ' '),
      fc.oneof(fc.constantFrom('zlib', '1.0', '1', 'x86_64', 'any', '', 'a-b', '1:2', 'é'), fc.string({ maxLength: 12 })),
    );
    fc.assert(
      fc.property(fc.oneof(fc.array(line, { maxLength: 30 }).map((ls) => ls.map((l) => l.join('')).join('\n')), textLike('pkgbasenamever =\t_0123456789xz')), (text) => checkSrcinfo(text)),
      propertyParams(),
    );
  });
});

function checkIndex(text: string): void {
  const snapshot = parseFreebsdIndex(text, { root: '/ports', displayIndex: 'INDEX' });
  expect(snapshot.diagnostics).toEqual([]);
  const lines = lineCount(text);
  for (const bad of snapshot.invalid) {
    expect(bad.diagnostics.length).toBeGreaterThan(0);
    expectLocated(bad.diagnostics, lines, { needLine: true });
  }
  const ids = new Set<string>();
  for (const r of snapshot.recipes) {
    expect(r.id).toMatch(/^[A-Za-z0-9][A-Za-z0-9@._+-]*\/[A-Za-z0-9][A-Za-z0-9@._+-]*$/);
    expect(r.name).toMatch(PACKAGE_NAME_PATTERN);
    expect(ids.has(r.id)).toBe(false);
    ids.add(r.id);
    for (const d of [...r.depends, ...r.buildDepends]) {
      const where = snapshot.locate(r, d);
      if (where !== undefined) expect(where.line).toBeLessThanOrEqual(lines);
    }
  }
}

describe('FreeBSD INDEX lines (freebsdIndex.ts)', () => {
  const window = fc.tuple(fc.nat(), fc.integer({ min: 1, max: 80 })).map(([start, length]) => {
    const from = start % INDEX_LINES.length;
    return `${INDEX_LINES.slice(from, from + length).join('\n')}\n`;
  });

  it('the real INDEX reads; its two ports sharing a package name with another are located errors', () => {
    const snapshot = parseFreebsdIndex(`${INDEX_LINES.join('\n')}\n`, { root: '/ports', displayIndex: 'INDEX' });
    expect(snapshot.invalid.map((r) => `${r.id}:${r.diagnostics[0]!.line}`)).toEqual(['lang/ruby23:194', 'x11/xserver14:731']);
    expect(snapshot.recipes.length).toBe(973);
  });

  it('mutated windows of the real INDEX: recipes, and located errors for the bad lines', () => {
    fc.assert(fc.property(window, mutationsArb, (text, mutations) => checkIndex(mutateText(text, mutations))), propertyParams());
  });

  it('random lines of |-separated fields', () => {
    const field = fc.oneof(fc.constantFrom('', 'zlib-1.2', '/usr/ports/devel/zlib', 'devel/zlib', 'a-1 b-2', '/', 'x', '-1', 'a-'), fc.string({ maxLength: 10 }));
    const line = fc.array(field, { minLength: 0, maxLength: 15 }).map((fs) => fs.join('|'));
    fc.assert(fc.property(fc.array(line, { maxLength: 20 }), (ls) => checkIndex(ls.join('\n'))), propertyParams());
  });
});

function checkDesc(text: string): void {
  const fields = parseDesc(text);
  for (const [key, values] of fields) {
    expect(typeof key).toBe('string');
    for (const v of values) expect(v).not.toBe('');
  }
  const entry = repoEntryOf({ dir: 'x-1-1', desc: text, fields });
  if (entry !== undefined) {
    expect(typeof entry.name).toBe('string');
    expect(typeof entry.version).toBe('string');
    expect(typeof entry.file).toBe('string');
  }
}

describe('pacman desc entries (observe/pacmanRepo.ts)', () => {
  it('real entries of malr-core all give a repo entry', () => {
    expect(DESCS.length).toBe(261);
    for (const d of DESCS) expect(repoEntryOf({ dir: 'x', desc: d, fields: parseDesc(d) })).toBeDefined();
  });

  it('mutated real entries: fields or no entry, never a throw', () => {
    fc.assert(fc.property(fc.nat(), mutationsArb, (pick, mutations) => checkDesc(mutateText(DESCS[pick % DESCS.length]!, mutations))), propertyParams());
  });

  it('random text', () => {
    fc.assert(fc.property(textLike('%NAME%VERSION%FILENAME\n\n%DEPENDS%'), checkDesc), propertyParams());
  });
});

/** A portbuild duds list made of real origins of the INDEX, some with reasons. */
const DUDS_SEED = INDEX_LINES.slice(0, 60)
  .map((l, i) => {
    const origin = l.split('|')[1]!.split('/').slice(-2).join('/');
    return i % 3 === 0 ? `${origin}   # broken on ${i % 2 === 0 ? 'amd64' : 'i386'}` : i % 7 === 0 ? `\n# section ${i}` : origin;
  })
  .join('\n');

function checkDuds(text: string): void {
  const { entries, diagnostics } = parseDudsFile(text, 'duds');
  expectLocated(diagnostics, lineCount(text), { needLine: true });
  for (const e of entries) {
    expect(e.package).toMatch(DUD_NAME_PATTERN);
    expect(e.line).toBeLessThanOrEqual(lineCount(text));
  }
}

describe('duds files (config/dudsFile.ts)', () => {
  it('the seed list reads cleanly', () => {
    const { entries, diagnostics } = parseDudsFile(DUDS_SEED, 'duds');
    expect(diagnostics).toEqual([]);
    expect(entries.length).toBeGreaterThan(50);
  });
  it('mutated real duds lists (and the example one)', () => {
    const example = readFileSync(new URL('../../example/duds-3.0', import.meta.url), 'utf8');
    fc.assert(fc.property(fc.boolean(), mutationsArb, (which, mutations) => checkDuds(mutateText(which ? DUDS_SEED : example, mutations))), propertyParams());
  });
  it('random text', () => {
    fc.assert(fc.property(textLike('abc/._+-@# \t0'), checkDuds), propertyParams());
  });
});

/** An mlist in portbuild's shape (no real one is in the corpora): host names of FreeBSD's build cluster. */
const MLIST_SEED = ['# portbuild machines, amd64', 'gohan1.FreeBSD.org 2', 'gohan2.freebsd.org\t4   # the fast one', '', 'pointyhat-west.isc.freebsd.org 8', 'ref10-amd64.freebsd.org 1'].join('\n');

function checkMlist(text: string): void {
  const { hosts, diagnostics } = parseMlist(text, 'mlist');
  expectLocated(diagnostics, lineCount(text));
  // Only "lists no machine" is about the file as a whole.
  for (const d of diagnostics) if (d.line === undefined) expect(d.message).toBe('the mlist lists no machine');
  for (const h of hosts) {
    expect(Number.isSafeInteger(h.power) && h.power >= 1).toBe(true);
    expect(h.name).toMatch(/^[a-z0-9][a-z0-9._-]*$/);
  }
}

describe('mlist files (cli/commands/importMlist.ts)', () => {
  it('mutated mlists', () => {
    fc.assert(fc.property(mutationsArb, (mutations) => checkMlist(mutateText(MLIST_SEED, mutations))), propertyParams());
  });
  it('random text', () => {
    fc.assert(fc.property(textLike('abc.-_1029 \t#'), checkMlist), propertyParams());
  });
});
