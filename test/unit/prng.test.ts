import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Prng } from "../../shared/engine/prng.ts";

const take = (p: Prng, n: number) => Array.from({ length: n }, () => p.nextU32());

describe("Prng (xoshiro128**)", () => {
  it("matches the reference implementation from state {1, 2, 3, 4}", () => {
    // Blackman and Vigna's xoshiro128starstar.c; the same vector is in rust-random's rand_xoshiro tests.
    expect(take(Prng.fromState([1, 2, 3, 4]), 10)).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ]);
  });

  it("gives each (seed, entity) one reproducible stream", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 65535 }), (seed, entity) => {
        expect(take(Prng.forEntity(seed, entity), 8)).toEqual(take(Prng.forEntity(seed, entity), 8));
      }),
      { numRuns: 100 },
    );
  });

  it("gives different entities of one seed, and one entity under different seeds, different streams", () => {
    const seed = 12345;
    const firsts = new Set<string>();
    for (let entity = 0; entity < 1000; entity++) firsts.add(take(Prng.forEntity(seed, entity), 2).join(","));
    expect(firsts.size).toBe(1000);
    expect(take(Prng.forEntity(1, 7), 4)).not.toEqual(take(Prng.forEntity(2, 7), 4));
    expect(take(Prng.forEntity(1, 7, 0), 4)).not.toEqual(take(Prng.forEntity(1, 7, 1), 4));
  });

  it("restores a stream from its saved state (checkpoints)", () => {
    const p = Prng.forEntity(9, 3);
    take(p, 5);
    const copy = Prng.fromState(p.state);
    expect(take(copy, 20)).toEqual(take(p, 20));
  });

  it("nextInt(n) stays in [0, n) and reaches every value of a small range", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 2 ** 21 }), (seed, n) => {
        const p = Prng.forEntity(seed, 0);
        for (let i = 0; i < 50; i++) {
          const v = p.nextInt(n);
          expect(Number.isInteger(v)).toBe(true);
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThan(n);
        }
      }),
      { numRuns: 200 },
    );
    const p = Prng.forEntity(4, 4);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(p.nextInt(6));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it.each([0, -1, 1.5, 2 ** 21 + 1, Number.NaN])("nextInt rejects the bound %s", (n) => {
    expect(() => Prng.forEntity(1, 1).nextInt(n)).toThrow(RangeError);
  });

  it("nextFloat is in [0, 1) and pickWeighted never picks a zero weight", () => {
    const p = Prng.forEntity(77, 1);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) {
      const f = p.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
      counts[p.pickWeighted([1, 0, 3], 4)]++;
    }
    expect(counts[1]).toBe(0);
    // Weights 1 : 3, give or take sampling noise.
    expect(counts[2] / counts[0]).toBeGreaterThan(2.4);
    expect(counts[2] / counts[0]).toBeLessThan(3.7);
  });

  // Draws made to order: xoshiro128**'s first output is rotl(s1 x 5, 7) x 9 (mod 2^32), so the
  // state [1, s1, 0, 0] with s1 = rotr(r x 9^-1, 7) x 5^-1 gives r first (9^-1 = 0x38e38e39 and
  // 5^-1 = 0xcccccccd mod 2^32).
  const firstDraw = (r: number) => {
    const y = Math.imul(r, 0x38e38e39) >>> 0;
    const s1 = Math.imul(((y >>> 7) | (y << 25)) >>> 0, 0xcccccccd) >>> 0;
    const p = Prng.fromState([1, s1, 0, 0]);
    expect(Prng.fromState([1, s1, 0, 0]).nextU32()).toBe(r);
    return p;
  };

  // Lemire's method for n = 2096129: threshold = (2^32 - n) mod n = 2095104. A draw r is kept when
  // its low word (r x n mod 2^32) is at least the threshold, and gives floor(r x n / 2^32).
  it("nextInt rejects a draw whose low word is below the threshold and keeps one equal to it", () => {
    const n = 2096129;
    expect((2 ** 32 - n) % n).toBe(2095104);
    // r = 0: low word 0 < threshold, rejected; the answer comes from the next draw.
    const p = firstDraw(0);
    const copy = Prng.fromState(p.state);
    copy.nextU32();
    const second = copy.nextU32();
    const expected = Math.floor((second * n) / 2 ** 32);
    expect(((second * n) % 2 ** 32) >= 2095104).toBe(true);
    expect(p.nextInt(n)).toBe(expected);
    // r with r x n = threshold (mod 2^32): n is odd, so r = threshold x n^-1; kept, floor(r n / 2^32).
    let inv = 1;
    for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(n, inv)) >>> 0;
    expect(Math.imul(n, inv) >>> 0).toBe(1);
    const r = Math.imul(2095104, inv) >>> 0;
    expect((r * n) % 2 ** 32).toBe(2095104);
    expect(firstDraw(r).nextInt(n)).toBe(Math.floor((r * n) / 2 ** 32));
    // r with low word 1 (r = n^-1): rejected although its high word is not 0.
    const one = firstDraw(inv);
    const after = Prng.fromState(one.state);
    after.nextU32();
    const next = after.nextU32();
    expect(Math.floor((inv * n) / 2 ** 32)).toBeGreaterThan(0);
    expect(one.nextInt(n)).toBe(Math.floor((next * n) / 2 ** 32));
  });

  it("nextInt accepts the largest bound, 2^21, and names a bad one", () => {
    expect(firstDraw(2 ** 31).nextInt(2 ** 21)).toBe(2 ** 20);
    expect(() => Prng.forEntity(1, 1).nextInt(0)).toThrow("nextInt bound must be an integer in [1, 2^21], got 0");
  });

  // pickWeighted subtracts each weight from r = nextFloat x total and picks the first index where
  // r goes below zero.
  it("pickWeighted never picks a zero weight even when the draw is exactly 0, and an exact boundary goes to the next index", () => {
    // r = 0: weight 0 leaves r at 0 (not below zero), weight 1 takes it to -1: index 1.
    expect(firstDraw(0).pickWeighted([0, 1], 1)).toBe(1);
    // nextFloat = 0.5, r = 1: the first weight takes it to exactly 0, the second below: index 1.
    expect(firstDraw(2 ** 31).pickWeighted([1, 1], 2)).toBe(1);
    // A total above the weights' sum (rounding) leaves r >= 0 after them all: the last index.
    expect(firstDraw(2 ** 31).pickWeighted([1, 1], 4)).toBe(1);
    expect(firstDraw(2 ** 31).pickWeighted([1, 1, 1], 8)).toBe(2);
  });
});

