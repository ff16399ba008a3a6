/** Small pure statistics, tested against hand-computed values. */

/** Nearest-rank percentile (p in [0, 100]) of ascending-sorted values; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (p <= 0) return sorted[0];
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n, rank) - 1];
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Sample standard deviation (n - 1 in the denominator); NaN below two values. */
export function sampleStdDev(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return NaN;
  const m = mean(values);
  let s = 0;
  for (const v of values) s += (v - m) * (v - m);
  return Math.sqrt(s / (n - 1));
}

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The t quantile for a 95% two-sided interval; beyond 30 d.o.f. the table steps to the normal value. */
export function tQuantile95(degreesOfFreedom: number): number {
  if (degreesOfFreedom < 1) return NaN;
  if (degreesOfFreedom <= 30) return T_975[degreesOfFreedom - 1];
  if (degreesOfFreedom <= 40) return 2.021;
  if (degreesOfFreedom <= 60) return 2.0;
  if (degreesOfFreedom <= 120) return 1.98;
  return 1.96;
}

/** Mean and half-width of its 95% confidence interval (Student t); half-width NaN below 2 values. */
export function confidenceInterval95(values: readonly number[]): { mean: number; halfWidth: number } {
  const m = mean(values);
  const n = values.length;
  if (n < 2) return { mean: m, halfWidth: NaN };
  return { mean: m, halfWidth: (tQuantile95(n - 1) * sampleStdDev(values)) / Math.sqrt(n) };
}
