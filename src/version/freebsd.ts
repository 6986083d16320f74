/**
 * FreeBSD's package version order, as `pkg version -t` computes it:
 * `${PORTVERSION}[_${PORTREVISION}][,${PORTEPOCH}]`, where the epoch outranks the
 * version, which outranks the revision. A version is read as components
 * (`number letter patchlevel` triples) separated by dots and other punctuation;
 * `pl`, `alpha`, `beta`, `pre` and `rc` are stages; `*` is the smallest component;
 * `+` ends the comparable part of a version block. Pure; written from the rules
 * documented in pkg's `libpkg/pkg_version.c`.
 */

/** A FreeBSD version split into its three parts. */
export interface FreebsdVersionParts {
  /** PORTVERSION: the text before `_revision` and `,epoch`. */
  readonly version: string;
  /** PORTREVISION (0 when absent). */
  readonly revision: number;
  /** PORTEPOCH (0 when absent). */
  readonly epoch: number;
}

/**
 * Splits `name-1.2_3,1` or `1.2_3,1` into version, revision and epoch. Only the
 * text after the last `-` is the version (a package name may contain `-`).
 */
export function splitFreebsdVersion(text: string): FreebsdVersionParts {
  const dash = text.lastIndexOf('-');
  const v = dash >= 0 ? text.slice(dash + 1) : text;
  const underscore = v.lastIndexOf('_');
  // The epoch is looked for after the revision's `_` when there is one.
  const comma = v.lastIndexOf(',');
  const epochAt = comma > underscore ? comma : -1;
  let end = v.length;
  let revision = 0;
  let epoch = 0;
  if (underscore >= 0) {
    end = underscore;
    revision = leadingNumber(v, underscore + 1, epochAt >= 0 ? epochAt : v.length);
  }
  if (epochAt >= 0) {
    epoch = leadingNumber(v, epochAt + 1, v.length);
    if (underscore < 0) end = epochAt;
  }
  return { version: v.slice(0, end), revision, epoch };
}

