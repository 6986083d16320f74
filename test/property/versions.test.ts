/**
 * Properties of both version orders (version/alpm.ts, version/freebsd.ts):
 * reflexivity, antisymmetry and transitivity over generated versions, and
 * agreement with the reference vectors of the corpora (and, for pacman's order,
 * with the real `vercmp` binary on generated pairs).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareAlpmVersions } from '../../src/version/alpm.js';
import { compareFreebsdVersions, splitFreebsdVersion } from '../../src/version/freebsd.js';
import { corpus } from '../helpers/corpora.js';
import { propertyParams } from './mutate.js';

type Compare = (a: string, b: string) => number;

function vectors(file: string): [string, string, number][] {
  return readFileSync(corpus('vercmp', file), 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => {
      const [a, b, expected] = l.split('\t');
      return [a!, b!, Number(expected)];
    });
}

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** The three order laws for one comparator over an arbitrary of versions. */
function orderLaws(name: string, cmp: Compare, version: fc.Arbitrary<string>, inDomain: (v: string) => boolean = () => true): void {
  describe(`${name}: order laws`, () => {
    it('reflexive: a = a (also for a copy of another string object)', () => {
      fc.assert(
        fc.property(version, (a) => {
          expect(cmp(a, a)).toBe(0);
          expect(cmp(a, [...a].join(''))).toBe(0);
        }),
        propertyParams(),
      );
    });
    it('antisymmetric: cmp(a, b) = -cmp(b, a), always -1, 0 or 1', () => {
      fc.assert(
        fc.property(version, version, (a, b) => {
          const ab = cmp(a, b);
          expect([-1, 0, 1]).toContain(ab);
          expect(sign(cmp(b, a))).toBe(0 - ab); // not -ab: -0 is not 0 to toBe (a pair of equal versions)
        }),
        propertyParams(1000),
      );
    });
    it('transitive: a <= b and b <= c give a <= c (and = with = gives =)', () => {
      // Three versions drawn near each other (one mutated into the next), so that ties and near-ties happen.
      const near = version.chain((a) => fc.tuple(fc.constant(a), nudge(a), version).chain(([x, y, z]) => fc.tuple(fc.constant(x), fc.constant(y), fc.oneof(nudge(y), fc.constant(z)))));
      fc.assert(
        fc.property(near, ([a, b, c]) => {
          fc.pre(inDomain(b) && inDomain(c));
          const [x, y, z] = [a, b, c].sort((p, q) => cmp(p, q)) as [string, string, string];
          if (cmp(x, y) <= 0 && cmp(y, z) <= 0) expect(cmp(x, z)).toBeLessThanOrEqual(0);
          if (cmp(x, y) === 0 && cmp(y, z) === 0) expect(cmp(x, z)).toBe(0);
          // Every pair, not only the sorted chain.
          for (const [p, q, r] of [[a, b, c], [a, c, b], [b, a, c], [b, c, a], [c, a, b], [c, b, a]] as const) {
            if (cmp(p, q) <= 0 && cmp(q, r) <= 0) expect(cmp(p, r), `${p} <= ${q} <= ${r}`).toBeLessThanOrEqual(0);
          }
        }),
        propertyParams(1000),
      );
    });
  });
}

/** A version close to `a`: one character changed, added or removed, or a segment incremented. */
function nudge(a: string): fc.Arbitrary<string> {
  return fc.tuple(fc.nat(Math.max(0, a.length)), fc.constantFrom('0', '1', '9', 'a', 'z', '.', '_', '+', '~', '', 'pl', 'rc', 'alpha', '00')).map(([i, s]) => a.slice(0, i) + s + a.slice(i + (s === '' ? 1 : 0)));
}

// pacman: [epoch:]pkgver[-pkgrel] out of digit runs, letter runs and separators (with non-ASCII now and then).
const alpmSegment = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[0-9]{1,4}$/) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-zA-Z]{1,4}$/) },
  { weight: 3, arbitrary: fc.constantFrom('.', '.', '_', '+', '~', '..', '__', 'é', '') },
);
/**
 * Runs of digits and letters joined by single separators (`1.2.3a`, `2.0_rc1`, `1+git20260101`):
 * pacman's own order is not transitive over parts that start or end with separators or hold
 * several in a row (vercmp: `__+` > `_alpha_+` > `0` > `__+`, and `x~_` > `x~_alpha` > `x0~_alpha` > `x~_`),
 * and the port keeps that; the comparison with vercmp below covers those parts too.
 */
const alpmPart = fc
  .tuple(fc.stringMatching(/^[0-9a-zA-Z]{1,4}$/), fc.array(fc.tuple(fc.constantFrom('.', '.', '_', '+', '~', 'é'), fc.stringMatching(/^[0-9a-zA-Z]{1,4}$/)), { maxLength: 4 }))
  .map(([first, rest]) => first + rest.map(([sep, run]) => sep + run).join(''));
const ALPM_PART = /^[0-9A-Za-z]+(?:(?:[._+~]|é)[0-9A-Za-z]+)*$/;
/** With a release always: pacman compares releases only when both sides have one, which is not transitive across the two kinds (1.0-2 = 1.0 = 1.0-1 < 1.0-2). */
const alpmVersion = fc
  .tuple(fc.option(fc.stringMatching(/^[0-9]{1,2}$/), { freq: 4 }), alpmPart, alpmPart)
  .map(([epoch, version, release]) => `${epoch !== null ? `${epoch}:` : ''}${version}-${release}`);
