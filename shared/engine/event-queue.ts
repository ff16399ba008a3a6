/**
 * A binary min-heap of events held in typed arrays: no object is allocated per event.
 *
 * Events are ordered by the total key (timePs, priority, origin, seq):
 * - timePs: integer picoseconds (stored in a float64, exact below 2^53 ps, about 2.5 hours);
 * - priority: 0..15, lower runs first at the same time;
 * - origin: the entity (CPU or home node) that created the event, below 65536;
 * - seq: the origin's own running counter (below 2^32), so that two events never tie.
 * priority, origin and seq are packed into one exact float64, `rank`, so a comparison is at
 * most two number comparisons. Nothing in the key depends on which worker holds the entity,
 * so any partition of the entities processes the same events in the same order.
 *
 * The heap arrays hold the keys in heap order (so sifting reads contiguous memory) and a slot
 * index into the payload arrays (target, type and four numeric arguments).
 */
export const MAX_PRIORITY = 15;
export const MAX_SEQ = 2 ** 32;

export class EventQueue {
  private capacity: number;
  private heapTime: Float64Array;
  private heapRank: Float64Array;
  private heapSlot: Int32Array;
  // The payload arrays are read directly by Engine.runUntil (a hot loop); treat as read-only.
  /** target * 256 + type, per slot. */
  targetType: Int32Array;
  /** The four arguments of slot i at args[4 * i .. 4 * i + 3]. */
  args: Float64Array;
  private freeSlots: Int32Array;
  private freeCount: number;
  private count = 0;
  /** Key of the event last popped. */
  lastTimePs = 0;
  lastRank = 0;

  constructor(initialCapacity = 1024) {
    this.capacity = Math.max(16, initialCapacity);
    const cap = this.capacity;
    this.heapTime = new Float64Array(cap);
    this.heapRank = new Float64Array(cap);
    this.heapSlot = new Int32Array(cap);
    this.targetType = new Int32Array(cap);
    this.args = new Float64Array(cap * 4);
    this.freeSlots = new Int32Array(cap);
    for (let i = 0; i < cap; i++) this.freeSlots[i] = cap - 1 - i;
    this.freeCount = cap;
  }

  get size(): number {
    return this.count;
  }

  /** Packs (priority, origin, seq) into one exactly representable number. */
  static rank(priority: number, origin: number, seq: number): number {
    return (priority * 65536 + origin) * MAX_SEQ + seq;
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
    this.pushRanked(timePs, (priority * 65536 + origin) * MAX_SEQ + seq, target, type, a0, a1, a2, a3);
  }

  pushRanked(timePs: number, rank: number, target: number, type: number, a0: number, a1: number, a2: number, a3: number): void {
    if (this.freeCount === 0) this.grow();
    const slot = this.freeSlots[--this.freeCount];
    this.targetType[slot] = target * 256 + type;
    const args = this.args;
    const at = slot * 4;
    args[at] = a0;
    args[at + 1] = a1;
    args[at + 2] = a2;
    args[at + 3] = a3;
    const ht = this.heapTime;
    const hr = this.heapRank;
    const hs = this.heapSlot;
    let i = this.count++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = ht[p];
      if (pt < timePs || (pt === timePs && hr[p] < rank)) break;
      ht[i] = pt;
      hr[i] = hr[p];
      hs[i] = hs[p];
      i = p;
    }
    ht[i] = timePs;
    hr[i] = rank;
    hs[i] = slot;
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTime(): number {
    return this.count === 0 ? Infinity : this.heapTime[0];
  }

  /**
   * Removes the earliest event and returns its payload slot (its key is in lastTimePs and
   * lastRank); read the payload with the accessors below, then release(slot) before the next push.
   */
  pop(): number {
    const ht = this.heapTime;
    const hr = this.heapRank;
    const hs = this.heapSlot;
    const top = hs[0];
    this.lastTimePs = ht[0];
    this.lastRank = hr[0];
    const n = --this.count;
    const lt = ht[n];
    const lr = hr[n];
    const ls = hs[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (ht[r] < ht[c] || (ht[r] === ht[c] && hr[r] < hr[c]))) c = r;
      const ct = ht[c];
      if (lt < ct || (lt === ct && lr < hr[c])) break;
      ht[i] = ct;
      hr[i] = hr[c];
      hs[i] = hs[c];
      i = c;
    }
    if (n > 0) {
      ht[i] = lt;
      hr[i] = lr;
      hs[i] = ls;
    }
    return top;
  }

  release(slot: number): void {
    this.freeSlots[this.freeCount++] = slot;
  }

  target(slot: number): number {
    return this.targetType[slot] >> 8;
  }
  type(slot: number): number {
    return this.targetType[slot] & 255;
  }
  a0(slot: number): number {
    return this.args[slot * 4];
  }
  a1(slot: number): number {
    return this.args[slot * 4 + 1];
  }
  a2(slot: number): number {
    return this.args[slot * 4 + 2];
  }
  a3(slot: number): number {
    return this.args[slot * 4 + 3];
  }

  /** Splits a rank into (priority, origin, seq). */
  static unpackRank(rank: number): { priority: number; origin: number; seq: number } {
    const seq = rank % MAX_SEQ;
    const po = (rank - seq) / MAX_SEQ;
    return { priority: Math.floor(po / 65536), origin: po % 65536, seq };
  }

  private grow(): void {
    const old = this.capacity;
    const cap = old * 2;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.heapTime = f64(this.heapTime);
    this.heapRank = f64(this.heapRank);
    const args = new Float64Array(cap * 4);
    args.set(this.args);
    this.args = args;
    const slots = new Int32Array(cap);
    slots.set(this.heapSlot);
    this.heapSlot = slots;
    const tt = new Int32Array(cap);
    tt.set(this.targetType);
    this.targetType = tt;
    const free = new Int32Array(cap);
    for (let i = 0; i < cap - old; i++) free[i] = cap - 1 - i;
    this.freeSlots = free;
    this.freeCount = cap - old;
    this.capacity = cap;
  }
}
