import { describe, expect, it } from "vitest";
import { Prng } from "../../shared/engine/prng.ts";
import { bucketOf, bucketRange, HISTOGRAM_RELATIVE_PRECISION, LatencyHistogram } from "../../shared/metrics/latency-histogram.ts";
import { percentile } from "../../shared/metrics/stats.ts";

// The latency histogram against the exact nearest-rank percentiles of the values it was given
// (stats.ts's percentile on the sorted values), and its merge against one histogram of all.

const PERCENTILES = [0, 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100];

/** Integer picoseconds, spread log-uniformly from 1 ps to about 10 s, with ties and small values. */
function latencies(seed: number, n: number): number[] {
  const prng = Prng.forEntity(seed, 0);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = prng.nextFloat();
    if (r < 0.05) out.push(Math.floor(prng.nextFloat() * 2048)); // below the exact limit
    else if (r < 0.1) out.push(123_456); // many equal values
    else out.push(Math.floor(Math.exp(prng.nextFloat() * Math.log(1e13))));
  }
  return out;
}

describe("latency histogram", () => {
  it("puts every value in a bucket that holds it, at most 1/1024 of its lowest value wide", () => {
    // 2^49 - 1: Math.log2 rounds it up to exactly 49, which log2Floor must correct.
    const probe = [0, 1, 2047, 2048, 2049, 4095, 4096, 4097, 1e6, 2 ** 30 - 1, 2 ** 30, 2 ** 40 + 12345, 2 ** 49 - 1, 2 ** 52 + 2, 9e15];
    for (const v of [...probe, ...latencies(7, 2000)]) {
      const { lowest, width } = bucketRange(bucketOf(v));
      expect(lowest).toBeLessThanOrEqual(v);
      expect(v).toBeLessThan(lowest + width);
      if (v >= 2048) expect(width).toBeLessThanOrEqual(lowest / 1024);
      else expect(width).toBe(1);
    }
    // Buckets are numbered in the order of their values.
    for (let b = 1; b < 40_000; b++) expect(bucketRange(b).lowest).toBe(bucketRange(b - 1).lowest + bucketRange(b - 1).width);
  });

  for (const seed of [1, 2, 3]) {
    it(`gives each nearest-rank percentile within ${HISTOGRAM_RELATIVE_PRECISION * 100}% of the exact one (exactly below 2048 ps), the exact count, sum and max: seed ${seed}`, () => {
      const values = latencies(seed, 20_000 + seed * 777);
      const h = LatencyHistogram.of(values);
      const sorted = Float64Array.from(values).sort();
      for (const p of PERCENTILES) {
        const exact = percentile(sorted, p);
        const got = h.percentile(p);
        if (exact < 2048) expect(got).toBe(exact);
        else expect(Math.abs(got - exact)).toBeLessThanOrEqual(exact * HISTOGRAM_RELATIVE_PRECISION);
      }
      expect(h.count).toBe(values.length);
      // The sum exactly, past 2^53 too (these sum to about 2^53 and more).
      expect(BigInt(h.sumHigh) * 2n ** 40n + BigInt(h.sumLow)).toBe(values.reduce((a, b) => a + BigInt(b), 0n));
      expect(h.max).toBe(sorted[sorted.length - 1]);
      expect(h.percentile(100)).toBe(h.max);
    });
  }

  it("is exact on small sets of small values, as stats.ts's percentile", () => {
    const data = [2, 4, 4, 4, 5, 5, 7, 9];
    const h = LatencyHistogram.of(data);
    for (const p of [0, 50, 51, 75, 90, 99, 100]) expect(h.percentile(p)).toBe(percentile(data, p));
    expect(new LatencyHistogram().percentile(50)).toBeNaN();
  });

  it("merged from parts in any grouping and order, is one histogram of all the values, byte for byte", () => {
    const values = latencies(11, 30_000);
    const whole = JSON.stringify(LatencyHistogram.of(values).report());
    const prng = Prng.forEntity(12, 0);
    for (const parts of [2, 5, 64]) {
      const groups = Array.from({ length: parts }, () => [] as number[]);
      for (const v of values) groups[Math.floor(prng.nextFloat() * parts)].push(v);
      const reports = groups.map((g) => LatencyHistogram.of(g).report());
      for (const order of [reports, [...reports].reverse()]) {
        const merged = new LatencyHistogram();
        for (const r of order) merged.add(r);
        expect(JSON.stringify(merged.report())).toBe(whole);
        expect(JSON.stringify(LatencyHistogram.fromReport(merged.report()).report())).toBe(whole);
      }
    }
  });

  it("keeps buckets for the spread of its values, not their number", () => {
    const h = new LatencyHistogram();
    const prng = Prng.forEntity(5, 0);
    // Values between 100 ns and 1 ms, log-uniform: about 13.3 powers of two, 1024 buckets each.
    const record = (n: number) => {
      for (let i = 0; i < n; i++) h.record(Math.floor(1e5 * Math.exp(prng.nextFloat() * Math.log(1e4))));
    };
    record(200_000);
    const before = h.buckets;
    record(1_800_000);
    expect(h.count).toBe(2_000_000);
    expect(h.buckets).toBeLessThanOrEqual(14 * 1024);
    expect(h.buckets).toBeLessThanOrEqual(before * 1.01);
  });

  it("a bucket that only ever held one value reports that value, even when it held it several times; a mixed one its midpoint; the last rank the exact maximum", () => {
    // 5000..5003 is one bucket above 2048 (2^12 <= v < 2^13: width 2^(12-10) = 4), midpoint 5002.
    expect(bucketOf(5000)).toBe(bucketOf(5003));
    expect(bucketRange(bucketOf(5000))).toEqual({ lowest: 5000, width: 4 });
    const same = LatencyHistogram.of([5001, 5001, 9000]);
    expect(same.percentile(50)).toBe(5001);
    const mixed = LatencyHistogram.of([5000, 5001, 9000]);
    expect(mixed.percentile(50)).toBe(5002);
    // Both values in one bucket: the 100th percentile (rank n) is the maximum, not the midpoint.
    const top = LatencyHistogram.of([5000, 5003]);
    expect(top.percentile(100)).toBe(5003);
    expect(top.percentile(50)).toBe(5002);
    expect(LatencyHistogram.of([7]).percentile(0)).toBe(7);
  });

  it("carries the sum's low part at exactly 2^40 and gives the sum back", () => {
    const h = LatencyHistogram.of([2 ** 39, 2 ** 39]);
    expect(h.report()).toMatchObject({ count: 2, sumHigh: 1, sumLow: 0, max: 2 ** 39 });
    expect(h.sum).toBe(2 ** 40);
    const g = LatencyHistogram.of([2 ** 40 - 1, 3]);
    expect([g.sumHigh, g.sumLow, g.sum]).toEqual([1, 2, 2 ** 40 + 2]);
    expect(new LatencyHistogram().sum).toBe(0);
  });
});
