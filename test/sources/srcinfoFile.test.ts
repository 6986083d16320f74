import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/config/diagnostic.js';
import { buildDependencyGraph } from '../../src/model/graph.js';
import type { InvalidRecipe, Recipe } from '../../src/model/types.js';
import { locateSrcinfoDependency, parseSrcinfoFile, splitSrcinfo } from '../../src/sources/srcinfoFile.js';
import { readSrcinfoTree } from '../../src/sources/srcinfo.js';
import { compareAlpmVersions } from '../../src/version/alpm.js';
import { extractSrcinfoCorpus, type SrcinfoCorpus } from '../helpers/srcinfoCorpus.js';

let corpus: SrcinfoCorpus;
beforeAll(() => {
  corpus = extractSrcinfoCorpus();
});
afterAll(() => corpus.remove());

function parse(dirName: string, text: string, architecture = 'x86_64'): Recipe | InvalidRecipe {
  return parseSrcinfoFile({ dirName, dir: `/src/${dirName}`, displayFile: `aur/${dirName}/.SRCINFO`, text, files: { '.SRCINFO': 'h' }, architecture });
}

function valid(dirName: string, text = corpus.text(dirName), architecture?: string): Recipe {
  const r = parse(dirName, text, architecture);
  if ('diagnostics' in r) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r;
}

function errors(text: string): string[] {
  const r = parse('bad', text);
  if (!('diagnostics' in r)) throw new Error('expected an invalid recipe');
  return r.diagnostics.map(formatDiagnostic);
}

describe('parseSrcinfoFile on real .SRCINFO files', () => {
  it('a split package: one recipe, seven packages, package sections override depends', () => {
    const asf = valid('asf');
    expect(asf.id).toBe('asf');
    expect(asf.name).toBe('asf');
    expect(asf.packages).toEqual([
      'asf-plugin-steamtokendumper',
      'asf-plugin-itemsmatcher',
      'asf-plugin-mobileauthenticator',
      'asf-plugin-monitoring',
      'asf-plugin-periodicgc',
      'asf-plugin-signinwithsteam',
      'asf',
    ]);
    expect(asf.version).toEqual({ version: '6.3.8.4', release: '1' });
    // The plugins depend on asf (the recipe itself); asf on the runtime. No global depends.
    expect(asf.depends).toEqual(['asf', 'aspnet-runtime>=10']);
    expect(asf.buildDepends).toEqual(['git', 'dotnet-sdk>=10', 'aspnet-runtime>=10']);
  });

  it('a split pkgbase whose name is no package and differs from its directory; versioned provides', () => {
    const dotnet = valid('dotnet-sdk-bin');
    expect(dotnet.id).toBe('dotnet-sdk-bin');
    expect(dotnet.packages).toEqual(['dotnet-host-bin', 'aspnet-runtime-bin', 'dotnet-runtime-bin', 'dotnet-sdk-bin', 'dotnet-targeting-pack-bin', 'aspnet-targeting-pack-bin']);
    expect(dotnet.name).toBe('dotnet-host-bin');
    expect(dotnet.provides).toContain('aspnet-runtime=10.0.11');
    expect(dotnet.provides).toContain('dotnet-sdk-10.0=10.0.11.sdk400');
    expect(dotnet.depends).toContain('dotnet-host>=10.0.11');
  });

  it('architecture-specific fields are chosen by the branch architecture', () => {
    const x86 = valid('claude-desktop');
    expect(x86.depends).toContain('qemu-system-x86');
    expect(x86.depends).not.toContain('qemu-system-aarch64');
    const arm = valid('claude-desktop', undefined, 'aarch64');
    expect(arm.depends).toContain('qemu-system-aarch64');
    expect(arm.depends).not.toContain('qemu-system-x86');
    expect(arm.depends.length).toBe(x86.depends.length);
    const riscv = valid('claude-desktop', undefined, 'riscv64');
    expect(riscv.notBuilt).toEqual({ reason: 'not-for-architecture', detail: 'arch is x86_64, aarch64, not riscv64 or any' });
  });

  it('epoch', () => {
    expect(valid('amdgpu-fan').version).toEqual({ epoch: '1', version: '0.0.24.r2.4dda773eb8', release: '2' });
  });

  it('arch=(any) builds on every architecture', () => {
    expect(valid('mindustry-git', undefined, 'riscv64').notBuilt).toBeUndefined();
    expect(valid('mindustry-git').buildDepends).toEqual(['java-environment=17', 'git', 'libicns']);
  });

  it('every file of the corpus parses but two, each with a located reason', async () => {
    const source = await readSrcinfoTree({ root: corpus.root, displayRoot: 'chaotic-aur', architecture: 'x86_64' });
    expect(source.recipes.length).toBe(2531);
    expect(source.invalid.flatMap((r) => r.diagnostics.map(formatDiagnostic))).toEqual([
      'chaotic-aur/stockfish/.SRCINFO:3:2: error: pkgver "20260630-60888387" is not a valid version\n  hint: versions use letters, digits and ._+~ (no "-" or ":")',
      'chaotic-aur/upscayl-ncnn/.SRCINFO:1:1: error: no pkgbase\n  hint: a .SRCINFO starts with "pkgbase = NAME"; regenerate it with `makepkg --printsrcinfo > .SRCINFO`',
    ]);
    // Versioned dependencies resolve across recipes through versioned provides: asf needs aspnet-runtime>=10.
    const graph = buildDependencyGraph({ recipes: source.recipes, invalidIds: source.invalid.map((r) => r.id), compareVersions: compareAlpmVersions, externalDependencies: true });
    expect(graph.deps.get('asf' as Recipe['id'])).toContain('dotnet-sdk-bin');
    expect(graph.unsatisfied.get('zfs-dkms-git' as Recipe['id'])).toEqual([
      { spec: 'zfs-utils-git=2:2.4.99.r305.gb9b84445ea', candidates: ['zfs-utils-git 2:2.4.99.r778.ge78fa488af-1'] },
    ]);
  });
});

