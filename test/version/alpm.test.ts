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

/** Seeded pairs, half of them sharing a prefix, where the interesting decisions are. */
function generatePairs(seed: number, count: number): [string, string][] {
  const random = seededRandom(seed);
  const pairs: [string, string][] = [];
  for (let i = 0; i < count; i++) {
    const a = generateVersion(random);
    const b = random() < 0.5 ? generateVersion(random) : a.slice(0, Math.floor(random() * (a.length + 1))) + generateVersion(random);
    pairs.push([a, b]);
  }
  return pairs;
}

/** Runs `command args` with `input` on stdin; resolves its stdout as one number per line. */
function numbersFrom(command: string, args: readonly string[], input: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { encoding: 'utf8', maxBuffer: 1 << 24 }, (error, stdout) =>
      error !== null ? reject(new Error(`${command}: ${error.message}`)) : resolve(stdout.trimEnd().split('\n').map(Number)),
    );
    child.stdin!.end(input);
  });
}

function expectAgreement(pairs: readonly [string, string][], theirs: readonly number[], what: string): void {
  expect(theirs.length).toBe(pairs.length);
  const disagreements = pairs.flatMap(([a, b], i) => {
    const ours = compareAlpmVersions(a, b);
    return ours === theirs[i] ? [] : [`${a} vs ${b}: ${what} ${theirs[i]}, ours ${ours}`];
  });
  if (disagreements.length > 0) console.log(`disagreements with ${what}:\n${disagreements.join('\n')}`);
  expect(disagreements).toEqual([]);
}

const vercmpBinary = spawnSync('vercmp', ['1', '2'], { encoding: 'utf8' }).stdout === '-1\n';
/** libalpm's own alpm_pkg_vercmp, called through Python's ctypes: thousands of pairs in one process. */
const LIBALPM_SCRIPT = `
import ctypes, sys
f = ctypes.CDLL('libalpm.so.13').alpm_pkg_vercmp
f.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
f.restype = ctypes.c_int
items = sys.stdin.buffer.read().split(b'\\0')[:-1]
sys.stdout.write(''.join('%d\\n' % max(-1, min(1, f(items[i], items[i + 1]))) for i in range(0, len(items), 2)))
`;
const libalpm = spawnSync('python3', ['-c', LIBALPM_SCRIPT], { input: '1\u00002\u0000', encoding: 'utf8' }).stdout === '-1\n';

describe('compareAlpmVersions agrees with pacman', () => {
  // vercmp compares one pair per process: a few hundred pairs, two xargs in parallel, each half in order.
  it.skipIf(!vercmpBinary)('the vercmp binary, on 300 generated pairs', async () => {
    const pairs = generatePairs(20261123, 300);
    const half = (part: [string, string][]): Promise<number[]> => numbersFrom('xargs', ['-0', '-n', '2', 'vercmp'], part.flat().join('\0') + '\0');
    const theirs = (await Promise.all([half(pairs.slice(0, 150)), half(pairs.slice(150))])).flat();
    expectAgreement(pairs, theirs, 'vercmp');
  });

  it.skipIf(!libalpm)('libalpm\'s alpm_pkg_vercmp, on 20,000 generated pairs', async () => {
    const pairs = generatePairs(7, 20_000);
    expectAgreement(pairs, await numbersFrom('python3', ['-c', LIBALPM_SCRIPT], pairs.flat().join('\0') + '\0'), 'libalpm');
  });
});
