import { describe, expect, it } from "vitest";
import { pickWaiter } from "../../shared/coherence/arbitration.ts";
import {
  FREED,
  isAtomic,
  isFreedValue,
  needsOwnership,
  recallCode,
  recallContended,
  recallHolderRequest,
  recallKind,
  RMW_ATOMIC_ADD,
  RMW_NONE,
  RMW_PLAIN_ADD,
  RMW_PLAIN_TAKE,
  RMW_REFCACHE_FLUSH,
  RMW_REFCACHE_REVIEW,
  RMW_SET,
  RMW_TAKE_SPARE,
  RMW_XCHG_ZERO,
} from "../../shared/coherence/protocol.ts";
import {
  applyRmw,
  decodeRefcacheWord,
  encodeRefcacheWord,
  FLUSH_KEEP,
  FLUSH_QUEUE_REVIEW,
  REFCACHE_ON_FREED,
  REVIEW_DROPPED,
  REVIEW_FREE,
  REVIEW_REQUEUE,
} from "../../shared/coherence/rmw.ts";
import { isContended, isUpgrade, sourceCode, sourceOf } from "../../shared/coherence/source.ts";
import { mix32 } from "../../shared/engine/prng.ts";
import { applyLockRmw, RMW_LOCK_CAS_ZERO, RMW_LOCK_UNLOCK } from "../../shared/locks/lock-word.ts";

// The coherence model's pure parts with their answers written out: the read-modify-writes a
// holder applies to a line's value (rmw.ts), the codes its messages carry (protocol.ts,
// source.ts) and the arbitration's hash (arbitration.ts). Everything is computed inside the tests.

/** [new value, result] of one RMW. */
function rmw(code: number, value: number, arg = 0): [number, number] {
  const out = new Float64Array(2);
  applyRmw(code, value, arg, out);
  return [out[0], out[1]];
}

describe("applyRmw: the value a line holds after each RMW and the result the program sees", () => {
  it("a load keeps the value and returns it; a store writes and returns its argument", () => {
    expect(rmw(RMW_NONE, 7, 3)).toEqual([7, 7]);
    expect(rmw(RMW_SET, 7, 3)).toEqual([3, 3]);
  });

  it("an add, atomic or plain, returns the new value", () => {
    expect(rmw(RMW_ATOMIC_ADD, 7, 3)).toEqual([10, 10]);
    expect(rmw(RMW_PLAIN_ADD, 7, -2)).toEqual([5, 5]);
  });

  it("taking a spare takes one from a count of 1 or more (result 1) and leaves 0 alone (result 0)", () => {
    expect(rmw(RMW_TAKE_SPARE, 3)).toEqual([2, 1]);
    expect(rmw(RMW_TAKE_SPARE, 1)).toEqual([0, 1]);
    expect(rmw(RMW_TAKE_SPARE, 0)).toEqual([0, 0]);
    expect(rmw(RMW_TAKE_SPARE, -1)).toEqual([-1, 0]);
  });

  it("an exchange with zero, atomic or plain, leaves 0 and returns the old value", () => {
    expect(rmw(RMW_XCHG_ZERO, 9)).toEqual([0, 9]);
    expect(rmw(RMW_PLAIN_TAKE, -4)).toEqual([0, -4]);
  });

  it("codes from LOCK_RMW_FIRST on are the lock words' own; any other code is an error naming it", () => {
    const lockOut = new Float64Array(2);
    applyLockRmw(RMW_LOCK_CAS_ZERO, 0, 5, lockOut);
    expect(rmw(RMW_LOCK_CAS_ZERO, 0, 5)).toEqual([lockOut[0], lockOut[1]]);
    expect(rmw(RMW_LOCK_CAS_ZERO, 0, 5)).toEqual([5, 0]);
    applyLockRmw(RMW_LOCK_UNLOCK, 1, 0, lockOut);
    expect(rmw(RMW_LOCK_UNLOCK, 1)).toEqual([lockOut[0], lockOut[1]]);
    expect(() => rmw(31, 0)).toThrow(new RangeError("unknown rmw code 31"));
    expect(() => rmw(9, 0)).toThrow(RangeError);
  });
});

