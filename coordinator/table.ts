import type { RunResult } from "../shared/metrics/result.ts";
import type { OpKindName } from "../shared/kernel/program.ts";
import type { Verdict } from "./verdict.ts";
import { confidenceInterval95, mean } from "../shared/metrics/stats.ts";
import { duration, factor, forkBreakdownOf, LOW_SAMPLE_OPS, lowSample, percent, sig3, windowTooShort, windowTooShortNote } from "./figures.ts";

export { sig3 } from "./figures.ts";

function bytes(v: number): string {
  if (v >= 1 << 20) return `${(v / (1 << 20)).toFixed(1)}MiB`;
  if (v >= 1 << 10) return `${(v / (1 << 10)).toFixed(1)}KiB`;
  return `${v}B`;
}

function ns(v: number | undefined): string {
  return v === undefined ? "-" : duration(v);
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

/** A (mean) throughput against another scheme's mean at the same CPU count ("-" when that one was not run). */
function against(throughput: number, r: RunResult, scheme: string, means: ReadonlyMap<string, number>): string {
  const base = means.get(`${r.machine}|${r.workload}|${scheme}|${r.cpus}`);
  return base === undefined || base <= 0 ? "-" : factor(throughput / base);
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

/** The runs of one scheme at one CPU count (of a machine and workload), one per seed, in the runs' order. */
function seedGroups(runs: readonly RunResult[]): RunResult[][] {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    const k = `${r.machine}|${r.workload}|${r.scheme}|${r.cpus}`;
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [r]);
    else g.push(r);
  }
  return [...groups.values()];
}

/** The mean of the values that are not null (null when none is). */
function meanOf(values: ReadonlyArray<number | null | undefined>): number | null {
  const present = values.filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v));
  return present.length === 0 ? null : mean(present);
}

/**
 * The terminal table: a row per scheme and CPU count, with throughput against clone-flags and
 * against `none` (no reference counting) at the same CPU count, and `!` on runs with too few
 * operations for their figures to mean much (explained under the table). Runs repeated over
 * several seeds (`--seeds N`) give one row per scheme and CPU count: the mean of the seeds, and
 * for the throughput the half-width of its 95% confidence interval (Student t).
 */
export function formatTable(runs: readonly RunResult[]): string {
  const op = dominantOp(runs);
  const means = throughputs(runs);
  const schemes = new Set(runs.map((r) => r.scheme));
  const relative = [...(schemes.has("clone-flags") ? ["clone-flags"] : []), ...(schemes.has("none") ? ["none"] : [])];
  const groups = seedGroups(runs);
  const seeded = groups.some((g) => g.length > 1);
  // Under a kernel path: where a fork's latency goes (the scheme's namespace references, lock waits).
  const breakdown = runs.some((r) => forkBreakdownOf(r) !== undefined);
  // Per-container variable accesses: lines touched and lines from another cache, per access.
  const accesses = runs.some((r) => r.access.operations > 0);
  const header = [
    "scheme",
    "cpus",
    ...(seeded ? ["seeds"] : []),
    seeded ? "ops/s (mean ±95%)" : "ops/s",
    ...relative.map((s) => `vs ${s}`),
    "eff",
    `p99 ${op ?? ""}`.trim(),
    "atomics/op",
    "xfers/op",
    ...(accesses ? ["lines/acc", "xfers/acc"] : []),
    "B/task",
    "refB/ctr",
    ...(breakdown ? ["fork ns-refs", "fork lock-wait"] : []),
    "invariants",
  ];
  const rows = groups.map((g) => {
    const r = g[0];
    const throughput = confidenceInterval95(g.map((x) => x.throughputOpsPerSec));
    const interval = g.length > 1 && Number.isFinite(throughput.halfWidth) ? ` ±${sig3(throughput.halfWidth)}` : "";
    const efficiency = meanOf(g.map((x) => x.scalingEfficiency));
    const p99 = op === null ? null : meanOf(g.map((x) => x.latency[op]?.p99Ns));
    const failed = g.filter((x) => !x.invariants.ok);
    const violations = failed.reduce((n, x) => n + x.invariants.violationCount, 0);
    return [
      r.scheme,
      String(r.cpus),
      ...(seeded ? [String(g.length)] : []),
      `${sig3(throughput.mean)}${interval}${g.some(windowTooShort) ? "~" : g.some(lowSample) ? "!" : ""}`,
      ...relative.map((s) => against(throughput.mean, r, s, means)),
      efficiency === null ? "-" : `${(efficiency * 100).toFixed(0)}%`,
      ns(p99 ?? undefined),
      sig3(meanOf(g.map((x) => x.atomicsPerOp)) ?? NaN),
      sig3(meanOf(g.map((x) => x.transfersPerOp)) ?? NaN),
      ...(accesses ? [sig3(mean(g.map((x) => x.access.linesPerAccess))), sig3(mean(g.map((x) => x.access.transfersPerAccess)))] : []),
      bytes(Math.round(mean(g.map((x) => x.memory.bytesPerTask)))),
      bytes(Math.round(mean(g.map((x) => x.memory.refBytesPerContainer)))),
      ...(breakdown ? forkShares(g) : []),
      failed.length === 0 ? "ok" : g.length > 1 ? `FAIL (${failed.length} seeds, ${violations})` : `FAIL (${violations})`,
    ];
  });
  const fixed = seeded ? 3 : 2;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < fixed && i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  const low = runs.filter(lowSample).length;
  const notes: string[] = [];
  if (seeded) {
    const counts = [...new Set(groups.map((g) => g.length))].sort((a, b) => a - b);
    notes.push(`mean of ${counts.join(" to ")} seeds per row; ±: half-width of the throughput's 95% confidence interval (Student t); the other columns are means`);
  }
  const short = windowTooShortNote(runs);
  if (short !== null) notes.push(`~ ${short}`);
  if (low > 0) notes.push(`! ${low} run(s) completed fewer than ${LOW_SAMPLE_OPS} operations after the warm-up: their figures are noise (give a longer --duration)`);
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), ...notes].join("\n");
}

/**
 * The share of fork latency in the scheme's namespace references and in lock waits, the mean of
 * the seeds that measured a fork ("-" when none did).
 */
function forkShares(g: readonly RunResult[]): string[] {
  const forks = g.map(forkBreakdownOf).filter((b) => b !== undefined);
  if (forks.length === 0) return ["-", "-"];
  return [percent(mean(forks.map((b) => b.namespaceRefs))), percent(mean(forks.map((b) => b.lockWait)))];
}

export function formatVerdict(v: Verdict): string {
  return ["Verdict:", ...v.summary.map((s) => `  ${s}`)].join("\n");
}