/** Any part, leading separators and non-ASCII included: for the comparison with vercmp itself. */
const alpmLoose = fc
  .tuple(fc.option(fc.stringMatching(/^[0-9]{0,2}$/), { freq: 4 }), fc.array(alpmSegment, { minLength: 1, maxLength: 7 }), fc.option(fc.array(alpmSegment, { minLength: 1, maxLength: 3 }), { freq: 2 }))
  .map(([epoch, version, release]) => `${epoch !== null ? `${epoch}:` : ''}${version.join('')}${release !== null ? `-${release.join('')}` : ''}`)
  .filter((v) => v !== '' && !v.startsWith('-'));
const alpmVersionNoRelease = fc.tuple(fc.option(fc.stringMatching(/^[0-9]{1,2}$/), { freq: 4 }), alpmPart).map(([epoch, version]) => `${epoch !== null ? `${epoch}:` : ''}${version}`);

/** Each part of the shape of alpmPart; with or without a release. */
const alpmDomain = (release: boolean) => (v: string): boolean => {
  const parts = v.replace(/^[0-9]*:/, '').split('-');
  return parts.length === (release ? 2 : 1) && parts.every((p) => ALPM_PART.test(p));
};
orderLaws('alpm (versions with a release)', compareAlpmVersions, alpmVersion, alpmDomain(true));
orderLaws('alpm (versions without a release)', compareAlpmVersions, alpmVersionNoRelease, alpmDomain(false));

// FreeBSD: version[_revision][,epoch] out of numbers, letters, stages, `*` and `+`.
const bsdComponent = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[0-9]{1,3}$/) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-zA-Z]{1,3}$/) },
  { weight: 2, arbitrary: fc.constantFrom('pl', 'alpha', 'beta', 'pre', 'rc', 'a', 'b', 'p1', 'rc2', 'alpha3') },
  { weight: 1, arbitrary: fc.constantFrom('*', '+', '.+', '+.') },
);
const bsdVersionText = fc.array(fc.tuple(bsdComponent, fc.constantFrom('.', '.', '', '-', '..')), { minLength: 1, maxLength: 5 }).map((cs) => cs.map(([c, sep]) => c + sep).join('').replace(/[-_,]/g, '.'));
const bsdVersion = fc
  .tuple(bsdVersionText, fc.option(fc.nat(12), { freq: 3 }), fc.option(fc.nat(4), { freq: 3 }))
  .map(([v, revision, epoch]) => `${v}${revision !== null ? `_${revision}` : ''}${epoch !== null ? `,${epoch}` : ''}`);

orderLaws('freebsd', compareFreebsdVersions, bsdVersion);

describe('agreement with the reference vectors', () => {
  it.each([['vercmp-pacman.tsv', compareAlpmVersions] as const, ...['vercmp-freebsd-pkg_install.tsv', 'vercmp-freebsd-pkg.tsv', 'vercmp-freebsd-poudriere.tsv'].map((f) => [f, compareFreebsdVersions] as const)])(
    '%s: every vector, both ways, and transitive over every triple of its versions',
    (file, cmp) => {
      const cases = vectors(file);
      expect(cases.length).toBeGreaterThan(10);
      for (const [a, b, expected] of cases) {
        expect(cmp(a, b), `${a} vs ${b}`).toBe(expected);
        expect(cmp(b, a), `${b} vs ${a}`).toBe(-expected || 0);
      }
      // pacman's release rule is not transitive across versions with and without a release: check within each kind.
      const all = [...new Set(cases.flatMap(([a, b]) => [a, b]))];
      const kinds = cmp === compareAlpmVersions ? [all.filter((v) => /-[^-]*$/.test(v.replace(/^\d*:/, ''))), all.filter((v) => !/-/.test(v))] : [all];
      for (const versions of kinds) {
        for (const a of versions) for (const b of versions) for (const c of versions) if (cmp(a, b) <= 0 && cmp(b, c) <= 0) expect(cmp(a, c), `${a} <= ${b} <= ${c}`).toBeLessThanOrEqual(0);
      }
    },
  );

  it('splitFreebsdVersion puts back together what formatVersion writes', () => {
    fc.assert(
      fc.property(bsdVersionText, fc.nat(20), fc.nat(5), (v, revision, epoch) => {
        const text = `${v}${revision !== 0 ? `_${revision}` : ''}${epoch !== 0 ? `,${epoch}` : ''}`;
        fc.pre(!v.includes('_') && !v.includes(','));
        expect(splitFreebsdVersion(text)).toEqual({ version: v, revision, epoch });
      }),
      propertyParams(),
    );
  });

  it('compareAlpmVersions agrees with pacman\'s vercmp on generated pairs (one process for all pairs)', () => {
    const pairs = fc.sample(fc.tuple(fc.oneof(alpmVersion, alpmLoose), fc.oneof(alpmVersion, alpmVersionNoRelease, alpmLoose)), { numRuns: 80, seed: propertyParams().seed ?? Date.now() });
    // vercmp takes one pair per call; a shell loop keeps it to one spawn from here.
    const script = 'while IFS="\t" read -r a b; do vercmp "$a" "$b"; done';
    const out = execFileSync('sh', ['-c', script], { input: pairs.map(([a, b]) => `${a}\t${b}\n`).join(''), encoding: 'utf8' }).trim().split('\n').map(Number);
    const disagreements = pairs.flatMap(([a, b], i) => (sign(out[i]!) !== compareAlpmVersions(a, b) ? [`${a} vs ${b}: vercmp ${out[i]}, ours ${compareAlpmVersions(a, b)}`] : []));
    expect(disagreements).toEqual([]);
  });
});
