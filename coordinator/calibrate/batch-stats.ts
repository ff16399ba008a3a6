/**
 * What the measuring threads' batch timings say (pure). A busy host takes threads off their CPUs
 * at will; a figure over the whole window would mix the time the threads ran together with the
 * time some of them waited. So each figure is a median over timed batches: for the shared
 * counter only batches during which the other threads visibly incremented it too.
 */

/** One thread's answer: per batch its duration and how far the counter moved (this thread's share included). */
export interface ThreadBatches {
  /** Operations (increments, or ping-pong round trips) per batch. */
  batch: number;
  ms: number[];
  moved: number[];
  /** Per batch: times another thread's increment came between two of this thread's (the line came back). */
  arrivals: number[];
  /** The thread's whole measuring window. */
  wallMs: number;
}

export interface CounterPoint {
  threads: number;
  /** Increments per second of all threads together while they ran together (median over batches). */
  opsPerSec: number;
  /** One thread's time per increment at that rate (threads x 1e9 / opsPerSec). */
  nsPerOp: number;
  /** All increments over the whole window, whatever else the host ran meanwhile. */
  wallOpsPerSec: number;
  /** Share of batches that counted (the threads ran together); 1 for one thread or padded counters. */
  coRunShare: number;
  /** Line transfers per increment in the batches that counted: the line's arrivals at each thread over its increments. */
  transfersPerOp: number;
  /** Each trial's opsPerSec, in the order run (one entry: a single trial). */
  trials: number[];
  /** (largest - smallest) / median of the trials that measured anything; 0 for a single trial; null when fewer than two of several did. */
  spread: number | null;
}

/** A point whose trials spread more than this, or whose threads ran together in under half the batches, is unsteady. */
export const UNSTEADY_SPREAD = 0.25;
export const UNSTEADY_TOGETHER = 0.5;

/** Whether a point's figure is to be trusted: its trials agree and its threads mostly ran together. */
export function isSteady(p: CounterPoint): boolean {
  return p.opsPerSec > 0 && p.spread !== null && p.spread <= UNSTEADY_SPREAD && p.coRunShare >= UNSTEADY_TOGETHER;
}

/**
 * Repeated trials of one point: the median trial (of those that measured anything; the lower
 * middle one for an even count) gives the figure and its statistics, with every trial's rate and
 * their spread beside it. A trial in which the threads never ran together measures nothing.
 */
export function combineTrials(trials: readonly CounterPoint[]): CounterPoint {
  if (trials.length === 0) throw new Error("combineTrials: no trial");
  const rates = trials.map((t) => t.opsPerSec);
  const measured = trials.filter((t) => t.opsPerSec > 0).sort((a, b) => a.opsPerSec - b.opsPerSec);
  const coRunShare = trials.reduce((sum, t) => sum + t.coRunShare, 0) / trials.length;
  const wallOpsPerSec = median(trials.map((t) => t.wallOpsPerSec)) ?? 0;
  if (measured.length === 0) return { ...trials[0], opsPerSec: 0, nsPerOp: 0, coRunShare, wallOpsPerSec, trials: rates, spread: null };
  const mid = measured[(measured.length - 1) >> 1];
  const m = median(measured.map((t) => t.opsPerSec))!;
  // One trial alone has no spread; one measuring trial out of several has none that can be told.
  const spread = measured.length > 1 ? (measured[measured.length - 1].opsPerSec - measured[0].opsPerSec) / m : trials.length === 1 ? 0 : null;
  return { ...mid, coRunShare, wallOpsPerSec, trials: rates, spread };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Interleavings a batch of a contended counter must show to count as run beside the others. */
const MIN_INTERLEAVINGS = 4;

const wallRate = (answers: readonly ThreadBatches[]) =>
  answers.reduce((sum, a) => sum + (a.ms.length * a.batch * 1000) / a.wallMs, 0);

/**
 * k threads on one counter. A batch counts when the others together added at least half their
 * fair share meanwhile (moved >= batch x (1 + (k-1)/2)), their increments came between this
 * thread's at least MIN_INTERLEAVINGS times (one or two: the thread was descheduled once while the
 * others ran alone, not run beside them), and it took at most 3 times the thread's
 * median such batch (longer ones were interrupted: the others ran alone meanwhile). Its rate is
 * the counter's, moved / ms; the point is the median rate of the batches that count.
 */
export function sharedPoint(threads: number, answers: readonly ThreadBatches[]): CounterPoint {
  const rates: number[] = [];
  let total = 0;
  let arrivals = 0;
  let ops = 0;
  const needed = 1 + (threads - 1) / 2;
  for (const a of answers) {
    total += a.ms.length;
    const together = a.ms
      .map((_, i) => i)
      .filter((i) => a.ms[i] > 0 && a.moved[i] >= a.batch * needed && (threads === 1 || (a.arrivals[i] ?? 0) >= MIN_INTERLEAVINGS));
    const typical = median(together.map((i) => a.ms[i]));
    for (const i of together) {
      if (typical === null || a.ms[i] > 3 * typical) continue;
      rates.push((a.moved[i] * 1000) / a.ms[i]);
      arrivals += a.arrivals[i] ?? 0;
      ops += a.batch;
    }
  }
  const rate = median(rates) ?? 0;
  return {
    threads,
    opsPerSec: rate,
    nsPerOp: rate > 0 ? (threads * 1e9) / rate : 0,
    wallOpsPerSec: wallRate(answers),
    coRunShare: total > 0 ? rates.length / total : 0,
    transfersPerOp: ops > 0 ? arrivals / ops : 0,
    trials: [rate],
    spread: rate > 0 ? 0 : null,
  };
}

/** k threads each on its own counter: each thread's median batch rate, summed. */
export function paddedPoint(threads: number, answers: readonly ThreadBatches[]): CounterPoint {
  let rate = 0;
  for (const a of answers) {
    const ms = median(a.ms);
    if (ms !== null && ms > 0) rate += (a.batch * 1000) / ms;
  }
  return { threads, opsPerSec: rate, nsPerOp: rate > 0 ? (threads * 1e9) / rate : 0, wallOpsPerSec: wallRate(answers), coRunShare: 1, transfersPerOp: 0, trials: [rate], spread: rate > 0 ? 0 : null };
}

/** One-way latency of a ping-pong: half the median round trip, in ns; null if no batch completed. */
export function pingPongNs(a: ThreadBatches): number | null {
  const ms = median(a.ms);
  return ms === null ? null : (ms * 1e6) / a.batch / 2;
}
