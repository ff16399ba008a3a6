import type { RunResult } from "../shared/metrics/result.ts";
import type { OpKindName } from "../shared/kernel/program.ts";
import type { Verdict } from "./verdict.ts";
import { factor, LOW_SAMPLE_OPS, lowSample, sig3 } from "./figures.ts";

export { sig3 } from "./figures.ts";

function bytes(v: number): string {
  if (v >= 1 << 20) return `${(v / (1 << 20)).toFixed(1)}MiB`;
  if (v >= 1 << 10) return `${(v / (1 << 10)).toFixed(1)}KiB`;
  return `${v}B`;
}

function ns(v: number | undefined): string {
  if (v === undefined) return "-";
  if (v >= 1e6) return `${(v / 1e6).toPrecision(3)}ms`;
  if (v >= 1e3) return `${(v / 1e3).toPrecision(3)}us`;
  return `${v.toPrecision(3)}ns`;
}

/** Mean throughput of each scheme at each CPU count (of a machine, workload and seed set). */
function throughputs(runs: readonly RunResult[]): Map<string, number> {
  const sums = new Map<string, { s: number; n: number }>();
  for (const r of runs) {
    const k = `${r.machine}|${r.workload}|${r.scheme}|${r.cpus}`;
    const e = sums.get(k) ?? { s: 0, n: 0 };
    sums.set(k, { s: e.s + r.throughputOpsPerSec, n: e.n + 1 });
  }
  return new Map([...sums].map(([k, e]) => [k, e.s / e.n]));
}

/** A run's throughput against another scheme's at the same CPU count ("-" when that one was not run). */
function against(r: RunResult, scheme: string, means: ReadonlyMap<string, number>): string {
  const base = means.get(`${r.machine}|${r.workload}|${scheme}|${r.cpus}`);
  return base === undefined || base <= 0 ? "-" : factor(r.throughputOpsPerSec / base);
}

/**
 * The operation whose p99 the table shows: fork when it is within 10% of the most frequent
 * operation (a fork storm's exits slightly outnumber its forks), else the most frequent one.
 */
export function dominantOp(runs: readonly RunResult[]): OpKindName | null {
  const totals = new Map<OpKindName, number>();
  for (const r of runs) for (const [op, n] of Object.entries(r.operations) as Array<[OpKindName, number]>) totals.set(op, (totals.get(op) ?? 0) + n);
  let best: OpKindName | null = null;
  for (const [op, n] of totals) if (best === null || n > (totals.get(best) ?? 0)) best = op;
  if (best !== null && (totals.get("fork") ?? 0) >= 0.9 * (totals.get(best) ?? 0)) return "fork";
  return best;
}

/**
 * The terminal table: a row per scheme and CPU count, with throughput against clone-flags and
 * against `none` (no reference counting) at the same CPU count, and `!` on runs with too few
 * operations for their figures to mean much (explained under the table).
 */
export function formatTable(runs: readonly RunResult[]): string {
  const op = dominantOp(runs);
  const means = throughputs(runs);
  const schemes = new Set(runs.map((r) => r.scheme));
  const relative = [...(schemes.has("clone-flags") ? ["clone-flags"] : []), ...(schemes.has("none") ? ["none"] : [])];
  const header = ["scheme", "cpus", "ops/s", ...relative.map((s) => `vs ${s}`), "eff", `p99 ${op ?? ""}`.trim(), "atomics/op", "xfers/op", "B/task", "refB/ctr", "invariants"];
  const rows = runs.map((r) => [
    r.scheme,
    String(r.cpus),
    `${sig3(r.throughputOpsPerSec)}${lowSample(r) ? "!" : ""}`,
    ...relative.map((s) => against(r, s, means)),
    r.scalingEfficiency === null ? "-" : `${(r.scalingEfficiency * 100).toFixed(0)}%`,
    ns(op === null ? undefined : r.latency[op]?.p99Ns),
    sig3(r.atomicsPerOp),
    sig3(r.transfersPerOp),
    bytes(r.memory.bytesPerTask),
    bytes(r.memory.refBytesPerContainer),
    r.invariants.ok ? "ok" : `FAIL (${r.invariants.violationCount})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  const low = runs.filter(lowSample).length;
  const note = low === 0 ? [] : [`! ${low} run(s) completed fewer than ${LOW_SAMPLE_OPS} operations after the warm-up: their figures are noise (give a longer --duration)`];
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), ...note].join("\n");
}

export function formatVerdict(v: Verdict): string {
  return ["Verdict:", ...v.summary.map((s) => `  ${s}`)].join("\n");
}
