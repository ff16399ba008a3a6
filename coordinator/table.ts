import type { RunResult } from "../shared/metrics/result.ts";
import type { OpKindName } from "../shared/kernel/program.ts";
import type { Verdict } from "./verdict.ts";

function si(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(0);
}

function bytes(v: number): string {
  if (v >= 1 << 20) return `${(v / (1 << 20)).toFixed(1)}MiB`;
  if (v >= 1 << 10) return `${(v / (1 << 10)).toFixed(1)}KiB`;
  return `${v}B`;
}

function ns(v: number | undefined): string {
  if (v === undefined) return "-";
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}ms`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}us`;
  return `${v.toFixed(0)}ns`;
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

/** The terminal table: a row per scheme and CPU count. */
export function formatTable(runs: readonly RunResult[]): string {
  const op = dominantOp(runs);
  const header = ["scheme", "cpus", "ops/s", "eff", `p99 ${op ?? ""}`.trim(), "atomics/op", "xfers/op", "B/task", "refB/ctr", "invariants"];
  const rows = runs.map((r) => [
    r.scheme,
    String(r.cpus),
    si(r.throughputOpsPerSec),
    r.scalingEfficiency === null ? "-" : `${(r.scalingEfficiency * 100).toFixed(0)}%`,
    ns(op === null ? undefined : r.latency[op]?.p99Ns),
    r.atomicsPerOp.toFixed(2),
    r.transfersPerOp.toFixed(2),
    bytes(r.memory.bytesPerTask),
    bytes(r.memory.refBytesPerContainer),
    r.invariants.ok ? "ok" : `FAIL (${r.invariants.violationCount})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function formatVerdict(v: Verdict): string {
  return ["Verdict:", ...v.summary.map((s) => `  ${s}`)].join("\n");
}
