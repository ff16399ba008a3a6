/**
 * A binary min-heap of events held in typed arrays: no object is allocated per event.
 *
 * Events are ordered by the total key (timePs, priority, origin, seq):
 * - timePs: integer picoseconds (stored in a float64, exact below 2^53 ps, about 2.5 hours);
 * - priority: small non-negative integer, lower runs first at the same time;
 * - origin: the entity (CPU or home node) that created the event, below 65536;
 * - seq: the origin's own running counter, so that two events of one origin never tie.
 * Nothing in the key depends on which worker holds the entity, so any partition of the
 * entities processes the same events in the same order.
 *
 * Each event carries a target entity, a type code and four numeric arguments.
 */
export class EventQueue {
  private capacity: number;
  private timePs: Float64Array;
  private rank: Int32Array; // priority * 65536 + origin
  private seq: Float64Array;
  private targetOf: Int32Array;
  private typeOf: Uint8Array;
  private arg0: Float64Array;
  private arg1: Float64Array;
  private arg2: Float64Array;
  private arg3: Float64Array;
  private heap: Int32Array;
  private freeSlots: Int32Array;
  private freeCount: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    this.capacity = Math.max(16, initialCapacity);
    this.timePs = new Float64Array(this.capacity);
    this.rank = new Int32Array(this.capacity);
    this.seq = new Float64Array(this.capacity);
    this.targetOf = new Int32Array(this.capacity);
    this.typeOf = new Uint8Array(this.capacity);
    this.arg0 = new Float64Array(this.capacity);
    this.arg1 = new Float64Array(this.capacity);
    this.arg2 = new Float64Array(this.capacity);
    this.arg3 = new Float64Array(this.capacity);
    this.heap = new Int32Array(this.capacity);
    this.freeSlots = new Int32Array(this.capacity);
    for (let i = 0; i < this.capacity; i++) this.freeSlots[i] = this.capacity - 1 - i;
    this.freeCount = this.capacity;
  }

  get size(): number {
    return this.count;
  }

  push(
    timePs: number,
    priority: number,
    origin: number,
    seq: number,
    target: number,
    type: number,
    a0: number,
    a1: number,
    a2: number,
    a3: number,
  ): void {
    if (this.freeCount === 0) this.grow();
    const slot = this.freeSlots[--this.freeCount];
    this.timePs[slot] = timePs;
    this.rank[slot] = priority * 65536 + origin;
    this.seq[slot] = seq;
    this.targetOf[slot] = target;
    this.typeOf[slot] = type;
    this.arg0[slot] = a0;
    this.arg1[slot] = a1;
    this.arg2[slot] = a2;
    this.arg3[slot] = a3;
    let i = this.count++;
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent];
      if (!this.less(slot, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = slot;
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTime(): number {
    return this.count === 0 ? Infinity : this.timePs[this.heap[0]];
  }

  /**
   * Removes the earliest event and returns its slot; read it with the accessors below,
   * then call release(slot) before the next push.
   */
  pop(): number {
    const heap = this.heap;
    const top = heap[0];
    const last = heap[--this.count];
    const n = this.count;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.less(heap[right], heap[child])) child = right;
      if (!this.less(heap[child], last)) break;
      heap[i] = heap[child];
      i = child;
    }
    if (n > 0) heap[i] = last;
    return top;
  }

  release(slot: number): void {
    this.freeSlots[this.freeCount++] = slot;
  }

  time(slot: number): number {
    return this.timePs[slot];
  }
  priorityOf(slot: number): number {
    return Math.floor(this.rank[slot] / 65536);
  }
  originOf(slot: number): number {
    return this.rank[slot] & 0xffff;
  }
  seqOf(slot: number): number {
    return this.seq[slot];
  }
  target(slot: number): number {
    return this.targetOf[slot];
  }
  type(slot: number): number {
    return this.typeOf[slot];
  }
  a0(slot: number): number {
    return this.arg0[slot];
  }
  a1(slot: number): number {
    return this.arg1[slot];
  }
  a2(slot: number): number {
    return this.arg2[slot];
  }
  a3(slot: number): number {
    return this.arg3[slot];
  }

  private less(x: number, y: number): boolean {
    const tx = this.timePs[x];
    const ty = this.timePs[y];
    if (tx !== ty) return tx < ty;
    const rx = this.rank[x];
    const ry = this.rank[y];
    if (rx !== ry) return rx < ry;
    return this.seq[x] < this.seq[y];
  }

  private grow(): void {
    const old = this.capacity;
    const cap = old * 2;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.timePs = f64(this.timePs);
    this.seq = f64(this.seq);
    this.arg0 = f64(this.arg0);
    this.arg1 = f64(this.arg1);
    this.arg2 = f64(this.arg2);
    this.arg3 = f64(this.arg3);
    const rank = new Int32Array(cap);
    rank.set(this.rank);
    this.rank = rank;
    const target = new Int32Array(cap);
    target.set(this.targetOf);
    this.targetOf = target;
    const type = new Uint8Array(cap);
    type.set(this.typeOf);
    this.typeOf = type;
    const heap = new Int32Array(cap);
    heap.set(this.heap);
    this.heap = heap;
    const free = new Int32Array(cap);
    for (let i = 0; i < cap - old; i++) free[i] = cap - 1 - i;
    this.freeSlots = free;
    this.freeCount = cap - old;
    this.capacity = cap;
  }
}
