import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDependencyGraph } from '../../src/model/graph.js';
import { formatVersion, type Recipe } from '../../src/model/types.js';
import { INDEX_LINE_KEY, parseFreebsdIndex, readFreebsdIndex } from '../../src/sources/freebsdIndex.js';
import { compareFreebsdVersions } from '../../src/version/freebsd.js';
import { corpus as corpusFile } from '../helpers/corpora.js';

/** An INDEX line: pkgname, path, prefix, comment, descr, maintainer, categories, build, run, www, extract, patch, fetch. */
function line(pkgname: string, origin: string, deps: { build?: string; run?: string; extract?: string; fetch?: string } = {}): string {
  return [pkgname, `/usr/ports/${origin}`, '/usr/local', `The ${pkgname} port`, `/usr/ports/${origin}/pkg-descr`, 'ports@FreeBSD.org', origin.split('/')[0], deps.build ?? '', deps.run ?? '', '', deps.extract ?? '', '', deps.fetch ?? ''].join('|');
}

const INDEX = [
  line('gmake-4.2_1', 'devel/gmake', { run: 'gettext-0.19.8.1' }),
  line('gettext-0.19.8.1', 'devel/gettext'),
  line('cabextract-1.3,1', 'archivers/cabextract', { build: 'gmake-4.2_1', run: 'gettext-0.19.8.1', extract: 'xz-5.2' }),
  line('p5-Foo-Bar-1.0_2,3', 'devel/p5-Foo-Bar', { fetch: 'cabextract-1.3,1' }),
  'broken|/usr/ports/misc/broken|only three',
  line('needs-broken-1.0', 'misc/needs-broken', { run: 'broken' }),
  line('gettext-0.20', 'devel/gettext-new'),
  line('dupe-1.0', 'devel/gmake'),
  '',
].join('\n');

/** A recipe as plain data: an INDEX recipe makes its packages, files, dependency lists, description and directory when they are read (getters, which toEqual does not compare). */
const plainRecipe = (r: Recipe) => ({ ...r, packages: r.packages, files: r.files, depends: r.depends, buildDepends: r.buildDepends, description: r.description, dir: r.dir });
const parse = (text: string, dudOrigins?: Set<string>) => parseFreebsdIndex(text, { root: '/ports', displayIndex: 'ports/INDEX', ...(dudOrigins !== undefined ? { dudOrigins } : {}) });

