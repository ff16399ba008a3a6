import { SCHEME_NAMES } from "../../shared/schemes/scheme.ts";
import { SOURCE_CITATIONS } from "./published.ts";
import type { GetPutPoint, HotLinePoint, RefcountBenchRow, ValidationRow } from "./validate.ts";

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
    ["machine", "writers", "cycles/atomic", "p50 wait (cyc)", "cross-socket share", "published", "role", "ratio"],
    points.map((p) => [
      p.machine,
      String(p.writers),
      p.cyclesPerAtomic.toFixed(1),
      p.p50LatencyCycles.toFixed(0),
      p.crossSocketShare.toFixed(3),
      p.published === null ? "-" : p.published.cycles.toFixed(1),
      p.published === null ? "" : p.published.role,
      p.published === null ? "" : (p.cyclesPerAtomic / p.published.cycles).toFixed(3),
    ]),
    1,
  );
}

const mega = (v: number) => `${(v / 1e6).toFixed(3)}M`;

export function formatRefcountBench(rows: readonly RefcountBenchRow[]): string {
  return columns(
    ["source", "machine", "experiment", "role", "published it/s", "simulated it/s", "ratio"],
    rows.map((r) => [r.source, r.machine, r.experiment, r.role, mega(r.publishedItersPerSec), mega(r.simulatedItersPerSec), r.ratio.toFixed(3)]),
    4,
  );
}

/** The full citation of every source named in the tables. */
export function formatSources(sources: readonly string[]): string {
  return [...new Set(sources)]
    .filter((s) => SOURCE_CITATIONS[s] !== undefined)
    .map((s) => `- ${s}: ${SOURCE_CITATIONS[s]}`)
    .join("\n");
}

export function formatGetPut(machine: string, points: readonly GetPutPoint[]): string {
  const schemes = SCHEME_NAMES.filter((s) => points.some((p) => p.throughput[s] !== undefined));
  return columns(
    ["cpus", ...schemes.map((s) => `${s} Mops/s`), "refcache/shared"],
    points.map((p) => [String(p.cpus), ...schemes.map((s) => ((p.throughput[s] ?? NaN) / 1e6).toFixed(2)), p.refcacheOverShared.toFixed(2)]),
    0,
  ).replace(/^/, `get-put on ${machine} (shared = container: one refcount_t on the object)\n`);
}
