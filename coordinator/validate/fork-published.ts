import { findMachinePreset } from "../../shared/machine/presets.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { simulate } from "../../shared/simulation.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec } from "../../shared/spec/resolve.ts";

/**
 * Published throughput of process creation against the number of parallel copies on a many-core
 * Linux machine, beside what the linux-6 kernel path predicts for fork-storm on the closest
 * preset. Nothing in the model was fitted to these figures: they are comparisons only, and each
 * says how far it is from like for like.
 */
export interface PublishedProcessCurve {
  /** Who measured it, where, when: enough to find it again. */
  source: string;
  url: string;
  /** The machine as the source describes it. */
  machine: string;
  /** What one operation of the benchmark is, and the unit of its score. */
  operation: string;
  unit: string;
  /** [parallel copies, score] as published. */
  points: ReadonlyArray<readonly [number, number]>;
  /** The preset the model runs for it, and why that one. */
  preset: string;
  presetNote: string;
  /** What differs between the benchmark and the model's fork-storm (read before comparing). */
  notLikeForLike: string;
}

export const PUBLISHED_PROCESS_CURVES: readonly PublishedProcessCurve[] = [
  {
    source: "byte-unixbench issue #88 (sufeng-nmg, 2023-02-28): 'execl: as the degree of parallelism increases, osq_lock becomes a bottleneck'",
    url: "https://github.com/kdlucas/byte-unixbench/issues/88",
    machine: "128-CPU Intel Xeon Platinum 8369B (Ice Lake, 2 sockets x 32 cores x 2 threads)",
    operation: "UnixBench execl: each copy execs the same binary in a loop",
    unit: "score (loops/s)",
    points: [
      [1, 1490.8],
      [2, 2641.6],
      [4, 4603.9],
      [8, 8001.6],
      [16, 11968.8],
      [32, 10793.9],
      [64, 8687.6],
      [128, 7682.8],
    ],
    preset: "modern-2s",
    presetNote: "the only 2-socket Intel preset: Cascade Lake, 2 x 16 cores x 2 threads = 64 CPUs (the measured machine has 128), so the model stops at 64",
    notLikeForLike:
      "exec, not fork and exit: the source's profile puts 90% of the 128-copy time in osq_lock of the binary's address_space (its i_mmap rwsem), which refsim does not model. Only the shape (a peak, then a fall) is comparable, as throughput relative to one copy",
  },
];

export interface PublishedProcessRow {
  cpus: number;
  /** The published score and its ratio to the one-copy score; null where the source has no point. */
  published: number | null;
  publishedRelative: number | null;
  /** The model's fork-storm throughput (none, linux-6; forks + exits per second) and its ratio to one CPU; null past the preset. */
  modelOpsPerSec: number | null;
  modelRelative: number | null;
  /** The lock the model's forks waited for longest at this count ("-" when none). */
  modelTopLock: string;
}

/** The CPU counts of a curve's comparison: the source's, up to the preset's size, and the preset's size if the source goes beyond. */
function comparedCounts(curve: PublishedProcessCurve, presetCpus: number): number[] {
  const counts = curve.points.map(([n]) => n).filter((n) => n <= presetCpus);
  if (curve.points.some(([n]) => n > presetCpus) && !counts.includes(presetCpus)) counts.push(presetCpus);
  return counts;
}

/**
 * The model beside a published curve: fork-storm without namespaces (`none`: the benchmark runs
 * in the initial namespaces) under kernel linux-6 on the curve's preset, long enough that a fork
 * completes many times in the window at every count (2 ms, 300 us warm-up).
 */
