import { describe, expect, it } from "vitest";
import { confidenceInterval95, mean, percentile, sampleStdDev, tQuantile95 } from "../../shared/metrics/stats.ts";

// Reference values computed by hand.
const DATA = [2, 4, 4, 4, 5, 5, 7, 9]; // sum 40, squared deviations 9+1+1+1+0+0+4+16 = 32

describe("statistics", () => {
  it("mean of [2,4,4,4,5,5,7,9] is 5", () => {
    expect(mean(DATA)).toBe(5);
  });

  it("sample standard deviation of [2,4,4,4,5,5,7,9] is sqrt(32 / 7) = 2.13809...", () => {
    expect(sampleStdDev(DATA)).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(sampleStdDev(DATA)).toBeCloseTo(2.138090, 6);
  });

  it("95% confidence interval of [2,4,4,4,5,5,7,9]: 5 +- t(7) * s / sqrt(8) = 5 +- 2.365 * 2.13809 / 2.82843 = 5 +- 1.78777", () => {
    const ci = confidenceInterval95(DATA);
    expect(ci.mean).toBe(5);
    expect(ci.halfWidth).toBeCloseTo((2.365 * Math.sqrt(32 / 7)) / Math.sqrt(8), 12);
    expect(ci.halfWidth).toBeCloseTo(1.78777, 5);
  });

  it("t quantiles: 12.706 at 1 degree of freedom, 2.365 at 7, 2.042 at 30, 1.96 beyond 120", () => {
    expect(tQuantile95(1)).toBe(12.706);
    expect(tQuantile95(7)).toBe(2.365);
    expect(tQuantile95(30)).toBe(2.042);
    expect(tQuantile95(1000)).toBe(1.96);
    expect(tQuantile95(0)).toBeNaN();
  });

  it("percentile is the nearest rank: the smallest value with at least p% of values at or below it", () => {
    const sorted = [...DATA];
    expect(percentile(sorted, 50)).toBe(4); // rank ceil(0.5 * 8) = 4
    expect(percentile(sorted, 51)).toBe(5); // rank ceil(4.08) = 5
    expect(percentile(sorted, 75)).toBe(5); // rank 6
    expect(percentile(sorted, 90)).toBe(9); // rank ceil(7.2) = 8
    expect(percentile(sorted, 99)).toBe(9);
    expect(percentile(sorted, 100)).toBe(9);
    expect(percentile(sorted, 0)).toBe(2);
    expect(percentile([15, 20, 35, 40, 50], 30)).toBe(20); // Wikipedia's nearest-rank example
    expect(percentile([15, 20, 35, 40, 50], 40)).toBe(20);
    expect(percentile([15, 20, 35, 40, 50], 50)).toBe(35);
    expect(percentile(Float64Array.from([1, 2, 3]), 50)).toBe(2);
  });

  it("empty and single-value inputs give NaN where the statistic is undefined", () => {
    expect(mean([])).toBeNaN();
    expect(percentile([], 50)).toBeNaN();
    expect(sampleStdDev([3])).toBeNaN();
    expect(confidenceInterval95([3])).toEqual({ mean: 3, halfWidth: NaN });
  });
});
