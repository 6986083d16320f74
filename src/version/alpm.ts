/**
 * pacman's version order: a port of `alpm_pkg_vercmp` and `rpmvercmp` from
 * libalpm's version.c. Pure.
 *
 * A version is `[epoch:]pkgver[-pkgrel]`. The epoch (default 0) is compared
 * first, then pkgver, then pkgrel — the release only when both versions have
 * one (`1.5` equals `1.5-1`). Each part is compared segment by segment: runs of
 * ASCII digits or of ASCII letters, separated by any other bytes. A numeric
 * segment beats an alphabetic one; numbers compare without leading zeros; a
 * longer separator run wins (`2___a` > `2_a`); when one side runs out, a
 * remaining alphabetic segment loses (`1.0a` < `1.0`) and anything else wins.
 *
 * Like the C code, this works on bytes: non-ASCII characters are separators
 * counted by their UTF-8 length.
 */

/** -1, 0 or 1 as `alpm_pkg_vercmp(a, b)` returns (and pacman's `vercmp` prints). */
export function compareAlpmVersions(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  const left = parseEvr(asBytes(a));
  const right = parseEvr(asBytes(b));
  let result = rpmvercmp(left.epoch, right.epoch);
  if (result === 0) {
    result = rpmvercmp(left.version, right.version);
    if (result === 0 && left.release !== undefined && right.release !== undefined) result = rpmvercmp(left.release, right.release);
  }
  return result;
}

/** One char per UTF-8 byte (the string itself when it is ASCII, the common case). */
function asBytes(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 127) return Buffer.from(s, 'utf8').toString('latin1');
  }
  return s;
}

/**
 * `parseEVR`: the epoch is the leading digits when a `:` follows them (empty
 * means 0); the release is what follows the last `-` after those digits.
 */
export function parseEvr(evr: string): { epoch: string; version: string; release?: string } {
  let s = 0;
  while (s < evr.length && isDigit(evr.charCodeAt(s))) s++;
  const dash = evr.lastIndexOf('-');
  const se = dash >= s ? dash : -1;
  let epoch = '0';
  let versionStart = 0;
  if (evr.charCodeAt(s) === 58 /* : */) {
    epoch = s === 0 ? '0' : evr.slice(0, s);
    versionStart = s + 1;
  }
  if (se >= 0) return { epoch, version: evr.slice(versionStart, se), release: evr.slice(se + 1) };
  return { epoch, version: evr.slice(versionStart) };
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);

/** `rpmvercmp` of one part (epoch, pkgver or pkgrel). Indexes past the end read as NUL, as in C. */
function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  const at1 = (i: number): number => (i < a.length ? a.charCodeAt(i) : 0);
  const at2 = (i: number): number => (i < b.length ? b.charCodeAt(i) : 0);
  let one = 0;
  let two = 0;
  let ptr1 = 0;
  let ptr2 = 0;
  while (one < a.length && two < b.length) {
    while (one < a.length && !isAlnum(a.charCodeAt(one))) one++;
    while (two < b.length && !isAlnum(b.charCodeAt(two))) two++;
    if (!(one < a.length && two < b.length)) break;
    // Separator runs of different lengths decide.
    if (one - ptr1 !== two - ptr2) return one - ptr1 < two - ptr2 ? -1 : 1;
    ptr1 = one;
    ptr2 = two;
    let isNum: boolean;
    if (isDigit(at1(ptr1))) {
      while (isDigit(at1(ptr1))) ptr1++;
      while (isDigit(at2(ptr2))) ptr2++;
      isNum = true;
    } else {
      while (isAlpha(at1(ptr1))) ptr1++;
      while (isAlpha(at2(ptr2))) ptr2++;
      isNum = false;
    }
    // Segments of different types: numeric is newer than alphabetic.
    if (two === ptr2) return isNum ? 1 : -1;
    let s1 = one;
    let s2 = two;
    if (isNum) {
      while (at1(s1) === 48) s1++;
      while (at2(s2) === 48) s2++;
      const len1 = ptr1 - s1;
      const len2 = ptr2 - s2;
      if (len1 !== len2) return len1 > len2 ? 1 : -1;
    }
    const seg1 = a.slice(s1, ptr1);
    const seg2 = b.slice(s2, ptr2);
    if (seg1 !== seg2) return seg1 < seg2 ? -1 : 1;
    one = ptr1;
    two = ptr2;
  }
  const end1 = one >= a.length;
  const end2 = two >= b.length;
  if (end1 && end2) return 0;
  // A remaining alphabetic segment never beats an empty string.
  if ((end1 && !isAlpha(at2(two))) || isAlpha(at1(one))) return -1;
  return 1;
}
