/**
 * Latencies (picoseconds, integers) in a log-linear histogram, HdrHistogram's layout at three
 * significant digits: every value below 2048 has a bucket of its own; above, each power of two
 * [2^k, 2^(k+1)) is split into 1024 buckets of width 2^(k-10). A bucket is at most 1/1024 of its
 * lowest value wide, so its midpoint is within 1/2048 (0.05%) of every value in it: a quantile
 * is the exact nearest-rank value below 2048 ps and within 0.05% of it above. Count, sum and
 * maximum are exact (the sum in two parts, so it stays exact past 2^53 ps); so is a bucket
 * that only ever held one value (the model's latencies are often the same few sums of costs):
 * it reports that value, not its midpoint. Buckets are kept only where a value fell (a map), so memory is bounded by
 * the spread of the values (at most 1024 buckets per power of two), not by how many there are.
 * Merging adds counts: one histogram of all values, whatever the grouping and order.
 */

/** Values below this have their own bucket. */
const EXACT_BELOW = 2048;
/** Buckets per power of two above EXACT_BELOW. */
const SUB_BUCKETS = 1024;

/** The relative precision of a quantile above EXACT_BELOW: half a bucket's width over its lowest value. */
export const HISTOGRAM_RELATIVE_PRECISION = 1 / (2 * SUB_BUCKETS);

/** The sum is kept as sumHigh * SUM_UNIT + sumLow, 0 <= sumLow < SUM_UNIT: both exact integers. */
const SUM_UNIT = 2 ** 40;

/**
 * A histogram as a report carries it: exact count, sum (sumHigh * 2^40 + sumLow) and max, and
 * the used buckets, flattened bucket, count, value (the one value it held, or -1), ... in
 * bucket order.
 */
export interface HistogramReport {
  count: number;
  sumHigh: number;
  sumLow: number;
  max: number;
  buckets: number[];
}

/** floor(log2(v)) for v >= 1, exact near powers of two. */
function log2Floor(v: number): number {
  let k = Math.floor(Math.log2(v));
  if (2 ** k > v) k--;
  else if (2 ** (k + 1) <= v) k++;
  return k;
}

/** The bucket a value falls in. */
export function bucketOf(value: number): number {
  const v = Math.floor(value);
  if (v < EXACT_BELOW) return Math.max(0, v);
  const k = log2Floor(v);
  const width = 2 ** (k - 10);
  return EXACT_BELOW + (k - 11) * SUB_BUCKETS + (Math.floor(v / width) - SUB_BUCKETS);
}

/** The lowest value of a bucket and its width. */
export function bucketRange(bucket: number): { lowest: number; width: number } {
  if (bucket < EXACT_BELOW) return { lowest: bucket, width: 1 };
  const j = bucket - EXACT_BELOW;
  const k = 11 + Math.floor(j / SUB_BUCKETS);
  const width = 2 ** (k - 10);
  return { lowest: (SUB_BUCKETS + (j % SUB_BUCKETS)) * width, width };
}

/** A bucket's value when it held more than one. */
const MIXED = -1;

export class LatencyHistogram {
  /** Bucket -> how many values fell in it. */
  private readonly counts = new Map<number, number>();
  /** Bucket -> the one value it held, or MIXED. */
  private readonly values = new Map<number, number>();
  count = 0;
  sumHigh = 0;
  sumLow = 0;
  /** The largest value (0 while empty: latencies are never negative). */
  max = 0;

  record(value: number): void {
    this.put(bucketOf(value), 1, value);
    this.count++;
    this.addSum(0, value);
    if (value > this.max) this.max = value;
  }

  private put(bucket: number, n: number, value: number): void {
    const had = this.counts.get(bucket);
    if (had === undefined) {
      this.counts.set(bucket, n);
      this.values.set(bucket, value);
      return;
    }
    this.counts.set(bucket, had + n);
    if (this.values.get(bucket) !== value) this.values.set(bucket, MIXED);
  }

  private addSum(high: number, low: number): void {
    let l = this.sumLow + low;
    let h = this.sumHigh + high;
    if (l >= SUM_UNIT) {
      const carry = Math.floor(l / SUM_UNIT);
      h += carry;
      l -= carry * SUM_UNIT;
    }
    this.sumLow = l;
    this.sumHigh = h;
  }

  /** The sum of the values (rounded once to a double past 2^53). */
  get sum(): number {
    return this.sumHigh * SUM_UNIT + this.sumLow;
  }

  /** Adds another histogram's values to this one. */
  add(other: LatencyHistogram | HistogramReport): void {
    const t = other instanceof LatencyHistogram ? other.bucketTriples() : other.buckets;
    for (let i = 0; i < t.length; i += 3) this.put(t[i], t[i + 1], t[i + 2]);
    this.count += other.count;
    this.addSum(other.sumHigh, other.sumLow);
    if (other.max > this.max) this.max = other.max;
  }

  /** The buckets in use (what memory the histogram holds). */
  get buckets(): number {
    return this.counts.size;
  }

  /** The used buckets in bucket order, flattened: bucket, count, value (or -1), ... */
  bucketTriples(): number[] {
    const keys = [...this.counts.keys()].sort((a, b) => a - b);
    const out: number[] = [];
    for (const k of keys) out.push(k, this.counts.get(k) as number, this.values.get(k) as number);
    return out;
  }

  report(): HistogramReport {
    return { count: this.count, sumHigh: this.sumHigh, sumLow: this.sumLow, max: this.max, buckets: this.bucketTriples() };
  }

  static of(values: Iterable<number>): LatencyHistogram {
    const h = new LatencyHistogram();
    for (const v of values) h.record(v);
    return h;
  }

  static fromReport(r: HistogramReport): LatencyHistogram {
    const h = new LatencyHistogram();
    h.add(r);
    return h;
  }

  /**
   * The nearest-rank percentile (p in [0, 100]), as stats.ts's percentile on the sorted values:
   * the one value its bucket held, else the bucket's midpoint, never above the maximum; the
   * maximum itself at the last rank; NaN when empty.
   */
  percentile(p: number): number {
    const n = this.count;
    if (n === 0) return NaN;
    const rank = p <= 0 ? 1 : Math.min(n, Math.ceil((p / 100) * n));
    if (rank === n) return this.max;
    const t = this.bucketTriples();
    let seen = 0;
    for (let i = 0; i < t.length; i += 3) {
      seen += t[i + 1];
      if (seen >= rank) {
        if (t[i + 2] !== MIXED) return t[i + 2];
        const { lowest, width } = bucketRange(t[i]);
        return Math.min(lowest + Math.floor(width / 2), this.max);
      }
    }
    return this.max;
  }
}
