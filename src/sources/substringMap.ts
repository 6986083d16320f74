import { writeUtf8 } from '../model/utf8.js';

/**
 * A map from strings to numbers whose lookups take a range of bytes (UTF-8), so
 * that looking up each word of a text makes no string per word (an INDEX names
 * about 27 dependencies per line: a million lookups for 35,000 ports). Keys are
 * fixed at construction. Open addressing over typed arrays, FNV-1a of the bytes;
 * a hit is confirmed by comparing the bytes, so collisions only cost time.
 */
export class SubstringMap {
  /** The keys' bytes, one after the other: key k is `bytes[keyStart[k], keyStart[k + 1])`. */
  private bytes: Buffer = Buffer.allocUnsafe(1024);
  private used = 0;
  private readonly keyStart: Int32Array;
  private count = 0;
  private readonly values: Int32Array;
  /** Per slot, two numbers: the index of a key (-1: empty) and the key's hash, side by side so that a probe reads one place. */
  private readonly slots: Int32Array;
  private readonly mask: number;

  /** A map for at most `capacity` keys. */
  constructor(readonly capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.mask = size - 1;
    this.slots = new Int32Array(size * 2).fill(-1);
    this.values = new Int32Array(capacity);
    this.keyStart = new Int32Array(capacity + 1);
  }

  /** Adds a key unless it is there already (then its first value stays); false when it was there. */
  add(key: string, value: number): boolean {
    if (this.count === this.capacity) {
      if (this.get(Buffer.from(key, 'utf8'), 0, Buffer.byteLength(key, 'utf8')) !== undefined) return false;
      throw new Error(`SubstringMap: more than ${this.capacity} keys`);
    }
    // The key's bytes go where the next key starts; they stay only if it is new.
    if (this.used + key.length * 3 > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + key.length * 3));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    const start = this.used;
    const length = writeUtf8(this.bytes, key, start);
    const hash = hashRange(this.bytes, start, start + length);
    if (this.find(this.bytes, start, start + length, hash) !== -1) return false;
    const k = this.count++;
    this.used += length;
    this.keyStart[k + 1] = this.used;
    this.values[k] = value;
    let slot = hash & this.mask;
    while (this.slots[slot * 2] !== -1) slot = (slot + 1) & this.mask;
    this.slots[slot * 2] = k;
    this.slots[slot * 2 + 1] = hash;
    return true;
  }

  /** The value of the key whose UTF-8 is `text[start, end)`, or undefined. */
  get(text: Uint8Array, start: number, end: number): number | undefined {
    const k = this.find(text, start, end, hashRange(text, start, end));
    return k === -1 ? undefined : this.values[k];
  }

  /** Where the word read by the last `getWord` ends (the index of its stop byte, or `end`). */
  wordEnd = 0;

  /**
   * The value of the word that starts at `text[start]` and runs up to the first `stop` byte (or
   * `end`), or -1 when no key is that word; the word's end is left in `wordEnd`. The word is
   * scanned and hashed in one pass (a word list is read once, a million words for a large INDEX).
   */
  getWord(text: Uint8Array, start: number, end: number, stop: number): number {
    let hash = FNV_OFFSET;
    let i = start;
    for (; i < end; i++) {
      const byte = text[i]!;
      if (byte === stop) break;
      hash = Math.imul(hash ^ byte, FNV_PRIME);
    }
    this.wordEnd = i;
    const k = this.find(text, start, i, hash);
    return k === -1 ? -1 : this.values[k]!;
  }

  private find(text: Uint8Array, start: number, end: number, hash: number): number {
    const length = end - start;
    const bytes = this.bytes;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const k = this.slots[slot * 2]!;
      if (k === -1) return -1;
      if (this.slots[slot * 2 + 1] !== hash) continue;
      const from = this.keyStart[k]!;
      if (this.keyStart[k + 1]! - from !== length) continue;
      let i = 0;
      while (i < length && bytes[from + i] === text[start + i]) i++;
      if (i === length) return k;
    }
  }
}

/** FNV-1a, 32 bits. */
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

function hashRange(bytes: Uint8Array, start: number, end: number): number {
  let hash = FNV_OFFSET;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, FNV_PRIME);
  return hash;
}