/** `strtoul`: the decimal digits at `from` (0 when none). */
function leadingNumber(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** One `number letter patchlevel` triple. */
interface Component {
  /** The number; -1 when the component starts with a letter, -2 for `*`. */
  n: number;
  /** The letter (a = 1 … z = 26; `pl` = 0 as a stage); 0 for none. */
  a: number;
  /** The number after the letter; -1 when a letter has none, 0 without a letter. */
  pl: number;
}

const STAGES: readonly { readonly name: string; readonly value: number }[] = [
  { name: 'pl', value: 0 },
  { name: 'alpha', value: 1 },
  { name: 'beta', value: 2 },
  { name: 'pre', value: 16 },
  { name: 'rc', value: 18 },
];

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const lower = (c: number): number => (c >= 65 && c <= 90 ? c + 32 : c);
const PLUS = 43;
const STAR = 42;

/** Reads the component at `pos` of `s` (bounded by `end`) into `out`; returns the position after it and its trailing separators. */
function readComponent(s: string, pos: number, end: number, out: Component): number {
  const at = (i: number): number => (i < end ? s.charCodeAt(i) : 0);
  let hasStage = false;
  let c = at(pos);
  if (isDigit(c)) {
    let n = 0;
    while (isDigit(at(pos))) n = n * 10 + (at(pos++) - 48);
    out.n = n;
  } else if (c === STAR) {
    out.n = -2;
    do pos++;
    while (pos < end && at(pos) !== PLUS);
  } else {
    out.n = -1;
    hasStage = true;
  }

  let hasPatchlevel = false;
  c = at(pos);
  if (isAlpha(c)) {
    let letter = lower(c);
    hasPatchlevel = true;
    if (isAlpha(at(pos + 1))) {
      for (const stage of STAGES) {
        const len = stage.name.length;
        if (s.slice(pos, Math.min(pos + len, end)).toLowerCase() === stage.name && !isAlpha(at(pos + len))) {
          if (hasStage) {
            out.a = stage.value;
            pos += len;
          } else {
            // `10alpha` reads as `10.alpha`: this component ends before the stage.
            out.a = 0;
            hasPatchlevel = false;
          }
          letter = 0;
          break;
        }
      }
    }
    if (letter !== 0) {
      out.a = letter - 96;
      do pos++;
      while (isAlpha(at(pos)));
    }
  } else {
    out.a = 0;
  }

  if (hasPatchlevel) {
    if (isDigit(at(pos))) {
      let pl = 0;
      while (isDigit(at(pos))) pl = pl * 10 + (at(pos++) - 48);
      out.pl = pl;
    } else out.pl = -1;
  } else out.pl = 0;

  for (;;) {
    c = at(pos);
    if (pos >= end || isDigit(c) || isAlpha(c) || c === PLUS || c === STAR) break;
    pos++;
  }
  return pos;
}

/** Compares two FreeBSD versions (or package names with versions): -1, 0 or 1, as `pkg version -t`. */
export function compareFreebsdVersions(a: string, b: string): -1 | 0 | 1 {
  const pa = splitFreebsdVersion(a);
  const pb = splitFreebsdVersion(b);
  if (pa.epoch !== pb.epoch) return pa.epoch < pb.epoch ? -1 : 1;
  const result = compareVersionText(pa.version, pb.version);
  if (result !== 0) return result;
  if (pa.revision !== pb.revision) return pa.revision < pb.revision ? -1 : 1;
  return 0;
}

function compareVersionText(v1: string, v2: string): -1 | 0 | 1 {
  if (v1.length === v2.length && v1.toLowerCase() === v2.toLowerCase()) return 0;
  const e1 = v1.length;
  const e2 = v2.length;
  let p1 = 0;
  let p2 = 0;
  const c1: Component = { n: 0, a: 0, pl: 0 };
  const c2: Component = { n: 0, a: 0, pl: 0 };
  while (p1 < e1 || p2 < e2) {
    c1.n = c1.a = c1.pl = 0;
    c2.n = c2.a = c2.pl = 0;
    // A `+` ends a block: the other side is compared against zero components until it reaches its own.
    const blocked1 = !(p1 < e1 && v1.charCodeAt(p1) !== PLUS);
    const blocked2 = !(p2 < e2 && v2.charCodeAt(p2) !== PLUS);
    if (!blocked1) p1 = readComponent(v1, p1, e1, c1);
    if (!blocked2) p2 = readComponent(v2, p2, e2, c2);
    if (blocked1 && blocked2) {
      if (p1 < e1) p1++;
      if (p2 < e2) p2++;
    } else if (c1.n !== c2.n) return c1.n < c2.n ? -1 : 1;
    else if (c1.a !== c2.a) return c1.a < c2.a ? -1 : 1;
    else if (c1.pl !== c2.pl) return c1.pl < c2.pl ? -1 : 1;
  }
  return 0;
}

const OPERATORS = ['>=', '<=', '==', '!=', '>', '<', '='] as const;
type Operator = (typeof OPERATORS)[number];

/**
 * Whether `version` satisfies a pkg version constraint such as `>=1.2`, `>5<6`
 * or `>=5<=6` (every comparison must hold). Returns undefined for text that is
 * not a constraint.
 */
export function matchesFreebsdConstraint(version: string, constraint: string): boolean | undefined {
  const parts = parseConstraint(constraint);
  if (parts === undefined) return undefined;
  return parts.every(({ op, operand }) => {
    const c = compareFreebsdVersions(version, operand);
    switch (op) {
      case '>':
        return c > 0;
      case '>=':
        return c >= 0;
      case '<':
        return c < 0;
      case '<=':
        return c <= 0;
      case '!=':
        return c !== 0;
      default:
        return c === 0;
    }
  });
}

function parseConstraint(text: string): { op: Operator; operand: string }[] | undefined {
  const parts: { op: Operator; operand: string }[] = [];
  let pos = 0;
  while (pos < text.length) {
    const op = OPERATORS.find((o) => text.startsWith(o, pos));
    if (op === undefined) return undefined;
    pos += op.length;
    let end = pos;
    while (end < text.length && !'<>=!'.includes(text[end]!)) end++;
    if (end === pos) return undefined;
    parts.push({ op, operand: text.slice(pos, end) });
    pos = end;
  }
  return parts.length > 0 ? parts : undefined;
}
