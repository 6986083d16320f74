import { writeUtf8 } from '../model/utf8.js';

/**
 * A map from strings to numbers whose keys and lookups are ranges of bytes (UTF-8), so that
 * looking up each word of a text makes no string per word (an INDEX names about 27 dependencies
 * per line: a million lookups for 35,000 ports), and a key read from a text is added without
 * making a string of it either. Open addressing over typed arrays, FNV-1a of the bytes; a hit is
 * confirmed by comparing the bytes, so collisions only cost time. It grows as keys are added.
 */
export class SubstringMap {
  /** The keys' bytes, one after the other: key k is `bytes[keyStart[k], keyStart[k + 1])`. */
  private bytes: Buffer = Buffer.allocUnsafe(1024);
  private used = 0;
  private keyStart: Int32Array;
  private count = 0;
  private values: Int32Array;
  /** Per slot, two numbers: the index of a key (-1: empty) and the key's hash, side by side so that a probe reads one place. */
  private slots: Int32Array;
  private mask: number;
  /** Keys the arrays have room for; the table has at least twice as many slots. */
  private capacity: number;

  /** A map sized for `capacity` keys (it grows beyond). */
  constructor(capacity: number) {
    this.capacity = Math.max(capacity, 4);
    let size = 16;
    while (size < this.capacity * 2) size *= 2;
    this.mask = size - 1;
    this.slots = new Int32Array(size * 2).fill(-1);
    this.values = new Int32Array(this.capacity);
    this.keyStart = new Int32Array(this.capacity + 1);
  }

  /** The number of keys. */
  get size(): number {
    return this.count;
  }

  /** Adds a key unless it is there already (then its first value stays); false when it was there. */
  add(key: string, value: number): boolean {
    this.roomForKey(key.length * 3);
    // The key's bytes go where the next key starts: `insert` keeps them there only if the key is new.
    const length = writeUtf8(this.bytes, key, this.used);
    return this.insert(this.bytes, this.used, this.used + length, value, false);
  }

  /** Adds the key `text[start, end)` unless it is there already (then its first value stays); false when it was there. */
  addRange(text: Uint8Array, start: number, end: number, value: number): boolean {
    return this.insert(text, start, end, value, false);
  }

  /**
   * Adds the key `text[start, end)` with `value` and gives -1, or gives the value of the key when
   * it is there already (left as it is): one probe where `get` then `addRange` take two.
   */
  addOrGet(text: Uint8Array, start: number, end: number, value: number): number {
    const hash = hashRange(text, start, end);
    const found = this.find(text, start, end, hash);
    if (found !== -1) return this.values[found]!;
    this.append(text, start, end, value, hash);
    return -1;
  }

  /** Sets the value of the key `text[start, end)`, adding the key when it is not there. */
  setRange(text: Uint8Array, start: number, end: number, value: number): void {
    this.insert(text, start, end, value, true);
  }

  /** The value of the key whose UTF-8 is `text[start, end)`, or undefined. */
  get(text: Uint8Array, start: number, end: number): number | undefined {
    const k = this.find(text, start, end, hashRange(text, start, end));
    return k === -1 ? undefined : this.values[k];
  }

  /** The value of `key`, or undefined. */
  getString(key: string): number | undefined {
    const bytes = Buffer.from(key, 'utf8');
    return this.get(bytes, 0, bytes.length);
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

  /** Makes room for `length` more key bytes at `used`. */
  private roomForKey(length: number): void {
    if (this.used + length > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + length));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
  }

  /** Adds `text[start, end)` with `value`, or when it is there sets its value (`overwrite`) or leaves it; true when the key was added. */
  private insert(text: Uint8Array, start: number, end: number, value: number, overwrite: boolean): boolean {
    const hash = hashRange(text, start, end);
    const found = this.find(text, start, end, hash);
    if (found !== -1) {
      if (overwrite) this.values[found] = value;
      return false;
    }
    this.append(text, start, end, value, hash);
    return true;
  }

  /** Adds `text[start, end)`, which is not a key, with `value`. */
  private append(text: Uint8Array, start: number, end: number, value: number, hash: number): void {
    if (this.count === this.capacity) this.grow();
    const length = end - start;
    // `text` may be this.bytes itself, with the key at `used` (from `add`): then it is in place.
    if (text !== this.bytes || start !== this.used) {
      this.roomForKey(length);
      for (let i = 0; i < length; i++) this.bytes[this.used + i] = text[start + i]!;
    }
    const k = this.count++;
    this.used += length;
    this.keyStart[k + 1] = this.used;
    this.values[k] = value;
    this.place(k, hash);
  }

  private place(k: number, hash: number): void {
    let slot = hash & this.mask;
    while (this.slots[slot * 2] !== -1) slot = (slot + 1) & this.mask;
    this.slots[slot * 2] = k;
    this.slots[slot * 2 + 1] = hash;
  }

  /** Doubles the room for keys and the table, placing every key again (with the hash its slot kept). */
  private grow(): void {
    this.capacity *= 2;
    const values = new Int32Array(this.capacity);
    values.set(this.values);
    this.values = values;
    const keyStart = new Int32Array(this.capacity + 1);
    keyStart.set(this.keyStart);
    this.keyStart = keyStart;
    const old = this.slots;
    this.mask = (this.mask + 1) * 2 - 1;
    this.slots = new Int32Array((this.mask + 1) * 2).fill(-1);
    for (let slot = 0; slot < old.length; slot += 2) if (old[slot] !== -1) this.place(old[slot]!, old[slot + 1]!);
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