describe('readSrcinfoTree: digests', () => {
  it('file digests are the sha256 of the bytes: UTF-8 text, bytes that are not UTF-8, other files', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-srcinfo-digest-'));
    try {
      const srcinfo = (name: string, desc: Buffer): Buffer =>
        Buffer.concat([Buffer.from(`pkgbase = ${name}\n\tpkgdesc = `), desc, Buffer.from(`\n\tpkgver = 1\n\tpkgrel = 1\n\tarch = any\n\npkgname = ${name}\n`)]);
      const files: Record<string, Buffer> = {
        'utf8/.SRCINFO': srcinfo('utf8', Buffer.from('caf\u00e9 \u{1F600}', 'utf8')),
        'latin1/.SRCINFO': srcinfo('latin1', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xff, 0xc0, 0x80])),
        'latin1/PKGBUILD': Buffer.from([0x23, 0xe9, 0x0a]),
        'bom/.SRCINFO': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), srcinfo('bom', Buffer.from('x'))]),
      };
      for (const [rel, bytes] of Object.entries(files)) {
        mkdirSync(path.join(tmp, path.dirname(rel)), { recursive: true });
        writeFileSync(path.join(tmp, rel), bytes);
      }
      const tree = await readSrcinfoTree({ root: tmp, displayRoot: 'pkgs', architecture: 'x86_64', threads: 1 });
      const all = [...tree.recipes, ...tree.invalid];
      expect(all.map((r) => r.id).sort()).toEqual(['bom', 'latin1', 'utf8']);
      for (const [rel, bytes] of Object.entries(files)) {
        const [dir, file] = rel.split('/') as [string, string];
        const recipe = tree.recipes.find((r) => r.id === dir);
        if (recipe === undefined) continue; // the BOM one: checked below
        expect(recipe.files[file], rel).toBe(createHash('sha256').update(bytes).digest('hex'));
        expect(createHash('sha256').update(readFileSync(path.join(tmp, rel))).digest('hex')).toBe(recipe.files[file]);
      }
      expect(tree.recipes.find((r) => r.id === 'utf8')?.description).toBe('caf\u00e9 \u{1F600}');
      expect(tree.recipes.find((r) => r.id === 'latin1')?.description).toBe('caf\uFFFD \uFFFD\uFFFD\uFFFD');
      // A BOM is not whitespace: the first line is not a field, as before.
      expect(tree.invalid.find((r) => r.id === 'bom')?.diagnostics[0]?.message).toMatch(/is not a field name/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('parseSrcinfoFile: per-package overrides and bad files', () => {
  const split = [
    'pkgbase = foo',
    '\tpkgver = 1.0',
    '\tpkgrel = 1',
    '\tarch = x86_64',
    '\tdepends = glibc',
    '\tdepends_x86_64 = lib32-glibc',
    '\tprovides = libfoo.so=1-64',
    '\tmakedepends = cmake',
    '\tcheckdepends = python',
    '',
    'pkgname = foo',
    '\tdepends = bar>=2',
    '',
    'pkgname = foo-docs',
    '\tarch = any',
    '\tdepends = ',
    '\tprovides = ',
    '',
  ].join('\n');

  it('a package section replaces one field at a time; an empty value clears it', () => {
    const r = valid('foo', split);
    expect(r.packages).toEqual(['foo', 'foo-docs']);
    // foo: its own depends + the global depends_x86_64; foo-docs: cleared depends + the global depends_x86_64.
    expect(r.depends).toEqual(['bar>=2', 'lib32-glibc']);
    expect(r.provides).toEqual(['libfoo.so=1-64']);
    expect(r.buildDepends).toEqual(['cmake', 'python']);
  });

  it('a package not for the architecture is not built; the others are', () => {
    const r = valid('foo', split, 'aarch64');
    expect(r.packages).toEqual(['foo-docs']);
    expect(r.notBuilt).toBeUndefined();
  });

  it.each([
    ['a line without "="', 'pkgbase = foo\n\tpkgver = 1\n\tpkgrel = 1\n\tdepends glibc\npkgname = foo\n', ['aur/bad/.SRCINFO:4:2: error: expected "key = value", found "depends glibc"']],
    ['a field before pkgbase', 'pkgver = 1\npkgbase = foo\n', ['aur/bad/.SRCINFO:1:1: error: "pkgver" before pkgbase']],
    ['no pkgname', 'pkgbase = foo\n\tpkgver = 1\n\tpkgrel = 1\n', ['aur/bad/.SRCINFO:1:1: error: no pkgname section']],
    ['a bad pkgrel and epoch', 'pkgbase = foo\n\tpkgver = 1\n\tpkgrel = one\n\tepoch = x\npkgname = foo\n', ['aur/bad/.SRCINFO:3:2: error: pkgrel "one" is not a release number', 'aur/bad/.SRCINFO:4:2: error: epoch "x" is not a whole number']],
    ['pkgver in a package section', 'pkgbase = foo\n\tpkgver = 1\n\tpkgrel = 1\npkgname = foo\n\tpkgver = 2\n', ['aur/bad/.SRCINFO:5:2: error: pkgver is set in the section of package foo']],
    ['a bad package name', 'pkgbase = foo\n\tpkgver = 1\n\tpkgrel = 1\npkgname = foo;rm\n', ['aur/bad/.SRCINFO:4:11: error: pkgname "foo;rm" is not a valid package name']],
  ])('%s', (_name, text, expected) => {
    expect(errors(text).map((e) => e.split('\n')[0])).toEqual(expected);
  });

  it('locates a dependency for diagnostics', () => {
    expect(locateSrcinfoDependency(split, 'bar')).toEqual({ line: 12, col: 12 });
    expect(locateSrcinfoDependency(split, 'python')).toEqual({ line: 9, col: 17 });
    expect(locateSrcinfoDependency(split, 'nothing')).toBeUndefined();
  });
});

describe('splitSrcinfo: how lines are read', () => {
  /** The sections as plain data, and the diagnostics as `line:col message`. */
  function read(text: string): { global?: [string, readonly string[]][]; packages?: [string, number, [string, readonly string[]][]][]; diagnostics: string[] } {
    const { sections, diagnostics } = splitSrcinfo(text, 'f');
    return {
      ...(sections !== undefined ? { global: [...sections.global], packages: sections.packages.map((p) => [p.name, p.line, [...p.fields]] as [string, number, [string, readonly string[]][]]) } : {}),
      diagnostics: diagnostics.map((d) => `${d.line ?? 0}:${d.col ?? 0} ${d.message}`),
    };
  }

  it('CRLF: the \r is not part of a value, and lines and columns are those of the LF file', () => {
    const lf = 'pkgbase = foo\n\tpkgdesc = a b \n\tdepends = x\n\n\tdep-ends = y\npkgname = foo\n\tdepends = \n\tarch=any\npkgname =  \n';
    const crlf = lf.replace(/\n/g, '\r\n');
    expect(read(crlf)).toEqual(read(lf));
    expect(read(crlf)).toEqual({
      global: [['pkgdesc', ['a b']], ['depends', ['x']]],
      packages: [['foo', 6, [['depends', []], ['arch', ['any']]]], ['', 9, []]],
      diagnostics: ['5:2 "dep-ends" is not a field name', '9:10 pkgname "" is not a valid package name'],
    });
  });

  it('\u2028 and \u2029 are not line ends: they stay in the value, untrimmed', () => {
    expect(read('pkgbase = foo\n\tpkgdesc = a\u2028b\n\tdepends = c\u2029\n\tprovides =\u2028\npkgname = foo\n')).toEqual({
      global: [['pkgdesc', ['a\u2028b']], ['depends', ['c\u2029']], ['provides', ['\u2028']]],
      packages: [['foo', 5, []]],
      diagnostics: [],
    });
  });

  it('no final newline: the last line is read, its trailing spaces and tabs trimmed', () => {
    expect(read('pkgbase = foo\npkgname = foo\n\tdepends = bar \t')).toEqual({ global: [], packages: [['foo', 2, [['depends', ['bar']]]]], diagnostics: [] });
    expect(read('pkgbase = foo\npkgname = foo\npkgname = foo').diagnostics).toEqual(['3:11 package foo is listed twice']);
    expect(read('pkgbase = foo\npkgname = foo\n\tdepends glibc').diagnostics).toEqual(['3:2 expected "key = value", found "depends glibc"']);
  });

  it('key=value without spaces, spaces and tabs around "=", tabs before the key, "key =" and "= value"', () => {
    expect(read('pkgbase=foo\n\t \tdepends=x=y\n  depends   =\t\tz\t \n\tmakedepends =\n\tprovides = \t\n\tpkgver=1\npkgname=foo\n')).toEqual({
      // Only spaces are skipped after "=": a value's leading tabs are kept (as makepkg never writes them).
      global: [['depends', ['x=y', '\t\tz']], ['makedepends', []], ['provides', []], ['pkgver', ['1']]],
      packages: [['foo', 7, []]],
      diagnostics: [],
    });
    expect(read('pkgbase = foo\n\t= d\n\ta b = c\n   \n\t\n# c = d\n\t#x\n\tpkgrel =   \n').diagnostics).toEqual([
      '2:2 "" is not a field name',
      '3:2 "a b" is not a field name',
      '8:2 pkgrel is empty',
    ]);
  });

  it('field names other than makepkg\'s are read the same way: letters, digits and _ only', () => {
    expect(read('pkgbase = foo\n\tdepends_x86_64 = a\n\tX_9 = b\n\tdepends-x = c\n\tdépends = d\n\tdepends\t= e\npkgname = foo\n')).toEqual({
      global: [['depends_x86_64', ['a']], ['X_9', ['b']]],
      packages: [['foo', 7, []]],
      diagnostics: ['4:2 "depends-x" is not a field name', '5:2 "dépends" is not a field name', '6:2 "depends\\t" is not a field name'],
    });
  });
});

describe('splitSrcinfo against a plain reading of the rules', () => {
  /**
   * The rules of splitSrcinfo's documentation, read the obvious way (split into lines, one regular
   * expression per line): the oracle for the in-place reader, which looks at as few characters as
   * it can.
   */
  function reference(text: string): { fields: [number, string, string][]; errors: string[] } {
    const fields: [number, string, string][] = [];
    const errors: string[] = [];
    text.split('\n').forEach((raw, n) => {
      const line = raw.replace(/^[\t ]+/, '').replace(/[\t \r]+$/, '');
      const col = raw.length - raw.replace(/^[\t ]+/, '').length + 1;
      if (line === '' || line.startsWith('#')) return;
      const eq = line.indexOf('=');
      if (eq < 0) return void errors.push(`${n + 1}:${col} expected`);
      const key = line.slice(0, eq).replace(/ +$/, '');
      if (!/^[A-Za-z0-9_]+$/.test(key)) return void errors.push(`${n + 1}:${col} not a field name`);
      fields.push([n + 1, key, line.slice(eq + 1).replace(/^ +/, '')]);
    });
    return { fields, errors };
  }

  /** Field values by name (over all sections, sorted; an empty value clears, so it adds none) and the malformed lines, as `line:col kind`. */
  type Reading = { fields: Record<string, string[]>; errors: string[] };

  function byName(fields: Iterable<[string, readonly string[]]>): Record<string, string[]> {
    const names: Record<string, string[]> = {};
    for (const [key, values] of fields) (names[key] ??= []).push(...values.filter((v) => v !== ''));
    return Object.fromEntries(Object.entries(names).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.sort()]));
  }

  function fromReference(text: string): Reading {
    const { fields, errors } = reference(text);
    return { fields: byName(fields.filter(([, key]) => key !== 'pkgbase' && key !== 'pkgname').map(([, key, value]) => [key, [value]])), errors };
  }

  function read(text: string, keep?: ReadonlySet<string>): Reading & { others: number } {
    const { sections, diagnostics } = splitSrcinfo(text, 'f', keep);
    const malformed = diagnostics.filter((d) => d.message.startsWith('expected') || d.message.endsWith('is not a field name'));
    return {
      fields: sections === undefined ? {} : byName([...sections.global, ...sections.packages.flatMap((p) => [...p.fields])]),
      errors: malformed.map((d) => `${d.line}:${d.col} ${d.message.startsWith('expected') ? 'expected' : 'not a field name'}`),
      others: diagnostics.length - malformed.length,
    };
  }

  /** A deterministic mutation of a text: characters that matter to the reader put in, taken out or put instead. */
  function mutations(texts: readonly string[], count: number): string[] {
    const pieces = ['\r', '\t', ' ', '#', '=', '\n', '\u2028', '\u2029', 'é', 'a', '_', '-', '  =  ', '\r\n', '\t=', 'x=', '= ', '\tdepends = foo\n', 'pkgname = bar\n', '\tpkgver = 2\n'];
    let seed = 1;
    const random = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % k;
    };
    return Array.from({ length: count }, () => {
      let t = texts[random(texts.length)]!.slice(0, 400 + random(800));
      for (let m = 1 + random(6); m > 0; m--) {
        const at = random(t.length + 1);
        const op = random(3);
        t = op === 0 ? t.slice(0, at) + pieces[random(pieces.length)]! + t.slice(at) : op === 1 ? t.slice(0, at) + t.slice(at + 1 + random(3)) : t.slice(0, at) + pieces[random(pieces.length)]! + t.slice(at + 1);
      }
      return t;
    });
  }

  /** What a recipe of x86_64 keeps. */
  const KEEP: ReadonlySet<string> = new Set(['pkgdesc', 'arch', 'depends', 'provides', 'makedepends', 'checkdepends', 'depends_x86_64', 'provides_x86_64', 'makedepends_x86_64', 'checkdepends_x86_64']);

  it('reads the same field lines and finds the same malformed ones in every corpus file and 5,000 mutations of them', () => {
    const texts = readdirSync(corpus.root).map((dir) => corpus.text(dir));
    let compared = 0;
    for (const text of [...texts, ...mutations(texts, 5000)]) {
      const expected = fromReference(text);
      const got = read(text);
      expect(got.errors, JSON.stringify(text)).toEqual(expected.errors);
      // Fields are compared where splitSrcinfo keeps them all: a text with pkgbase first and no other error (a second pkgbase, a pkgver set twice…).
      // With a keep set (as a recipe is read): the same errors, and the kept fields.
      const kept = read(text, KEEP);
      expect(kept.errors, JSON.stringify(text)).toEqual(expected.errors);
      if (got.errors.length > 0 || got.others > 0 || !/^[\t ]*pkgbase *=/.test(text)) continue;
      expect(got.fields, JSON.stringify(text)).toEqual(expected.fields);
      expect(kept.fields, JSON.stringify(text)).toEqual(Object.fromEntries(Object.entries(expected.fields).filter(([key]) => KEEP.has(key) || ['pkgver', 'pkgrel', 'epoch'].includes(key))));
      compared++;
    }
    expect(compared).toBeGreaterThan(texts.length);
  });

  it('with a keep set: the kept fields as without it, the others not kept, their place still checked', () => {
    const text = corpus.text('asf');
    const keep = new Set(['depends', 'arch']);
    const all = splitSrcinfo(text, 'f').sections!;
    const kept = splitSrcinfo(text, 'f', keep).sections!;
    const only = (fields: ReadonlyMap<string, readonly string[]>) => [...fields].filter(([key]) => keep.has(key) || ['pkgver', 'pkgrel', 'epoch'].includes(key));
    expect([...kept.global]).toEqual(only(all.global));
    expect(kept.packages.map((p) => [p.name, p.line, [...p.fields]])).toEqual(all.packages.map((p) => [p.name, p.line, only(p.fields)]));
    expect([...all.global.keys()]).toContain('source');
    // A field not kept, before pkgbase: still an error; single-valued fields are kept and checked whatever `keep` says.
    expect(splitSrcinfo('\turl = x\npkgbase = foo\n\tpkgver = 1\n\tpkgver = 2\n', 'f', keep).diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual(['1:2 "url" before pkgbase', '4:2 pkgver is set twice']);
  });
});
