import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareAlpmVersions, parseEvr } from '../../src/version/alpm.js';
import { corpus } from '../helpers/corpora.js';
import { seededRandom } from '../helpers/random.js';

const CORPUS = corpus('vercmp/vercmp-pacman.tsv');
const cases = readFileSync(CORPUS, 'utf8')
  .split('\n')
  .slice(1)
  .filter((line) => line !== '')
  .map((line) => {
    const [a, b, expected] = line.split('\t');
    return [a!, b!, Number(expected)] as const;
  });

describe('compareAlpmVersions: pacman test suite (vercmp-pacman.tsv)', () => {
  it('has the corpus', () => expect(cases.length).toBe(46));
  it.each(cases)('%s vs %s = %i', (a, b, expected) => {
    expect(compareAlpmVersions(a, b)).toBe(expected);
    // The order is antisymmetric: the corpus checks one direction, check the other too.
    expect(compareAlpmVersions(b, a)).toBe(-expected || 0);
  });
});

describe('parseEvr', () => {
  it.each([
    ['1.0', { epoch: '0', version: '1.0' }],
    ['2:1.0-3', { epoch: '2', version: '1.0', release: '3' }],
    [':1.0', { epoch: '0', version: '1.0' }],
    ['a:1.0', { epoch: '0', version: 'a:1.0' }],
    ['1-2-3', { epoch: '0', version: '1-2', release: '3' }],
    ['1:2:3', { epoch: '1', version: '2:3' }],
    ['-1', { epoch: '0', version: '', release: '1' }],
  ])('%s', (evr, parts) => expect(parseEvr(evr)).toEqual(parts));
});

/** Versions made of the pieces pacman's order treats specially. */
function generateVersion(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const segment = (): string =>
    pick([
      () => String(Math.floor(random() * 20)),
      () => `0${Math.floor(random() * 10)}`,
      () => String(Math.floor(random() * 1e12)),
      () => pick(['a', 'b', 'alpha', 'beta', 'rc', 'pre', 'Z', 'git', 'r']),
      () => `${Math.floor(random() * 10)}${pick(['a', 'b', 'rc'])}`,
      () => '',
    ])();
  const separator = (): string => pick(['.', '.', '.', '_', '+', '~', '..', '__', '.+', '', '-']);
  let version = segment();
  const count = Math.floor(random() * 5);
  for (let i = 0; i < count; i++) version += separator() + segment();
  if (version === '') version = '0';
  if (random() < 0.2) version = `${pick(['0', '1', '2', '', '01', '10'])}:${version}`;
  if (random() < 0.5) version += `-${pick(['1', '2', '10', '1.1', '0', 'a', '1a'])}`;
  return version;
}

const vercmpBinary = spawnSync('vercmp', ['1', '2'], { encoding: 'utf8' }).stdout === '-1\n';

describe.skipIf(!vercmpBinary)('compareAlpmVersions agrees with pacman\'s vercmp binary', () => {
  it('on 2,000 generated pairs', async () => {
    const random = seededRandom(20261123);
    const pairs: [string, string][] = [];
    for (let i = 0; i < 2000; i++) {
      const a = generateVersion(random);
      // Half the pairs share a prefix, where the interesting decisions are.
      const b = random() < 0.5 ? generateVersion(random) : a.slice(0, Math.floor(random() * (a.length + 1))) + generateVersion(random);
      pairs.push([a, b]);
    }
    // Two xargs processes (each half in order) start vercmp per pair; NUL-separated so that no version is interpreted.
    const runHalf = (half: [string, string][]): Promise<number[]> =>
      new Promise((resolve, reject) => {
        const child = execFile('xargs', ['-0', '-n', '2', 'vercmp'], { encoding: 'utf8', maxBuffer: 1 << 24 }, (error, stdout) =>
          error !== null ? reject(new Error(`xargs vercmp: ${error.message}`)) : resolve(stdout.trimEnd().split('\n').map(Number)),
        );
        child.stdin!.end(half.flat().join('\0') + '\0');
      });
    const middle = pairs.length / 2;
    const expected = (await Promise.all([runHalf(pairs.slice(0, middle)), runHalf(pairs.slice(middle))])).flat();
    expect(expected.length).toBe(pairs.length);
    const disagreements = pairs.flatMap(([a, b], i) => {
      const ours = compareAlpmVersions(a, b);
      return ours === expected[i] ? [] : [`${a} vs ${b}: vercmp ${expected[i]}, ours ${ours}`];
    });
    if (disagreements.length > 0) console.log(`disagreements with vercmp:\n${disagreements.join('\n')}`);
    expect(disagreements).toEqual([]);
  });
});
