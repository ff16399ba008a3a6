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
});