describe('parseFreebsdIndex', () => {
  it('reads each line as a recipe identified by its origin, with dependencies resolved to origins', () => {
    const snap = parse(INDEX);
    const byId = new Map(snap.recipes.map((r) => [r.id, r]));
    const cab = byId.get('archivers/cabextract' as never)!;
    expect(cab.name).toBe('cabextract');
    expect(cab.packages).toEqual(['cabextract']);
    expect(formatVersion(cab.version)).toBe('1.3,1');
    expect(cab.depends).toEqual(['devel/gettext']);
    // build, extract, patch and fetch deps are build dependencies; an unknown pkgname stays as written
    expect(cab.buildDepends).toEqual(['devel/gmake', 'xz-5.2']);
    expect(cab.dir).toBe('/ports/archivers/cabextract');
    expect(cab.description).toBe('The cabextract-1.3,1 port');
    expect(Object.keys(cab.files)).toEqual([INDEX_LINE_KEY]);
    const p5 = byId.get('devel/p5-Foo-Bar' as never)!;
    expect(p5.name).toBe('p5-Foo-Bar');
    expect(p5.version).toEqual({ version: '1.0', release: '2', epoch: '3', scheme: 'freebsd' });
    expect(formatVersion(p5.version)).toBe('1.0_2,3');
    expect(formatVersion(byId.get('devel/gmake' as never)!.version)).toBe('4.2_1');
  });

  it('makes bad lines invalid recipes located at file:line, and dependents of them skippable', () => {
    const snap = parse(INDEX);
    const messages = snap.invalid.map((r) => ({ id: r.id, at: `${r.diagnostics[0]!.file}:${r.diagnostics[0]!.line}:${r.diagnostics[0]!.col}`, message: r.diagnostics[0]!.message }));
    expect(messages).toEqual([
      { id: 'misc/broken', at: 'ports/INDEX:5:1', message: 'an INDEX line has 13 |-separated fields, this one has 3' },
      {
        id: 'devel/gettext-new',
        at: 'ports/INDEX:7:1',
        message: 'package name gettext is also the package of devel/gettext (line 2), which is built instead: 2 ports depend on it, 0 on this one',
      },
      { id: 'devel/gmake@8', at: 'ports/INDEX:8:10', message: 'origin devel/gmake is listed twice (first at line 1)' },
    ]);
    const graph = buildDependencyGraph({ recipes: snap.recipes, invalidIds: snap.invalid.map((r) => r.id), resolveIds: true });
    // needs-broken names the bad line by its pkgname: it depends on the invalid node, not on nothing.
    expect(graph.deps.get('misc/needs-broken' as never)).toEqual(['misc/broken']);
    expect(graph.unresolved.get('archivers/cabextract' as never)).toEqual(['xz-5.2']);
    expect(graph.deps.get('devel/p5-Foo-Bar' as never)).toEqual(['archivers/cabextract']);
  });

  it('takes the origin from the last two components of the path field, each a package name', () => {
    const origins: [string, string | undefined][] = [
      ['/usr/ports/devel/gettext', 'devel/gettext'],
      ['/usr/ports/devel/gettext/', 'devel/gettext'], // one final '/' is dropped
      ['/usr/ports/devel/gettext//', undefined],
      ['devel/gettext', 'devel/gettext'],
      ['/a/b@c+d_e.f-g', 'a/b@c+d_e.f-g'],
      ['gettext', undefined],
      ['/gettext', undefined],
      ['/usr/ports/-devel/gettext', undefined], // a name starts with a letter or digit
      ['/usr/ports/devel/.gettext', undefined],
      ['/usr/ports/de vel/gettext', undefined],
      ['/usr/ports/dével/gettext', undefined],
      ['/usr/ports/devel/get\ttext', undefined],
      [`/usr/ports/devel/${'g'.repeat(100)}`, `devel/${'g'.repeat(100)}`],
      [`/usr/ports/devel/${'g'.repeat(101)}`, undefined],
      ['', undefined],
    ];
    for (const [pathField, origin] of origins) {
      const fields = line('gettext-0.19', 'devel/gettext').split('|');
      fields[1] = pathField;
      const snap = parse(fields.join('|'));
      if (origin !== undefined) expect({ pathField, ids: snap.recipes.map((r) => r.id) }).toEqual({ pathField, ids: [origin] });
      else expect({ pathField, path: snap.invalid[0]?.diagnostics[0]?.message.endsWith('does not end in category/port') }).toEqual({ pathField, path: true });
    }
  });

  it('keeps, of ports making the same package, the one depended on, then the higher version, then the first line', () => {
    const conflicts = [
      line('ruby-2.2.4', 'lang/ruby22'),
      line('ruby-2.3.1', 'lang/ruby23'),
      line('webkit-1.0', 'www/webkit', { build: 'ruby-2.3.1' }),
      line('xorg-server-1.14.7', 'x11/xserver14'),
      line('xorg-server-1.17.4', 'x11/xserver17'),
      line('tool-1.0', 'misc/tool-a'),
      line('tool-1.0', 'misc/tool-b'),
      '',
    ].join('\n');
    const snap = parse(conflicts);
    expect(snap.recipes.map((r) => r.id)).toEqual(['lang/ruby23', 'www/webkit', 'x11/xserver17', 'misc/tool-a']);
    expect(snap.invalid.map((r) => [r.id, r.diagnostics[0]!.line, r.diagnostics[0]!.message, r.diagnostics[0]!.hint])).toEqual([
      [
        'lang/ruby22',
        1,
        'package name ruby is also the package of lang/ruby23 (line 2), which is built instead: 1 port depends on it, 0 on this one',
        'a repository holds one package per name: make lang/ruby22 a dud to keep lang/ruby23, or make lang/ruby23 a dud to build lang/ruby22',
      ],
      ['x11/xserver14', 4, 'package name xorg-server is also the package of x11/xserver17 (line 5), which is built instead: it has the higher version (0 ports depend on each)', expect.any(String)],
      ['misc/tool-b', 7, 'package name tool is also the package of misc/tool-a (line 6), which is built instead: it comes first (same version and dependents)', expect.any(String)],
    ]);
    // The same input in another line order keeps the same ports.
    const reversed = parse(conflicts.split('\n').filter(Boolean).reverse().join('\n'));
    expect(reversed.recipes.map((r) => r.id).sort()).toEqual(['lang/ruby23', 'www/webkit', 'x11/xserver17', 'misc/tool-b'].sort());
  });

  it('lets a dud give its package name up to another port', () => {
    const snap = parse(INDEX, new Set(['devel/gettext']));
    expect(snap.invalid.map((r) => r.id)).toEqual(['misc/broken', 'devel/gmake@8']);
    expect(snap.recipes.map((r) => r.id)).toContain('devel/gettext-new');
  });

  it('hands the graph its dependencies interned: the same graph as from the dependency names', () => {
    const withCycle = `${INDEX}${line('a-1', 'misc/a', { run: 'b-1' })}\n${line('b-1', 'misc/b', { build: 'a-1 nowhere-1' })}\n`;
    for (const text of [INDEX, withCycle, gunzipSync(readFileSync(corpusFile('freebsd-INDEX-11.gz'))).toString('utf8')]) {
      const snap = parse(text);
      expect(snap.interned).toBeDefined();
      // Each port's interned specs spell its depends, then its buildDepends.
      const { table, specs, starts } = snap.interned!;
      expect(starts.length).toBe(snap.recipes.length + 1);
      snap.recipes.forEach((r, i) => expect(Array.from(specs.subarray(starts[i], starts[i + 1]), (t) => table[t])).toEqual([...r.depends, ...r.buildDepends]));
      // The lists are made when first read, then kept.
      snap.recipes.forEach((r) => expect(r.depends).toBe(r.depends));
      const input = { recipes: snap.recipes, invalidIds: snap.invalid.map((r) => r.id), resolveIds: true, compareVersions: compareFreebsdVersions };
      const { indexed, deps, dependents, ...plain } = buildDependencyGraph(input);
      const { indexed: internedIndexed, deps: internedDeps, dependents: internedDependents, ...interned } = buildDependencyGraph({ ...input, interned: snap.interned! });
      expect(interned).toEqual(plain);
      expect(internedIndexed).toEqual(indexed);
      expect([...internedDeps]).toEqual([...deps]);
      expect([...internedDependents]).toEqual([...dependents]);
      expect(Array.from(indexed.order, (i) => indexed.nodes[i])).toEqual(plain.order);
      const depsOf = (i: number) => Array.from(indexed.depList.subarray(indexed.depStart[i], indexed.depStart[i + 1]), (d) => indexed.nodes[d]);
      expect(indexed.nodes.map((_, i) => depsOf(i))).toEqual(indexed.nodes.map((id) => deps.get(id)));
    }
    // The fixture's unknown and broken dependencies are unresolved either way.
    const snap = parse(withCycle);
    const graph = buildDependencyGraph({ recipes: snap.recipes, invalidIds: snap.invalid.map((r) => r.id), resolveIds: true, interned: snap.interned! });
    expect(graph.unresolved.get('archivers/cabextract' as never)).toEqual(['xz-5.2']);
    expect(graph.unresolved.get('misc/b' as never)).toEqual(['nowhere-1']);
    expect(graph.cycles).toEqual([['misc/a', 'misc/b']]);
    // The graph follows the interned specs (here all made to say devel/gettext), not the names.
    const redirected = buildDependencyGraph({ recipes: snap.recipes, invalidIds: [], resolveIds: true, interned: { ...snap.interned!, table: snap.interned!.table.map(() => 'devel/gettext') } });
    expect(redirected.deps.get('misc/b' as never)).toEqual(['devel/gettext']);
  });

  it('reads UTF-8 and other bytes as the text they decode to: the same recipes and digests as from the text', () => {
    const text = `${line('café-1.0', 'misc/café')}\n${line('doc-1.0', 'misc/doc', { run: 'café-1.0' }).replace('The doc-1.0 port', 'Docs — über')}\n`;
    const fromText = parse(text);
    const fromBytes = parseFreebsdIndex(Buffer.from(text), { root: '/ports', displayIndex: 'ports/INDEX' });
    expect(fromBytes.recipes.map(plainRecipe)).toEqual(fromText.recipes.map(plainRecipe));
    expect(fromBytes.invalid).toEqual(fromText.invalid);
    const doc = fromText.recipes.find((r) => r.id === 'misc/doc')!;
    expect(doc.description).toBe('Docs — über');
    // The line's digest is of its shaping fields joined by '|', as UTF-8.
    const fields = text.split('\n')[1]!.split('|');
    expect(doc.files[INDEX_LINE_KEY]).toBe(createHash('sha256').update([0, 2, 3, 5, 6, 9].map((f) => fields[f]).join('|')).digest('hex'));
    // Bytes that are not UTF-8 (a Latin-1 é here) read as U+FFFD, as the text decoder reads them.
    const latin1 = Buffer.from(text.replace('Docs — über', 'Docs über'), 'latin1');
    const decoded = parse(latin1.toString('utf8'));
    expect(parseFreebsdIndex(latin1, { root: '/ports', displayIndex: 'ports/INDEX' }).recipes.map(plainRecipe)).toEqual(decoded.recipes.map(plainRecipe));
    expect(decoded.recipes.find((r) => r.id === 'misc/doc')!.description).toBe('Docs �ber');
  });

  it('locates where a line names a dependency', () => {
    const snap = parse(INDEX);
    const cab = snap.recipes.find((r) => r.id === 'archivers/cabextract')!;
    const text = INDEX.split('\n')[2]!;
    expect(snap.locate(cab, 'xz-5.2')).toEqual({ line: 3, col: text.indexOf('xz-5.2') + 1 });
    expect(snap.locate(cab, 'devel/gmake')).toEqual({ line: 3, col: text.indexOf('gmake-4.2_1') + 1 });
  });

  it('fingerprints the line without its dependency fields, and the port directory when the tree has it', () => {
    const a = parse(line('x-1.0', 'misc/x', { run: 'y-1.0' })).recipes[0]!;
    const b = parse(line('x-1.0', 'misc/x', { run: 'y-2.0' })).recipes[0]!;
    const c = parse(line('x-1.1', 'misc/x', { run: 'y-1.0' })).recipes[0]!;
    expect(a.files).toEqual(b.files);
    expect(a.files).not.toEqual(c.files);
  });
});

