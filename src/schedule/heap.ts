/**
 * A binary min-heap of small integers (job indices) ordered by a strict total
 * order given as `less`, so pops are deterministic. Tracks each index's position
 * so that any index can be removed in O(log n).
 */
export class IndexHeap {
  private readonly items: Int32Array;
  private n = 0;

  /**
   * @param less true when `a` comes before `b`; a strict total order over the indices
   *   held, which must not change for an index while it is in the heap.
   * @param capacity the most indices held at once.
   * @param pos position of each index in the heap; may be shared by heaps whose index
   *   sets never overlap. Entries of indices not in this heap are meaningless.
   */
  constructor(
    private readonly less: (a: number, b: number) => boolean,
    capacity: number,
    private readonly pos: Int32Array,
  ) {
    this.items = new Int32Array(Math.max(1, capacity));
  }

  get size(): number {
    return this.n;
  }

  /** The index with the smallest key, or -1 when empty. */
  peek(): number {
    return this.n > 0 ? this.items[0]! : -1;
  }

  push(index: number): void {
    if (this.n >= this.items.length) throw new RangeError('IndexHeap: capacity exceeded');
    this.siftUp(this.n++, index);
  }

  /** Removes and returns the index with the smallest key, or -1 when empty. */
  pop(): number {
    if (this.n === 0) return -1;
    const top = this.items[0]!;
    const last = this.items[--this.n]!;
    if (this.n > 0) this.siftDown(0, last);
    return top;
  }

  /** Removes `index`, which must be in this heap. */
  remove(index: number): void {
    const i = this.pos[index]!;
    if (i >= this.n || this.items[i] !== index) throw new Error('IndexHeap: index not in heap');
    const last = this.items[--this.n]!;
    if (i === this.n) return;
    if (i > 0 && this.less(last, this.items[(i - 1) >> 1]!)) this.siftUp(i, last);
    else this.siftDown(i, last);
  }

  /** True when `index` is in this heap. */
  has(index: number): boolean {
    const i = this.pos[index]!;
    return i >= 0 && i < this.n && this.items[i] === index;
  }

  clear(): void {
    this.n = 0;
  }

  /** The indices held, in no particular order. */
  toArray(): number[] {
    return Array.from(this.items.subarray(0, this.n));
  }

  /** Places `index` at hole `i` or above. */
  private siftUp(i: number, index: number): void {
    const items = this.items;
    const pos = this.pos;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!this.less(index, p)) break;
      items[i] = p;
      pos[p] = i;
      i = parent;
    }
    items[i] = index;
    pos[index] = i;
  }

  /** Places `index` at hole `i` or below. */
  private siftDown(i: number, index: number): void {
    const items = this.items;
    const pos = this.pos;
    const n = this.n;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let child = items[l]!;
      if (r < n) {
        const rc = items[r]!;
        if (this.less(rc, child)) {
          c = r;
          child = rc;
        }
      }
      if (!this.less(child, index)) break;
      items[i] = child;
      pos[child] = i;
      i = c;
    }
    items[i] = index;
    pos[index] = i;
  }
}