describe("refcache's central count word", () => {
  it("packs the count above 2^34, the dirty bit at 2^35 and the queued bit at 2^36", () => {
    expect(encodeRefcacheWord(0, false, false)).toBe(2 ** 34);
    expect(encodeRefcacheWord(5, true, false)).toBe(2 ** 35 + 2 ** 34 + 5);
    expect(encodeRefcacheWord(-3, false, true)).toBe(2 ** 36 + 2 ** 34 - 3);
    expect(encodeRefcacheWord(1, true, true)).toBe(2 ** 36 + 2 ** 35 + 2 ** 34 + 1);
    for (const count of [-7, 0, 1, 1000])
      for (const dirty of [false, true])
        for (const queued of [false, true]) expect(decodeRefcacheWord(encodeRefcacheWord(count, dirty, queued))).toEqual({ count, dirty, queued });
  });

  it("holds counts from -2^34 up to 2^34 - 1, the flags intact at both ends", () => {
    for (const count of [-(2 ** 34), 2 ** 34 - 1])
      for (const dirty of [false, true])
        for (const queued of [false, true]) expect(decodeRefcacheWord(encodeRefcacheWord(count, dirty, queued))).toEqual({ count, dirty, queued });
    // The lowest count queued is the queued bit alone; dirty, the dirty bit alone.
    expect(encodeRefcacheWord(-(2 ** 34), false, true)).toBe(2 ** 36);
    expect(encodeRefcacheWord(-(2 ** 34), true, false)).toBe(2 ** 35);
  });

  it("a flush that brings an unqueued count to zero queues it for review, clean; any other flush marks it dirty", () => {
    expect(rmw(RMW_REFCACHE_FLUSH, encodeRefcacheWord(1, false, false), -1)).toEqual([encodeRefcacheWord(0, false, true), FLUSH_QUEUE_REVIEW]);
    expect(rmw(RMW_REFCACHE_FLUSH, encodeRefcacheWord(1, true, false), -1)).toEqual([encodeRefcacheWord(0, false, true), FLUSH_QUEUE_REVIEW]);
    // Already queued: stays queued, dirty (the review must look again).
    expect(rmw(RMW_REFCACHE_FLUSH, encodeRefcacheWord(1, false, true), -1)).toEqual([encodeRefcacheWord(0, true, true), FLUSH_KEEP]);
    expect(rmw(RMW_REFCACHE_FLUSH, encodeRefcacheWord(2, false, false), -1)).toEqual([encodeRefcacheWord(1, true, false), FLUSH_KEEP]);
    expect(rmw(RMW_REFCACHE_FLUSH, encodeRefcacheWord(0, false, true), 3)).toEqual([encodeRefcacheWord(3, true, true), FLUSH_KEEP]);
    expect(FLUSH_KEEP).not.toBe(FLUSH_QUEUE_REVIEW);
  });

  it("a review frees a clean zero, requeues a dirty zero (clean) and drops a non-zero count (clean, unqueued)", () => {
    expect(rmw(RMW_REFCACHE_REVIEW, encodeRefcacheWord(0, false, true))).toEqual([FREED, REVIEW_FREE]);
    expect(rmw(RMW_REFCACHE_REVIEW, encodeRefcacheWord(0, true, true))).toEqual([encodeRefcacheWord(0, false, true), REVIEW_REQUEUE]);
    expect(rmw(RMW_REFCACHE_REVIEW, encodeRefcacheWord(2, true, true))).toEqual([encodeRefcacheWord(2, false, false), REVIEW_DROPPED]);
    expect(rmw(RMW_REFCACHE_REVIEW, encodeRefcacheWord(-1, false, true))).toEqual([encodeRefcacheWord(-1, false, false), REVIEW_DROPPED]);
    expect(new Set([REVIEW_FREE, REVIEW_REQUEUE, REVIEW_DROPPED, REFCACHE_ON_FREED]).size).toBe(4);
  });

  it("either refcache RMW on a freed word leaves it freed and says so", () => {
    expect(rmw(RMW_REFCACHE_FLUSH, FREED, 1)).toEqual([FREED, REFCACHE_ON_FREED]);
    expect(rmw(RMW_REFCACHE_REVIEW, FREED + 1)).toEqual([FREED + 1, REFCACHE_ON_FREED]);
    expect(REFCACHE_ON_FREED).toBe(-1);
  });
});

