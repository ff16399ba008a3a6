import type { RunResult } from "../shared/metrics/result.ts";
import type { LatencyBreakdown } from "../shared/metrics/attribution.ts";

/**
 * The breakdown of a run's fork latency, if it has one with forks measured (a run under
 * refcounts-only has none; a results.json written before the breakdown existed neither).
 */
export function forkBreakdownOf(r: RunResult): LatencyBreakdown | undefined {
  const b = r.kernelPath?.latencyBreakdown?.fork;
  return b !== undefined && b.operations > 0 ? b : undefined;
}

/**
 * Three significant figures, with k / M / G above a thousand: 8750 -> "8.75k", 2.5e9 -> "2.50G",
 * 0.012345 -> "0.0123", 7 -> "7.00", 1234.5 -> "1.23k". Every figure the table and the verdict print goes
 * through it, so they read alike.
 */
export function sig3(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  for (const [scale, unit] of [[1e9, "G"], [1e6, "M"], [1e3, "k"]] as const) {
    if (a >= scale * 0.9995) return `${(v / scale).toPrecision(3)}${unit}`;
  }
  if (a === 0) return "0";
  return v.toPrecision(3);
}

/** A ratio with three significant figures: "1.00x", "20.3x", "0.513x". */
export function factor(x: number): string {
  return Number.isFinite(x) ? `${x.toPrecision(3)}x` : "-";
}

/** A share as a percentage with two significant figures ("0.061%", "4.4%", "91%"). */
export function percent(share: number): string {
  if (!Number.isFinite(share)) return "-";
  if (share === 0) return "0%";
  const p = share * 100;
  return `${p >= 10 ? p.toFixed(0) : p.toPrecision(2)}%`;
}

/**
 * Fewer completed operations than this after the warm-up and a run's rates are noise: counts
 * of n events vary by about 1/sqrt(n), so 100 operations is a 10% spread from counting alone.
 */
export const LOW_SAMPLE_OPS = 100;

export function lowSample(r: RunResult): boolean {
  return r.totalOps < LOW_SAMPLE_OPS;
}

/**
 * Whether more operations were still in flight at the end of the measured window than completed
 * in it: one operation takes longer than the window (a queue of thousands of CPUs at one lock),
 * so the run's ops/s is a start-up transient, not a rate.
 */
export function windowTooShort(r: RunResult): boolean {
  const d = r.kernelPath?.drain;
  return d !== undefined && d.operations > r.totalOps;
}

/** "1.23ms", "456us", "789ns": a time in nanoseconds with three significant figures (999.6 ns is "1.00us", as sig3 rounds). */
export function duration(ns: number): string {
  if (ns >= 1e6 * 0.9995) return `${(ns / 1e6).toPrecision(3)}ms`;
  if (ns >= 1e3 * 0.9995) return `${(ns / 1e3).toPrecision(3)}us`;
  return `${ns.toPrecision(3)}ns`;
}

/** The sentence that says which runs' windows were shorter than one operation, or null. */
export function windowTooShortNote(runs: readonly RunResult[]): string | null {
  const short = runs.filter(windowTooShort);
  if (short.length === 0) return null;
  const at = [...new Set(short.map((r) => `${r.scheme} at ${r.cpus}`))].join(", ");
  const drainNs = Math.max(...short.map((r) => r.kernelPath?.drain.afterWindowNs ?? 0));
  const inFlight = Math.max(...short.map((r) => r.kernelPath?.drain.operations ?? 0));
  return (
    `${short.length} run(s) (${at} CPU${short.every((r) => r.cpus === 1) ? "" : "s"}) completed fewer operations in the measured window than were still in flight at its end ` +
    `(up to ${inFlight}, the last finishing ${duration(drainNs)} after the window): one operation takes longer than the window there, ` +
    `so their ops/s is a start-up transient, not a rate; give a --duration well beyond ${duration(drainNs)}`
  );
}

/** A CPU count as a sentence says it: "1 CPU", "64 CPUs". */
export function cpusText(n: number): string {
  return n === 1 ? "1 CPU" : `${n} CPUs`;
}
