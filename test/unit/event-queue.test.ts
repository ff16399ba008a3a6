import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventQueue, MAX_PRIORITY } from "../../shared/engine/event-queue.ts";

// The engine's total event order: (time, priority, origin, per-origin sequence), checked against
// a plain sort of the same keys.

interface Key {
  timePs: number;
  priority: number;
  origin: number;
  seq: number;
}

function compareKeys(a: Key, b: Key): number {
  return a.timePs - b.timePs || a.priority - b.priority || a.origin - b.origin || a.seq - b.seq;
}

/** Random events whose (origin, seq) pairs are unique, as the engine's per-origin counters make them. */
const keysArb = fc
  .array(
    fc.record({
      timePs: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 2 ** 50 })),
      priority: fc.integer({ min: 0, max: MAX_PRIORITY }),
      origin: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 65535 })),
    }),
    { maxLength: 300 },
  )
  .map((raw) => {
    const next = new Map<number, number>();
    return raw.map((r) => {
      const seq = next.get(r.origin) ?? 0;
      next.set(r.origin, seq + 1);
      return { ...r, seq };
    });
  });

function pushKey(q: EventQueue, k: Key, id: number): void {
  q.push(k.timePs, k.priority, k.origin, k.seq, id % 1000, id % 7, id, -id, id * 0.5, k.timePs);
}

function popKey(q: EventQueue): { key: Key; id: number } {
  const slot = q.pop();
  const { priority, origin, seq } = EventQueue.unpackRank(q.lastRank);
  const key = { timePs: q.lastTimePs, priority, origin, seq };
  const id = q.a0(slot);
  // The payload travels with its key.
  expect([q.target(slot), q.type(slot), q.a1(slot), q.a2(slot), q.a3(slot)]).toEqual([id % 1000, id % 7, -id, id * 0.5, key.timePs]);
  q.release(slot);
  return { key, id };
}

describe("EventQueue", () => {
  it("pops every event in (time, priority, origin, seq) order, exactly like a sort of the keys", () => {
    fc.assert(
      fc.property(keysArb, (keys) => {
        const q = new EventQueue(16);
        keys.forEach((k, id) => pushKey(q, k, id));
        expect(q.size).toBe(keys.length);
        const popped: Key[] = [];
        while (q.size > 0) popped.push(popKey(q).key);
        expect(popped).toEqual([...keys].sort(compareKeys));
        expect(q.peekTime()).toBe(Infinity);
      }),
      { numRuns: 200 },
    );
  });

  it("keeps that order when pushes and pops interleave (a model-based check against a sorted list)", () => {
    const op = fc.oneof(fc.constant<"pop">("pop"), fc.record({ timePs: fc.integer({ min: 0, max: 50 }), priority: fc.integer({ min: 0, max: 3 }), origin: fc.integer({ min: 0, max: 3 }) }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const q = new EventQueue(16);
        const model: Array<Key & { id: number }> = [];
        const seqs = new Map<number, number>();
        let id = 0;
        for (const o of ops) {
          if (o === "pop") {
            if (model.length === 0) continue;
            model.sort(compareKeys);
            const expected = model.shift()!;
            expect(q.peekTime()).toBe(expected.timePs);
            const got = popKey(q);
            expect(got.key).toEqual({ timePs: expected.timePs, priority: expected.priority, origin: expected.origin, seq: expected.seq });
            expect(got.id).toBe(expected.id);
          } else {
            const seq = seqs.get(o.origin) ?? 0;
            seqs.set(o.origin, seq + 1);
            const k = { ...o, seq };
            pushKey(q, k, id);
            model.push({ ...k, id });
            id++;
          }
          expect(q.size).toBe(model.length);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("grows past its initial capacity without losing or reordering events", () => {
    const q = new EventQueue(16);
    const n = 5000;
    // Descending times: every push sifts to the root.
    for (let i = 0; i < n; i++) pushKey(q, { timePs: n - i, priority: 0, origin: 0, seq: i }, i);
    expect(q.size).toBe(n);
    for (let t = 1; t <= n; t++) {
      const { key, id } = popKey(q);
      expect(key.timePs).toBe(t);
      expect(id).toBe(n - t);
    }
    expect(q.size).toBe(0);
  });

  it("breaks ties at equal time by priority, then origin, then seq", () => {
    const q = new EventQueue();
    pushKey(q, { timePs: 5, priority: 3, origin: 0, seq: 0 }, 0);
    pushKey(q, { timePs: 5, priority: 0, origin: 9, seq: 0 }, 1);
    pushKey(q, { timePs: 5, priority: 0, origin: 2, seq: 1 }, 2);
    pushKey(q, { timePs: 5, priority: 0, origin: 2, seq: 0 }, 3);
    pushKey(q, { timePs: 4, priority: 15, origin: 65535, seq: 99 }, 4);
    const order = [popKey(q).id, popKey(q).id, popKey(q).id, popKey(q).id, popKey(q).id];
    expect(order).toEqual([4, 3, 2, 1, 0]);
  });

  it("packs (priority, origin, seq) into one exact rank and back, up to the largest values", () => {
    for (const [priority, origin, seq] of [
      [0, 0, 0],
      [15, 65535, 2 ** 32 - 1],
      [7, 1234, 987654321],
    ]) {
      expect(EventQueue.unpackRank(EventQueue.rank(priority, origin, seq))).toEqual({ priority, origin, seq });
    }
    expect(EventQueue.rank(0, 1, 0)).toBeGreaterThan(EventQueue.rank(0, 0, 2 ** 32 - 1));
    expect(EventQueue.rank(1, 0, 0)).toBeGreaterThan(EventQueue.rank(0, 65535, 2 ** 32 - 1));
  });
});