export function publishedProcessRows(curve: PublishedProcessCurve, duration = "2ms", warmup = "300us"): PublishedProcessRow[] {
  const model = comparedCounts(curve, presetCpusOf(curve.preset));
  const runs = planRuns(resolveSpec(parseSpec({ machine: curve.preset, cpus: model, schemes: ["none"], workload: "fork-storm", duration, warmup, kernel: "linux-6" }))).map((c) => simulate(c));
  const at = (n: number): RunResult | undefined => runs.find((r) => r.cpus === n);
  const base = curve.points.find(([n]) => n === 1)?.[1] ?? null;
  const modelBase = at(1)?.throughputOpsPerSec ?? null;
  const counts = [...new Set([...curve.points.map(([n]) => n), ...model])].sort((a, b) => a - b);
  return counts.map((cpus) => {
    const published = curve.points.find(([n]) => n === cpus)?.[1] ?? null;
    const r = at(cpus);
    return {
      cpus,
      published,
      publishedRelative: published !== null && base !== null ? round(published / base, 2) : null,
      modelOpsPerSec: r === undefined ? null : r.throughputOpsPerSec,
      modelRelative: r !== undefined && modelBase !== null && modelBase > 0 ? round(r.throughputOpsPerSec / modelBase, 2) : null,
      modelTopLock: r === undefined ? "-" : topLockOf(r),
    };
  });
}

function topLockOf(r: RunResult): string {
  const waits = Object.entries(r.kernelPath?.latencyBreakdown.fork.lockWaitByLock ?? {}).sort((a, b) => b[1] - a[1]);
  return waits.length > 0 && waits[0][1] > 0 ? `${waits[0][0]} (${Math.round(waits[0][1] * 100)}% of fork latency)` : "-";
}

function presetCpusOf(preset: string): number {
  const m = findMachinePreset(preset);
  if (m === undefined) throw new Error(`unknown machine preset ${preset}`);
  const s = m.shape;
  return s.sockets * s.diesPerSocket * s.coresPerDie * s.threadsPerCore;
}

/** Where a curve peaks and what is left of the peak at its last point. */
export function peakAndFall(points: ReadonlyArray<readonly [number, number]>): { peakCpus: number; peak: number; lastCpus: number; lastOverPeak: number } {
  const [peakCpus, peak] = points.reduce((best, p) => (p[1] > best[1] ? p : best), points[0]);
  const [lastCpus, last] = points[points.length - 1];
  return { peakCpus, peak, lastCpus, lastOverPeak: round(last / peak, 2) };
}

export function formatPublishedProcess(curve: PublishedProcessCurve, rows: readonly PublishedProcessRow[]): string {
  const header = ["copies/CPUs", `published ${curve.unit}`, "published vs 1", `model ${curve.preset} kops/s`, "model vs 1"];
  const cells = rows.map((r) => [
    String(r.cpus),
    r.published === null ? "-" : r.published.toFixed(1),
    r.publishedRelative === null ? "-" : `${r.publishedRelative.toFixed(2)}x`,
    r.modelOpsPerSec === null ? "-" : (r.modelOpsPerSec / 1e3).toFixed(0),
    r.modelRelative === null ? "-" : `${r.modelRelative.toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padStart(widths[i])).join("  ");
  const pub = peakAndFall(rows.filter((r) => r.published !== null).map((r) => [r.cpus, r.published as number] as const));
  const modelled = rows.filter((r) => r.modelOpsPerSec !== null);
  const mod = peakAndFall(modelled.map((r) => [r.cpus, r.modelOpsPerSec as number] as const));
  return [
    `${curve.source}`,
    `  ${curve.url}`,
    `  measured on: ${curve.machine}; ${curve.operation}`,
    `  model: fork-storm, scheme none, kernel linux-6, on ${curve.preset} (${curve.presetNote})`,
    `  not like for like: ${curve.notLikeForLike}`,
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...cells.map(line),
    "",
    `  published: peaks at ${pub.peakCpus} copies, keeps ${pub.lastOverPeak.toFixed(2)} of the peak at ${pub.lastCpus}; model: peaks at ${mod.peakCpus} CPUs, keeps ${mod.lastOverPeak.toFixed(2)} of the peak at ${mod.lastCpus}, where its forks wait longest for ${modelled[modelled.length - 1].modelTopLock}`,
  ].join("\n");
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