describe("the codes coherence messages carry", () => {
  it("a recall's code: request number x 4 + 2 if contended + the kind", () => {
    expect(recallCode(1, 7, true)).toBe(31);
    expect(recallCode(0, 5, false)).toBe(20);
    expect(recallCode(0, 0, true)).toBe(2);
    expect([recallKind(31), recallContended(31), recallHolderRequest(31)]).toEqual([1, true, 7]);
    expect([recallKind(20), recallContended(20), recallHolderRequest(20)]).toEqual([0, false, 5]);
    expect([recallKind(2), recallContended(2), recallHolderRequest(2)]).toEqual([0, true, 0]);
    expect([recallKind(5), recallContended(5), recallHolderRequest(5)]).toEqual([1, false, 1]);
  });

  it("a data message's code: source x 4 + 2 if an upgrade + 1 if contended (not contended unless said)", () => {
    expect(sourceCode(3, true, true)).toBe(15);
    expect(sourceCode(2, false)).toBe(8);
    expect(sourceCode(6, false, true)).toBe(25);
    expect(sourceCode(7, true, false)).toBe(30);
    expect([sourceOf(15), isUpgrade(15), isContended(15)]).toEqual([3, true, true]);
    expect([sourceOf(25), isUpgrade(25), isContended(25)]).toEqual([6, false, true]);
    expect([sourceOf(30), isUpgrade(30), isContended(30)]).toEqual([7, true, false]);
    expect([sourceOf(8), isUpgrade(8), isContended(8)]).toEqual([2, false, false]);
  });

  it("every RMW but a load needs ownership; only LOCK-prefixed ones count as atomics", () => {
    expect(needsOwnership(RMW_NONE)).toBe(false);
    for (const r of [RMW_SET, RMW_ATOMIC_ADD, RMW_PLAIN_ADD, RMW_TAKE_SPARE, RMW_XCHG_ZERO, RMW_PLAIN_TAKE, RMW_LOCK_CAS_ZERO]) expect(needsOwnership(r)).toBe(true);
    for (const r of [RMW_ATOMIC_ADD, RMW_XCHG_ZERO, RMW_REFCACHE_FLUSH, RMW_REFCACHE_REVIEW, RMW_LOCK_CAS_ZERO]) expect(isAtomic(r)).toBe(true);
    for (const r of [RMW_NONE, RMW_SET, RMW_PLAIN_ADD, RMW_TAKE_SPARE, RMW_PLAIN_TAKE]) expect(isAtomic(r)).toBe(false);
  });

  it("a freed count is -2^40; anything at or below half of it reads as freed", () => {
    expect(FREED).toBe(-(2 ** 40));
    expect(isFreedValue(FREED)).toBe(true);
    expect(isFreedValue(FREED / 2)).toBe(true);
    expect(isFreedValue(FREED / 2 + 1)).toBe(false);
    expect(isFreedValue(0)).toBe(false);
  });
});

describe("pickWaiter: the arbitration's hash", () => {
  it("one candidate (or none) is always the first", () => {
    expect(pickWaiter(123, 4, 9, 1)).toBe(0);
    expect(pickWaiter(123, 4, 9, 0)).toBe(0);
  });

  it("is mix32(mix32(mix32(seed) ^ line's low word ^ its high word) ^ transfer) modulo the candidates", () => {
    const expected = (seed: number, line: number, transfer: number, n: number) => {
      const lo = line % 2 ** 32;
      const hi = Math.floor(line / 2 ** 32);
      return mix32(mix32(mix32(seed) ^ lo ^ hi) ^ transfer) % n;
    };
    for (const [seed, line, transfer, n] of [
      [1, 0, 2, 2],
      [7, 12345, 99, 7],
      [3, 2 ** 32 + 17, 5, 5],
      [11, 3 * 2 ** 32 + 1, 1, 9],
    ])
      expect(pickWaiter(seed, line, transfer, n)).toBe(expected(seed, line, transfer, n));
    // The line's high word takes part: lines 2^32 apart are arbitrated apart.
    const low = Array.from({ length: 32 }, (_, t) => pickWaiter(5, 17, t, 16));
    const high = Array.from({ length: 32 }, (_, t) => pickWaiter(5, 2 ** 32 + 17, t, 16));
    expect(high).not.toEqual(low);
  });
});