describe('readFreebsdIndex', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bf-index-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('hashes the directories of the ports the tree holds, and reads a gzipped INDEX', () => {
    mkdirSync(path.join(dir, 'devel', 'gmake', 'files'), { recursive: true });
    writeFileSync(path.join(dir, 'devel', 'gmake', 'Makefile'), 'PORTNAME=gmake\n');
    writeFileSync(path.join(dir, 'devel', 'gmake', 'files', 'patch-a'), '--- a\n');
    writeFileSync(path.join(dir, 'INDEX.gz'), gzipSync(INDEX));
    const snap = readFreebsdIndex({ root: dir, indexFile: path.join(dir, 'INDEX.gz'), displayIndex: 'ports/INDEX.gz' });
    expect(snap.diagnostics).toEqual([]);
    const gmake = snap.recipes.find((r) => r.id === 'devel/gmake')!;
    expect(Object.keys(gmake.files).sort()).toEqual([INDEX_LINE_KEY, 'Makefile', 'files/patch-a'].sort());
    expect(Object.keys(snap.recipes.find((r) => r.id === 'devel/gettext')!.files)).toEqual([INDEX_LINE_KEY]);
  });

  it('reports a missing INDEX as a located source error', () => {
    const snap = readFreebsdIndex({ root: dir, indexFile: path.join(dir, 'nope'), displayIndex: 'ports/nope' });
    expect(snap.recipes).toEqual([]);
    expect(snap.diagnostics).toMatchObject([{ severity: 'error', file: 'ports/nope', message: 'the INDEX file does not exist' }]);
  });

  it('reads the real INDEX: 975 ports, every dependency resolved', () => {
    const corpus = corpusFile('freebsd-INDEX-11.gz');
    const snap = readFreebsdIndex({ root: dir, indexFile: corpus, displayIndex: 'INDEX-11.gz', dudOrigins: new Set(['lang/ruby22', 'x11/xserver14']) });
    expect(snap.recipes.length).toBe(975);
    expect(snap.invalid).toEqual([]);
    const graph = buildDependencyGraph({ recipes: snap.recipes, invalidIds: [], resolveIds: true });
    expect(graph.unresolved.size).toBe(0);
    expect(graph.cycles).toEqual([]);
    // Every reference of the INDEX is an edge (deduplicated per port).
    const text = gunzipSync(readFileSync(corpus)).toString('utf8');
    const lines = text.split('\n').filter((l) => l !== '').map((l) => l.split('|'));
    const originOf = new Map(lines.map((f) => [f[0]!, f[1]!.split('/').slice(-2).join('/')]));
    let refs = 0;
    for (const f of lines) {
      const targets = new Set([7, 8, 10, 11, 12].flatMap((i) => f[i]!.split(' ').filter(Boolean)).map((d) => originOf.get(d)));
      targets.delete(originOf.get(f[0]!)); // a port listing itself is no edge
      refs += targets.size;
    }
    let edges = 0;
    for (const deps of graph.deps.values()) edges += deps.length;
    expect(edges).toBe(refs);
  });

  it('reads the real INDEX without duds: of its two ruby and two xorg-server ports, keeps the ones other ports need', () => {
    const snap = readFreebsdIndex({ root: dir, indexFile: corpusFile('freebsd-INDEX-11.gz'), displayIndex: 'INDEX-11.gz' });
    expect(snap.recipes.length).toBe(973);
    expect(snap.invalid.map((r) => `${r.diagnostics[0]!.file}:${r.diagnostics[0]!.line}:${r.diagnostics[0]!.col}: ${r.diagnostics[0]!.message}`)).toEqual([
      'INDEX-11.gz:194:1: package name ruby is also the package of lang/ruby22 (line 193), which is built instead: 1 port depends on it, 0 on this one',
      'INDEX-11.gz:731:1: package name xorg-server is also the package of x11/xserver17 (line 732), which is built instead: 6 ports depend on it, 0 on this one',
    ]);
    // Nothing depends on the ports left out: every reference still resolves to a port that builds.
    const graph = buildDependencyGraph({ recipes: snap.recipes, invalidIds: snap.invalid.map((r) => r.id), resolveIds: true });
    expect(graph.unresolved.size).toBe(0);
    const left = new Set(snap.invalid.map((r) => r.id as string));
    for (const deps of graph.deps.values()) for (const dep of deps) expect(left.has(dep)).toBe(false);
  });
});
