import { SCHEME_NAMES } from "../../shared/schemes/scheme.ts";
import type { GetPutPoint, HotLinePoint, ValidationRow } from "./validate.ts";

/** Left-aligns the first `leftColumns` columns, right-aligns the rest. */
function columns(header: string[], rows: string[][], leftColumns: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function formatValidation(rows: readonly ValidationRow[]): string {
  return columns(
    ["source", "machine", "experiment", "role", "published", "simulated", "ratio"],
    rows.map((r) => [r.source, r.machine, r.experiment, r.role, `${r.publishedCycles} cyc`, `${r.simulatedCycles.toFixed(1)} cyc`, r.ratio.toFixed(3)]),
    4,
  );
}

export function formatHotLine(points: readonly HotLinePoint[]): string {
  return columns(
    ["machine", "writers", "cycles/atomic", "p50 wait (cyc)", "cross-socket share", "published"],
    points.map((p) => [p.machine, String(p.writers), p.cyclesPerAtomic.toFixed(1), p.p50LatencyCycles.toFixed(0), p.crossSocketShare.toFixed(3), "-"]),
    1,
  );
}

export function formatGetPut(machine: string, points: readonly GetPutPoint[]): string {
  const schemes = SCHEME_NAMES.filter((s) => points.some((p) => p.throughput[s] !== undefined));
  return columns(
    ["cpus", ...schemes.map((s) => `${s} Mops/s`), "refcache/shared"],
    points.map((p) => [String(p.cpus), ...schemes.map((s) => ((p.throughput[s] ?? NaN) / 1e6).toFixed(2)), p.refcacheOverShared.toFixed(2)]),
    0,
  ).replace(/^/, `get-put on ${machine} (shared = container: one refcount_t on the object)\n`);
}
