import { describe, expect, it } from 'vitest';
import { SubstringMap } from '../../src/sources/substringMap.js';

describe('SubstringMap', () => {
  it('finds a key given as a range of a text, and nothing for a range that is no key', () => {
    const map = new SubstringMap(4);
    expect(map.add('gettext-0.19', 1)).toBe(true);
    expect(map.add('gmake-4.2', 2)).toBe(true);
    expect(map.add('devel/gmake', 3)).toBe(true);
    const text = Buffer.from('x gmake-4.2 gettext-0.19 devel/gmake gmake-4 gettext-0.199');
    const at = (word: string, from = 0) => {
      const start = text.indexOf(word, from);
      return map.get(text, start, start + word.length);
    };
    expect(at('gmake-4.2')).toBe(2);
    expect(at('gettext-0.19')).toBe(1);
    expect(at('devel/gmake')).toBe(3);
    expect(at('gmake-4', 40)).toBeUndefined(); // a prefix of a key
    expect(at('gettext-0.199')).toBeUndefined(); // a key is a prefix of it
    expect(map.get(text, 0, 0)).toBeUndefined();
  });

  it('reads a word up to a stop byte, hashing as it scans, and says where the word ends', () => {
    const map = new SubstringMap(3);
    map.add('gettext-0.19', 1);
    map.add('gmake-4.2', 2);
    map.add('devel/gmake', 3);
    const text = Buffer.from('gmake-4.2 gettext-0.19  devel/gmake|gmake-4 gmake-4.2');
    const words: [number, number][] = [];
    for (let at = 0, end = text.indexOf('|'); at < end; at = map.wordEnd + 1) words.push([map.getWord(text, at, end, 32), map.wordEnd]);
    // An empty word (two spaces) is no key; the last word ends at `end`, not at the '|'.
    expect(words).toEqual([[2, 9], [1, 22], [-1, 23], [3, 35]]);
    expect(map.getWord(text, 36, text.length, 32)).toBe(-1); // gmake-4: a prefix of a key
    expect(map.getWord(text, 44, text.length, 32)).toBe(2);
    expect(map.wordEnd).toBe(text.length);
  });

  it('keeps the first value of a key given twice', () => {
    const map = new SubstringMap(2);
    expect(map.add('a', 1)).toBe(true);
    expect(map.add('a', 2)).toBe(false);
    expect(map.get(Buffer.from('a'), 0, 1)).toBe(1);
  });

  it.each([5000, 3])('holds many keys, colliding ones included, each with its value (sized for %i)', (capacity) => {
    const keys = Array.from({ length: 5000 }, (_, i) => `port${i}-${i % 7}.${i % 13}`);
    const map = new SubstringMap(capacity);
    keys.forEach((k, i) => map.add(k, i));
    expect(map.size).toBe(5000);
    const text = Buffer.from(keys.join(' '));
    let start = 0;
    keys.forEach((k, i) => {
      expect(map.get(text, start, start + k.length)).toBe(i);
      start += k.length + 1;
    });
    expect(map.add(keys[0]!, 1)).toBe(false);
    expect(map.add('one-more', 5000)).toBe(true); // it grows
    expect(map.getString('one-more')).toBe(5000);
    expect(map.getString(keys[4999]!)).toBe(4999);
  });

  it('adds keys given as ranges of a text: addRange keeps the first value, setRange replaces it', () => {
    const text = Buffer.from('gettext-0.19 gmake-4.2 gettext-0.19 café-1');
    const map = new SubstringMap(1);
    expect(map.addRange(text, 0, 12, 1)).toBe(true);
    expect(map.addRange(text, 13, 22, 2)).toBe(true);
    expect(map.addRange(text, 23, 35, 3)).toBe(false); // the same bytes as the first key
    expect(map.getString('gettext-0.19')).toBe(1);
    map.setRange(text, 23, 35, 4);
    expect(map.getString('gettext-0.19')).toBe(4);
    map.setRange(text, 36, text.length, 5); // a new key: added
    expect(map.getString('café-1')).toBe(5);
    expect(map.size).toBe(3);
    text.fill(0); // keys are copied, not referenced
    expect(map.getString('gmake-4.2')).toBe(2);
    expect(map.getString('gmake-4')).toBeUndefined();
  });

  it('adds a key or gives the value it has, in one call (addOrGet), also as the map grows', () => {
    const text = Buffer.from('perl5 gmake perl5 python3 gmake');
    const map = new SubstringMap(1);
    expect(map.addOrGet(text, 0, 5, 10)).toBe(-1);
    expect(map.addOrGet(text, 6, 11, 11)).toBe(-1);
    expect(map.addOrGet(text, 12, 17, 12)).toBe(10); // perl5 again: its value, left as it was
    expect(map.addOrGet(text, 18, 25, 13)).toBe(-1);
    expect(map.addOrGet(text, 26, 31, 14)).toBe(11);
    expect(map.size).toBe(3);
    expect([map.getString('perl5'), map.getString('gmake'), map.getString('python3')]).toEqual([10, 11, 13]);
    for (let i = 0; i < 2000; i++) expect(map.addOrGet(Buffer.from(`p${i}`), 0, `p${i}`.length, i)).toBe(-1);
    for (let i = 0; i < 2000; i++) expect(map.addOrGet(Buffer.from(`p${i}`), 0, `p${i}`.length, -5)).toBe(i);
  });

  it('matches keys by their UTF-8 bytes', () => {
    const map = new SubstringMap(2);
    map.add('café-1.0', 7);
    map.add('cafe-1.0', 8);
    const text = Buffer.from('x café-1.0 cafe-1.0');
    expect(map.get(text, 2, 2 + Buffer.byteLength('café-1.0'))).toBe(7);
    expect(map.get(text, text.length - 8, text.length)).toBe(8);
  });

  it('agrees with a Map over many keys of every length, growing from the smallest table, through all its operations', () => {
    // Keys of 0 to 5 letters from a small alphabet: many share hashes' low bits, so probes wrap and collide.
    let seed = 7;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const word = (): string => Array.from({ length: random(6) }, () => 'abcd'[random(4)]).join('');
    const map = new SubstringMap(1);
    const reference = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const key = word();
      const text = Buffer.from(`|${key}|`);
      const op = random(4);
      if (op === 0) {
        expect(map.addOrGet(text, 1, text.length - 1, i)).toBe(reference.get(key) ?? -1);
        if (!reference.has(key)) reference.set(key, i);
      } else if (op === 1) {
        map.setRange(text, 1, text.length - 1, i);
        reference.set(key, i);
      } else if (op === 2) {
        expect(map.addRange(text, 1, text.length - 1, i)).toBe(!reference.has(key));
        if (!reference.has(key)) reference.set(key, i);
      } else {
        expect(map.getWord(text, 1, text.length, 124)).toBe(reference.get(key) ?? -1);
        expect(map.wordEnd).toBe(text.length - 1);
      }
    }
    expect(map.size).toBe(reference.size);
    for (const [key, value] of reference) expect(map.getString(key)).toBe(value);
  });
});
