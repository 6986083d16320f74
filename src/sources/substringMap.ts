/**
 * A map from strings to numbers whose lookups take a range of a larger text, so
 * that looking up each word of a text makes no string per word (an INDEX names
 * about 27 dependencies per line: a million lookups for 35,000 ports). Keys are
 * fixed at construction. Open addressing over typed arrays, FNV-1a of the UTF-16
 * code units; a hit is confirmed by comparing the text, so collisions only cost time.
 */
export class SubstringMap {
  private readonly keys: string[] = [];
  private readonly values: Int32Array;
  /** Per slot, two numbers: the index into `keys` (-1: empty) and the key's hash, side by side so that a probe reads one place. */
  private readonly slots: Int32Array;
  private readonly mask: number;

  /** A map for at most `capacity` keys. */
  constructor(readonly capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.mask = size - 1;
    this.slots = new Int32Array(size * 2).fill(-1);
    this.values = new Int32Array(capacity);
  }

  /** Adds a key unless it is there already (then its first value stays); false when it was there. */
  add(key: string, value: number): boolean {
    const hash = hashRange(key, 0, key.length);
    if (this.find(key, 0, key.length, hash) !== -1) return false;
    const k = this.keys.length;
    if (k === this.capacity) throw new Error(`SubstringMap: more than ${this.capacity} keys`);
    this.keys.push(key);
    this.values[k] = value;
    let slot = hash & this.mask;
    while (this.slots[slot * 2] !== -1) slot = (slot + 1) & this.mask;
    this.slots[slot * 2] = k;
    this.slots[slot * 2 + 1] = hash;
    return true;
  }

  /** The value of the key equal to `text.slice(start, end)`, or undefined. */
  get(text: string, start: number, end: number): number | undefined {
    const k = this.find(text, start, end, hashRange(text, start, end));
    return k === -1 ? undefined : this.values[k];
  }

  private find(text: string, start: number, end: number, hash: number): number {
    const length = end - start;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const k = this.slots[slot * 2]!;
      if (k === -1) return -1;
      if (this.slots[slot * 2 + 1] !== hash) continue;
      const key = this.keys[k]!;
      if (key.length === length && text.startsWith(key, start)) return k;
    }
  }
}

function hashRange(text: string, start: number, end: number): number {
  let hash = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash;
}
