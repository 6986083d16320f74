import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpus } from '../helpers/corpora.js';
import { compareFreebsdVersions, matchesFreebsdConstraint, splitFreebsdVersion } from '../../src/version/freebsd.js';

const corpusDir = corpus('vercmp');

/** Rows of a corpus TSV file (header dropped), with their line numbers. */
function rows(file: string): { line: number; cells: string[] }[] {
  return readFileSync(path.join(corpusDir, file), 'utf8')
    .split('\n')
    .map((text, i) => ({ line: i + 1, cells: text.split('\t') }))
    .slice(1)
    .filter((r) => r.cells[0] !== '');
}

const comparisonFiles = readdirSync(corpusDir).filter((f) => f.startsWith('vercmp-freebsd-') && f.endsWith('.tsv') && !f.includes('constraints'));

describe('compareFreebsdVersions: every case of the shared corpora', () => {
  it('finds the corpus files', () => {
    expect(comparisonFiles.sort()).toEqual(['vercmp-freebsd-pkg.tsv', 'vercmp-freebsd-pkg_install.tsv', 'vercmp-freebsd-poudriere.tsv']);
  });
  for (const file of comparisonFiles) {
    const cases = rows(file);
    it(`${file}: ${cases.length} cases, both directions`, () => {
      expect(cases.length).toBeGreaterThan(5);
      const wrong: string[] = [];
      for (const { line, cells } of cases) {
        const [a, b, expected] = cells as [string, string, string];
        const want = Number(expected);
        const got = compareFreebsdVersions(a, b);
        const back = compareFreebsdVersions(b, a);
        if (got !== want) wrong.push(`${file}:${line}: ${a} vs ${b}: got ${got}, want ${want}`);
        if (back !== -want && !(back === 0 && want === 0)) wrong.push(`${file}:${line}: ${b} vs ${a}: got ${back}, want ${-want}`);
      }
      expect(wrong).toEqual([]);
    });
  }
  it('vercmp-freebsd-pkg-constraints.tsv: every constraint', () => {
    const cases = rows('vercmp-freebsd-pkg-constraints.tsv');
    expect(cases.length).toBe(11);
    for (const { line, cells } of cases) {
      const [version, constraint, matches] = cells as [string, string, string];
      expect(matchesFreebsdConstraint(version, constraint), `line ${line}: ${version} ${constraint}`).toBe(matches === 'true');
    }
  });
});

describe('compareFreebsdVersions: rules', () => {
  it.each([
    ['gettext-0.19.8.1', 'gettext-0.19.8', 1],
    ['p5-Foo-Bar-1.2_1', 'p5-Foo-Bar-1.2', 1],
    ['1.0_1,1', '2.0', 1],
    ['2.*', '2pl1', -1],
    ['2pl1', '2alpha3', -1],
    ['2alpha3', '2.9f7', -1],
    ['2.9f7', '3.*', -1],
    ['1.0+2', '1.0+1', 1],
    ['1.0+1', '1.0', 1],
    ['1.0+0', '1.0', 0],
    ['1.0:2003.09.16', '1.0.2003.09.16', 0],
    ['10..1', '10.1', 0],
    ['1.d2', '1.Development2', 0],
    ['1.2', '1.2.*', 1],
  ] as const)('%s vs %s = %d', (a, b, want) => {
    expect(compareFreebsdVersions(a, b)).toBe(want);
    expect(compareFreebsdVersions(b, a)).toBe(want === 0 ? 0 : -want);
  });

  it('splits name-version_revision,epoch', () => {
    expect(splitFreebsdVersion('py27-setuptools-41.0.1_1,1')).toEqual({ version: '41.0.1', revision: 1, epoch: 1 });
    expect(splitFreebsdVersion('5.20')).toEqual({ version: '5.20', revision: 0, epoch: 0 });
    expect(splitFreebsdVersion('5.20,3')).toEqual({ version: '5.20', revision: 0, epoch: 3 });
  });

  it('refuses text that is not a constraint', () => {
    expect(matchesFreebsdConstraint('1.0', '1.0')).toBeUndefined();
    expect(matchesFreebsdConstraint('1.0', '>=')).toBeUndefined();
    expect(matchesFreebsdConstraint('1.0', '')).toBeUndefined();
  });
});
