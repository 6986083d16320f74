/**
 * Mutations of real input files for the parser properties: byte flips,
 * truncation, line duplication and deletion, inserted NUL and non-UTF-8 bytes,
 * and huge lines. A mutation is data (so fast-check prints and shrinks it); its
 * positions are fractions of the input's length, so one mutation applies to any input.
 */
import fc from 'fast-check';
import { type Diagnostic } from '../../src/config/diagnostic.js';

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'duplicate-line'; readonly at: number }
  | { readonly kind: 'delete-line'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly kind: 'huge-line'; readonly at: number; readonly length: number; readonly fill: number };

const at = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** Bytes that are hard on a parser: NUL, lone UTF-8 lead and continuation bytes, CR, tab, `|`, `%`, `=`, `#`, `:`, `-`. */
const nastyByte = fc.constantFrom(0x00, 0xff, 0xfe, 0xc3, 0x80, 0xbf, 0xe2, 0x0d, 0x09, 0x0a, 0x7c, 0x25, 0x3d, 0x23, 0x3a, 0x2d, 0x20);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at }),
  fc.record({ kind: fc.constant('delete-line' as const), at }),
  fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.array(fc.oneof(nastyByte, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('huge-line' as const), at, length: fc.integer({ min: 10_000, max: 100_000 }), fill: fc.constantFrom(0x61, 0x20, 0x3d, 0x7c, 0x25, 0x2d, 0x30, 0xff) }),
);

/** One to four mutations, applied in order. */
export const mutationsArb: fc.Arbitrary<readonly Mutation[]> = fc.array(mutationArb, { minLength: 1, maxLength: 4 });

/** Start and end (after the newline) of the line holding byte `pos`. */
function lineAround(buf: Buffer, pos: number): [number, number] {
  const start = pos === 0 ? 0 : buf.lastIndexOf(0x0a, pos - 1) + 1;
  const nl = buf.indexOf(0x0a, pos);
  return [start, nl < 0 ? buf.length : nl + 1];
}

export function applyMutation(input: Buffer, m: Mutation): Buffer {
  const pos = Math.floor(m.at * input.length);
  switch (m.kind) {
    case 'flip': {
      if (input.length === 0) return input;
      const out = Buffer.from(input);
      out[pos] = out[pos]! ^ (1 << m.bit);
      return out;
    }
    case 'truncate':
      return input.subarray(0, pos);
    case 'duplicate-line': {
      const [s, e] = lineAround(input, pos);
      return Buffer.concat([input.subarray(0, e), input.subarray(s, e), input.subarray(e)]);
    }
    case 'delete-line': {
      const [s, e] = lineAround(input, pos);
      return Buffer.concat([input.subarray(0, s), input.subarray(e)]);
    }
    case 'insert':
      return Buffer.concat([input.subarray(0, pos), Buffer.from(m.bytes), input.subarray(pos)]);
    case 'huge-line':
      return Buffer.concat([input.subarray(0, pos), Buffer.alloc(m.length, m.fill), input.subarray(pos)]);
  }
}

export function mutate(input: Buffer | string, mutations: readonly Mutation[]): Buffer {
  let out = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  for (const m of mutations) out = applyMutation(out, m);
  return out;
}

/** The text a reader gets from mutated bytes (`readFileSync(…, 'utf8')`: invalid bytes become U+FFFD). */
export function mutateText(input: string, mutations: readonly Mutation[]): string {
  return mutate(input, mutations).toString('utf8');
}

/** Random text that looks a little like the inputs: lines of printable and nasty characters. */
export function textLike(alphabet: string): fc.Arbitrary<string> {
  const char = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...alphabet.split('')) },
    { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\t', ' ', '\0', '\uFFFD', 'é', '\u2028') },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme' }) },
  );
  return fc.array(char, { maxLength: 400 }).map((chars) => chars.join(''));
}

/**
 * What "located" means for a diagnostic of a file of `lineCount` lines: it names
 * the file, says what is wrong and what to do, and its line and column (when
 * given) are positive whole numbers, the line inside the file. Returns the
 * problems found (empty: fine).
 */
export function locationProblems(d: Diagnostic, lineCount: number): string[] {
  const problems: string[] = [];
  if (typeof d.file !== 'string' || d.file === '') problems.push('no file');
  if (typeof d.message !== 'string' || d.message === '') problems.push('no message');
  if (d.severity === 'error' && (typeof d.hint !== 'string' || d.hint === '')) problems.push('an error without a hint');
  if (d.line !== undefined) {
    if (!Number.isInteger(d.line) || d.line < 1 || d.line > lineCount) problems.push(`line ${d.line} outside 1..${lineCount}`);
    if (d.col === undefined || !Number.isInteger(d.col) || d.col < 1) problems.push(`column ${String(d.col)}`);
  }
  return problems;
}

/** Lines of a text as a reader counts them (a final newline ends the last line). */
export function lineCount(text: string): number {
  return Math.max(1, text.split('\n').length);
}

/** Fails with every diagnostic that is not located in a text of `lines` lines. */
export function expectLocated(diagnostics: readonly Diagnostic[], lines: number, options: { needLine?: boolean } = {}): void {
  const bad = diagnostics.flatMap((d) => {
    const problems = locationProblems(d, lines);
    if (options.needLine === true && d.severity === 'error' && d.line === undefined) problems.push('no line');
    return problems.length > 0 ? [`${JSON.stringify(d)}: ${problems.join(', ')}`] : [];
  });
  if (bad.length > 0) throw new Error(`unlocated diagnostics:\n${bad.join('\n')}`);
}

/** Runs per property: enough to find shallow bugs, few enough that the directory stays well under a minute. */
export const RUNS = 150;
/** BUILDFLEET_PROPERTY_SCALE multiplies every property's runs (e.g. 20 for a longer search by hand). */
const SCALE = Number(process.env.BUILDFLEET_PROPERTY_SCALE ?? 1);

/**
 * The seed of every property: fixed (so CI and a developer see the same cases), or
 * BUILDFLEET_PROPERTY_SEED (a number, or `random` for a new one each run).
 * fast-check prints the seed and the shrunk counterexample's path on failure.
 */
export function propertyParams(numRuns = RUNS): { numRuns: number; seed?: number } {
  const env = process.env.BUILDFLEET_PROPERTY_SEED;
  const runs = Math.max(1, Math.round(numRuns * SCALE));
  if (env === 'random') return { numRuns: runs };
  return { numRuns: runs, seed: env !== undefined ? Number(env) : 20261124 };
}
