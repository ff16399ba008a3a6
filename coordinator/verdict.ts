import type { RunResult } from "../shared/metrics/result.ts";

export interface SchemeComparison {
  scheme: string;
  /** Throughput against clone-flags at the same CPU count (> 1 is better). */
  throughputRatio: number;
  atomicsPerOp: number;
  transfersPerOp: number;
}

/** The answer to the 2006 challenge at the largest CPU count of the experiment. */
export interface Verdict {
  cpus: number;
  baseline: "clone-flags";
  comparisons: SchemeComparison[];
  summary: string[];
  /** Runs whose invariants failed: a failure of that scheme, listed so nobody misses it. */
  failedRuns: Array<{ scheme: string; cpus: number; violations: number }>;
}

function factor(x: number): string {
  return `${x.toFixed(x >= 10 ? 1 : 2)}x`;
}

export function verdict(runs: readonly RunResult[]): Verdict {
  const cpus = runs.reduce((m, r) => Math.max(m, r.cpus), 0);
  const atMax = runs.filter((r) => r.cpus === cpus);
  const mean = (scheme: string, pick: (r: RunResult) => number) => {
    const rs = atMax.filter((r) => r.scheme === scheme);
    return rs.length === 0 ? NaN : rs.reduce((s, r) => s + pick(r), 0) / rs.length;
  };
  const failedRuns = runs.filter((r) => !r.invariants.ok).map((r) => ({ scheme: r.scheme, cpus: r.cpus, violations: r.invariants.violationCount }));
  const base = mean("clone-flags", (r) => r.throughputOpsPerSec);
  const schemes = [...new Set(atMax.map((r) => r.scheme))];
  const comparisons = schemes.map((scheme) => ({
    scheme,
    throughputRatio: Math.round((mean(scheme, (r) => r.throughputOpsPerSec) / base) * 1e4) / 1e4,
    atomicsPerOp: Math.round(mean(scheme, (r) => r.atomicsPerOp) * 1e4) / 1e4,
    transfersPerOp: Math.round(mean(scheme, (r) => r.transfersPerOp) * 1e4) / 1e4,
  }));
  const summary: string[] = [];
  if (Number.isNaN(base)) {
    summary.push("clone-flags was not run: no comparison with the 2006 baseline.");
  } else if (!(base > 0)) {
    // (A measured window too short for one operation: ratios would be 0/0.)
    summary.push(`clone-flags completed no operation at ${cpus} CPUs in the measured window: no comparison (simulate longer).`);
  } else {
    for (const name of ["container", "nsproxy"]) {
      const c = comparisons.find((x) => x.scheme === name);
      if (c === undefined || Number.isNaN(c.throughputRatio)) continue;
      const cf = comparisons.find((x) => x.scheme === "clone-flags") as SchemeComparison;
      const r = c.throughputRatio;
      const traffic = `${c.atomicsPerOp} vs ${cf.atomicsPerOp} atomics/op, ${c.transfersPerOp} vs ${cf.transfersPerOp} line transfers/op`;
      if (r > 1.02) summary.push(`${name} beats clone-flags by ${factor(r)} in throughput at ${cpus} CPUs (${traffic}).`);
      else if (r < 0.98) summary.push(`${name} is slower than clone-flags at ${cpus} CPUs: ${factor(r)} its throughput (${traffic}).`);
      else summary.push(`${name} and clone-flags are within 2% in throughput at ${cpus} CPUs (${traffic}); the difference is in coherence traffic, not speed.`);
    }
    const best = comparisons.filter((c) => Number.isFinite(c.throughputRatio)).sort((a, b) => b.throughputRatio - a.throughputRatio)[0];
    if (best !== undefined) summary.push(`Highest throughput at ${cpus} CPUs: ${best.scheme} (${factor(best.throughputRatio)} clone-flags).`);
  }
  if (failedRuns.length > 0) summary.push(`${failedRuns.length} run(s) broke an invariant: see invariants in results.json.`);
  return { cpus, baseline: "clone-flags", comparisons, summary, failedRuns };
}
