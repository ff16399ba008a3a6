import type { RunResult } from "../../shared/metrics/result.ts";
import { confidenceInterval95 } from "../../shared/metrics/stats.ts";
import { SCHEME_NAMES, type SchemeName } from "../../shared/schemes/scheme.ts";
import type { OpKindName } from "../../shared/kernel/program.ts";
import { dominantOp } from "../table.ts";
import { LOW_SAMPLE_OPS, lowSample } from "../figures.ts";
import { verdict, type Verdict } from "../verdict.ts";
import type { ResultsDocument } from "../output.ts";

/**
 * A vega-lite specification as plain JSON. (vega-lite's own TopLevelSpec type pulls in vega's
 * declarations, which need the DOM library; the renderer checks the spec when it compiles it.)
 */
export type VegaLiteSpec = Record<string, unknown>;

/** The charts of a report, each addressed by this id in the page (`data-chart`). */
export type ChartId = "throughput" | "scaling-efficiency" | "atomics-per-op" | "transfers-per-op" | "p99-latency" | "ref-bytes-per-container";

/** One metric plotted against the CPU count, a series per scheme. */
export interface ChartDefinition {
  id: ChartId;
  title: string;
  /** What the chart shows, in a sentence, for the figure's caption. */
  caption: string;
  yTitle: string;
  /**
   * `linear` with labels in the d3-format `yFormat`; `log` (base 10, labels in `yFormat`) for a
   * figure whose schemes differ by factors, where points at zero cannot be drawn (the caption
   * says how many were left out); or `bytes`: a symmetric log scale (zero stays drawable while
   * values span decades) with ticks at powers of two labelled B/KiB/MiB.
   */
  yScale: "linear" | "log" | "bytes";
  yFormat: string;
  /** Whether the y axis starts at zero; false: the axis fits the data (with a little margin). */
  yZero: boolean;
  /** Why the chart can be empty, said in place of an empty plot (the page adds a generic reason otherwise). */
  emptyReason?: string;
  /** The value of a run, or null when the run has none (no 1-CPU run, no such operation). */
  metric: (r: RunResult) => number | null;
}

/** The mean of one (scheme, CPU count, workload, machine) over its seeds. */
export interface AggregatePoint {
  /** Legend label: the scheme, with workload and machine when the runs mix several. */
  series: string;
  scheme: SchemeName;
  cpus: number;
  workload: string;
  machine: string;
  /** Seeds that gave a value. */
  seeds: number;
  /** Of those, the runs that broke an invariant. */
  failedRuns: number;
  /** Of those, the runs that completed too few operations for their figures to mean much (figures.ts lowSample). */
  lowSampleRuns: number;
  mean: number;
  /** Bounds of the 95% confidence interval (Student t); null with a single seed. */
  lo: number | null;
  hi: number | null;
}

export interface ReportChart {
  definition: ChartDefinition;
  points: AggregatePoint[];
  spec: VegaLiteSpec;
}

function schemeOrder(scheme: string): number {
  const i = (SCHEME_NAMES as readonly string[]).indexOf(scheme);
  return i < 0 ? SCHEME_NAMES.length : i;
}

/** Whether the runs come from more than one (workload, machine) pair, so a scheme alone does not name a series. */
function mixesContexts(runs: readonly RunResult[]): boolean {
  return new Set(runs.map((r) => `${r.workload}\u0000${r.machine}`)).size > 1;
}

/** The legend label of a run's series. */
export function seriesLabel(r: RunResult, mixed: boolean): string {
  return mixed ? `${r.scheme} (${r.workload}, ${r.machine})` : r.scheme;
}

/** Series labels in scheme order (the order of `refsim presets`), so every chart gives a scheme the same colour. */
export function seriesLabels(runs: readonly RunResult[]): string[] {
  const mixed = mixesContexts(runs);
  const bySeries = new Map<string, RunResult>();
  for (const r of runs) bySeries.set(seriesLabel(r, mixed), r);
  return [...bySeries.entries()]
    .sort(([a, ra], [b, rb]) => schemeOrder(ra.scheme) - schemeOrder(rb.scheme) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([label]) => label);
}

/**
 * Groups runs by (scheme, CPU count, workload, machine) and gives each group the mean of the
 * metric over its seeds and, with two seeds or more, its 95% confidence interval. Runs without
 * a value for the metric are left out; a group with no value gives no point.
 */
export function aggregateRuns(runs: readonly RunResult[], metric: (r: RunResult) => number | null): AggregatePoint[] {
  const mixed = mixesContexts(runs);
  const groups = new Map<string, { first: RunResult; values: number[]; failedRuns: number; lowSampleRuns: number }>();
  for (const r of runs) {
    const value = metric(r);
    if (value === null || !Number.isFinite(value)) continue;
    const key = JSON.stringify([r.scheme, r.cpus, r.workload, r.machine]);
    const failed = r.invariants.ok ? 0 : 1;
    const low = lowSample(r) ? 1 : 0;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { first: r, values: [value], failedRuns: failed, lowSampleRuns: low });
    else {
      group.values.push(value);
      group.failedRuns += failed;
      group.lowSampleRuns += low;
    }
  }
  const points = [...groups.values()].map(({ first, values, failedRuns, lowSampleRuns }): AggregatePoint => {
    const { mean, halfWidth } = confidenceInterval95(values);
    const interval = Number.isNaN(halfWidth) ? null : halfWidth;
    return {
      series: seriesLabel(first, mixed),
      scheme: first.scheme,
      cpus: first.cpus,
      workload: first.workload,
      machine: first.machine,
      seeds: values.length,
      failedRuns,
      lowSampleRuns,
      mean,
      lo: interval === null ? null : mean - interval,
      hi: interval === null ? null : mean + interval,
    };
  });
  return points.sort((a, b) => schemeOrder(a.scheme) - schemeOrder(b.scheme) || (a.series < b.series ? -1 : a.series > b.series ? 1 : 0) || a.cpus - b.cpus);
}

/** Plot width of every chart, pixels. */
export const PLOT_WIDTH_PX = 460;

/** How far the outermost series' points sit from their CPU count, pixels. */
const DODGE_HALF_SPREAD_PX = 10;

/** At most this many CPU ticks; more CPU counts than this get a tick at a subset (powers of two on a log axis). */
const MAX_CPU_TICKS = 12;

/**
 * Whether the CPU axis is log base 2: when the CPU counts span a factor of 4 or more (1, 2, 4 ...
 * 4096 would crowd the left end of a linear axis), or there is a single count. Counts close
 * together (48, 64, 80) read better on a linear axis.
 */
export function cpuAxisIsLog(cpuCounts: readonly number[]): boolean {
  const counts = [...new Set(cpuCounts)];
  if (counts.length <= 1) return true;
  return Math.max(...counts) / Math.min(...counts) >= 4;
}

/** The domain of the CPU axis: the CPU counts run, widened (a factor of two on a log axis) if there is only one. */
function cpuDomain(cpuCounts: readonly number[]): [number, number] {
  const lowest = cpuCounts.reduce((m, c) => Math.min(m, c), Infinity);
  const highest = cpuCounts.reduce((m, c) => Math.max(m, c), 0);
  if (!Number.isFinite(lowest)) return [0.5, 2];
  if (lowest !== highest) return [lowest, highest];
  return [lowest / 2, highest * 2];
}

/**
 * Where a series' point for `cpus` is drawn: spread a few pixels sideways, in scheme order, so
 * that schemes with equal values (and their error bars) stay visible. The spread is at most
 * ten pixels either side, and at most a quarter of the gap between two powers of two (log axis)
 * or between two neighbouring CPU counts (linear axis).
 */
export function dodgedCpus(cpus: number, seriesIndex: number, seriesCount: number, cpuCounts: readonly number[]): number {
  if (seriesCount <= 1) return cpus;
  const [lowest, highest] = cpuDomain(cpuCounts);
  const offset = seriesIndex - (seriesCount - 1) / 2;
  if (cpuAxisIsLog(cpuCounts)) {
    const pxPerOctave = PLOT_WIDTH_PX / Math.log2(highest / lowest);
    const halfSpreadOctaves = Math.min(DODGE_HALF_SPREAD_PX / pxPerOctave, 0.25);
    return cpus * 2 ** ((offset * 2 * halfSpreadOctaves) / (seriesCount - 1));
  }
  const sorted = [...new Set(cpuCounts)].sort((a, b) => a - b);
  const gap = sorted.slice(1).reduce((m, c, i) => Math.min(m, c - sorted[i]), Infinity);
  const halfSpread = Math.min((DODGE_HALF_SPREAD_PX * (highest - lowest)) / PLOT_WIDTH_PX, gap / 4);
  return cpus + (offset * 2 * halfSpread) / (seriesCount - 1);
}

/** The CPU ticks: every count run, or with more than MAX_CPU_TICKS of them the powers of two among them (log) or every k-th (linear), and the largest. */
export function cpuTicks(cpuCounts: readonly number[]): number[] {
  const ticks = [...new Set(cpuCounts)].sort((a, b) => a - b);
  if (ticks.length <= MAX_CPU_TICKS) return ticks;
  const highest = ticks[ticks.length - 1];
  let chosen: number[];
  if (cpuAxisIsLog(ticks)) {
    const powers = ticks.filter((c) => Number.isInteger(Math.log2(c)));
    const step = Math.ceil(powers.length / (MAX_CPU_TICKS - 1));
    chosen = powers.filter((_, i) => i % step === 0);
    if (chosen.length < 3) chosen = ticks.filter((_, i) => i % Math.ceil(ticks.length / (MAX_CPU_TICKS - 1)) === 0);
  } else {
    const step = Math.ceil(ticks.length / (MAX_CPU_TICKS - 1));
    chosen = ticks.filter((_, i) => i % step === 0);
  }
  // The largest count is always labelled; a chosen tick too close to it (under half a step) gives way.
  const last = chosen[chosen.length - 1];
  if (last !== highest) {
    const [lo, hi] = cpuDomain(ticks);
    const tooClose = cpuAxisIsLog(ticks) ? Math.log2(highest / last) < Math.log2(hi / lo) / (2 * MAX_CPU_TICKS) : highest - last < (hi - lo) / (2 * MAX_CPU_TICKS);
    if (tooClose && chosen.length > 1) chosen.pop();
    chosen.push(highest);
  }
  return chosen;
}

/** The x encoding every chart shares: CPUs on a log2 axis (or a linear one, cpuAxisIsLog) with a tick at each CPU count that was run. */
export function cpuAxisEncoding(cpuCounts: readonly number[]) {
  const ticks = cpuTicks(cpuCounts);
  const domain = cpuDomain(cpuCounts);
  const log = cpuAxisIsLog(cpuCounts);
  return {
    field: "x",
    type: "quantitative" as const,
    title: log ? "CPUs (log2 scale)" : "CPUs",
    scale: log ? { type: "log" as const, base: 2, domain, nice: false, padding: 14 } : { type: "linear" as const, domain, nice: false, zero: false, padding: 14 },
    axis: { values: ticks, format: "d", grid: true, labelFlush: false, labelOverlap: "greedy" as const },
  };
}

/** The charts every report draws; p99 latency follows the operation the terminal table shows. */
export function chartDefinitions(runs: readonly RunResult[]): ChartDefinition[] {
  const op: OpKindName | null = dominantOp(runs);
  const definitions: ChartDefinition[] = [
    {
      id: "throughput",
      title: "Throughput",
      caption: "Kernel operations completed per simulated second after the warm-up, on a log scale: a scheme 20x faster sits a fixed distance above, whatever the CPU count.",
      yTitle: "throughput (operations/s, log scale)",
      yFormat: "~s",
      yScale: "log",
      yZero: false,
      metric: (r) => r.throughputOpsPerSec,
    },
    {
      id: "scaling-efficiency",
      title: "Scaling efficiency",
      caption: "Throughput / (CPUs x the same scheme's one-CPU throughput); 100% is perfect scaling. The axis fits the values measured.",
      yTitle: "scaling efficiency (%)",
      yFormat: ".0%",
      yScale: "linear",
      yZero: false,
      emptyReason: "No chart: scaling efficiency compares each run with the same scheme's run at 1 CPU, and no run here has 1 CPU. Add 1 to the CPU counts (e.g. --cpus 1,64,512) to see it.",
      metric: (r) => r.scalingEfficiency,
    },
    {
      id: "atomics-per-op",
      title: "Atomics per operation",
      caption: "LOCK-prefixed read-modify-writes per kernel operation, hits included.",
      yTitle: "atomic RMWs per operation",
      yFormat: "~g",
      yScale: "linear",
      yZero: true,
      metric: (r) => r.atomicsPerOp,
    },
    {
      id: "transfers-per-op",
      title: "Cache-line transfers per operation",
      caption: "Cache-to-cache line transfers (any distance) per kernel operation.",
      yTitle: "line transfers per operation",
      yFormat: "~g",
      yScale: "linear",
      yZero: true,
      metric: (r) => r.transfersPerOp,
    },
  ];
  if (op !== null) {
    // Microseconds for fork-like operations, nanoseconds for variable reads.
    const slowest = runs.reduce((m, r) => Math.max(m, r.latency[op]?.p99Ns ?? 0), 0);
    const [unit, nsPerUnit] = slowest >= 1000 ? ["µs", 1000] : ["ns", 1];
    definitions.push({
      id: "p99-latency",
      title: `p99 latency of ${op}`,
      caption: `99th percentile latency of ${op}, the most frequent operation over all runs (fork when forks come within 10% of it, as the table's p99 column chooses).`,
      yTitle: `p99 ${op} latency (${unit})`,
      yFormat: "~g",
      yScale: "linear",
      yZero: false,
      metric: (r) => {
        const ns = r.latency[op]?.p99Ns;
        return ns === undefined ? null : ns / nsPerUnit;
      },
    });
  }
  definitions.push({
    id: "ref-bytes-per-container",
    title: "Reference-count bytes per container",
    caption: "Reference-count and bundle bytes of one container's objects (log scale with 0 at the bottom); per-CPU counters grow with the CPU count.",
    yTitle: "bytes per container (log scale)",
    yFormat: "",
    yScale: "bytes",
    yZero: true,
    metric: (r) => r.memory.refBytesPerContainer,
  });
  return definitions;
}

/** The marker of a point that includes a run which broke an invariant (the page's alert colour). */
export const FAILURE_COLOUR = "#b00020";

const BYTE_LABEL =
  "datum.value >= 1048576 ? format(datum.value / 1048576, '~g') + ' MiB' : datum.value >= 1024 ? format(datum.value / 1024, '~g') + ' KiB' : datum.value + ' B'";

/** Axis ticks for byte counts up to `highest`: 0 and powers of two from 8 B, at most about nine of them. */
export function byteTicks(highest: number): number[] {
  const top = Math.max(3, Math.ceil(Math.log2(Math.max(highest, 1))));
  const step = Math.ceil((top - 3 + 1) / 8);
  const ticks = [0];
  for (let k = 3; k <= top; k += step) ticks.push(2 ** k);
  return ticks;
}

/**
 * The vega config every chart of the report shares (the line charts here, the 2006 challenge's
 * and the fork breakdown's): one font, and no text cut short. vega estimates text widths in
 * Node (no canvas) above what a browser draws and would shorten titles and legend labels that
 * fit; with no limit a long label makes the SVG wider, and the page scales it to its figure.
 * `extra` adds to (or overrides) a part, e.g. `{ legend: { labelFontSize: 11 } }`.
 */
export function chartConfig(extra: Record<string, Record<string, unknown> | string> = {}): Record<string, unknown> {
  const base: Record<string, Record<string, unknown> | string> = {
    font: "sans-serif",
    axis: { labelFontSize: 11, titleFontSize: 12, titleLimit: 0, labelLimit: 0 },
    legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 0, titleLimit: 0 },
    header: { labelFontSize: 12, labelLimit: 0 },
  };
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) out[k] = typeof v === "string" ? v : { ...(base[k] as Record<string, unknown> | undefined), ...v };
  return out;
}

/** The marker of a point with runs that completed too few operations (an amber square). */
export const LOW_SAMPLE_COLOUR = "#d97706";

/** Legend labels longer than this go under the plot, in columns, rather than beside it. */
const LEGEND_BESIDE_MAX_CHARS = 22;

/**
 * The legend of every chart: beside the plot for short labels (scheme names), under it for long
 * ones (a sweep's "percpu (fork-storm, numa-4096)"), in two columns past ten series; labels are
 * never cut (chartConfig).
 */
export function legendPlacement(series: readonly string[]): { orient: "right" | "bottom"; columns?: number; labelLimit: number } {
  const longest = series.reduce((m, s) => Math.max(m, s.length), 0);
  if (longest <= LEGEND_BESIDE_MAX_CHARS) return { orient: "right", labelLimit: 0 };
  return { orient: "bottom", columns: series.length > 10 ? 2 : 1, labelLimit: 0 };
}

/**
 * Ticks of a log axis from `lowest` to `highest`: 1, 2 and 5 times the powers of ten between
 * them; every power of ten when that gives more than ten; 1 to 9 times them when it gives fewer
 * than three (a narrow range); the two ends as a last resort.
 */
export function logTicks(lowest: number, highest: number): number[] {
  const within = (mantissas: readonly number[]) => {
    const ticks: number[] = [];
    for (let k = Math.floor(Math.log10(lowest)); k <= Math.ceil(Math.log10(highest)); k++) {
      for (const m of mantissas) {
        const v = Number((m * 10 ** k).toPrecision(12));
        if (v >= lowest && v <= highest) ticks.push(v);
      }
    }
    return ticks;
  };
  const ticks = within([1, 2, 5]);
  if (ticks.length > 10) return within([1]);
  if (ticks.length >= 3) return ticks;
  const fine = within([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  if (fine.length >= 2) return fine;
  return [Number(lowest.toPrecision(2)), Number(highest.toPrecision(2))];
}

/**
 * The value axis of a chart. `log`: base 10 over the positive values (and the intervals' ends
 * above zero), a little margin either side, clamped so an interval reaching zero is drawn to
 * the bottom; `linear` from zero or fitted to the values; `bytes`: symlog with byte ticks.
 */
export function valueAxis(definition: ChartDefinition, points: readonly AggregatePoint[]): { scale: Record<string, unknown>; axis: Record<string, unknown>; floor: number } {
  const highest = points.reduce((m, p) => Math.max(m, p.hi ?? p.mean), 0);
  if (definition.yScale === "bytes") return { scale: { type: "symlog", constant: 8, zero: true }, axis: { values: byteTicks(highest), labelExpr: BYTE_LABEL }, floor: 0 };
  const label = { labelExpr: `format(datum.value, '${definition.yFormat}')`, labelOverlap: "greedy" };
  if (definition.yScale === "log") {
    const positive = points.flatMap((p) => [p.mean, p.lo ?? p.mean, p.hi ?? p.mean]).filter((v) => v > 0);
    if (positive.length === 0) return { scale: { type: "log" }, axis: label, floor: 1 };
    const lowest = Math.min(...positive) / 1.25;
    const top = Math.max(...positive) * 1.25;
    return { scale: { type: "log", domain: [lowest, top], clamp: true, nice: false }, axis: { ...label, values: logTicks(lowest, top) }, floor: lowest };
  }
  if (definition.yZero || points.length === 0) return { scale: { zero: true }, axis: label, floor: 0 };
  // Fitted to the means, with a margin, never below zero; an interval reaching past an edge is cut there.
  const means = points.map((p) => p.mean);
  const lowest = Math.min(...means);
  const top = Math.max(...means);
  const span = top - lowest || Math.abs(top) * 0.1 || 1;
  return { scale: { domain: [Math.max(0, lowest - span * 0.15), top + span * 0.15], nice: false, clamp: true, zero: false }, axis: label, floor: 0 };
}

/**
 * A vega-lite spec: the means as lines with points, a colour per series, the 95% interval as
 * error bars wherever a point has two seeds or more, a red ring on points with a run that broke
 * an invariant and an amber square on points with a run of too few operations. On a log axis,
 * points at zero are left out (chartNotes says how many).
 */
export function chartSpec(definition: ChartDefinition, points: readonly AggregatePoint[], series: readonly string[], cpuCounts: readonly number[]): VegaLiteSpec {
  const x = cpuAxisEncoding(cpuCounts);
  const { scale, axis, floor } = valueAxis(definition, points);
  const drawn = definition.yScale === "log" ? points.filter((p) => p.mean > 0) : points;
  const y = { field: "mean", type: "quantitative" as const, title: definition.yTitle, scale, axis };
  const color = {
    field: "series",
    type: "nominal" as const,
    title: "scheme",
    scale: { domain: [...series], scheme: "tableau10" },
    legend: legendPlacement(series),
  };
  const means = {
    mark: { type: "line" as const, point: { filled: true, size: 40 }, strokeWidth: 2 },
    encoding: { x, y, color },
  };
  const withInterval = drawn.some((p) => p.lo !== null);
  const intervals = {
    transform: [{ filter: "datum.lo !== null" }],
    mark: { type: "errorbar" as const, ticks: { size: 8 }, thickness: 1.5 },
    encoding: {
      x,
      y: { field: "loShown", type: "quantitative" as const, title: definition.yTitle },
      y2: { field: "hi" },
      color,
    },
  };
  const failures = {
    transform: [{ filter: "datum.failedRuns > 0" }],
    mark: { type: "point" as const, shape: "circle", size: 320, filled: false, strokeWidth: 2.5, color: FAILURE_COLOUR },
    encoding: { x, y },
  };
  const lowSamples = {
    transform: [{ filter: "datum.lowSampleRuns > 0" }],
    mark: { type: "point" as const, shape: "square", size: 200, filled: false, strokeWidth: 2, strokeDash: [3, 2], color: LOW_SAMPLE_COLOUR },
    encoding: { x, y },
  };
  const layer: object[] = [means];
  if (withInterval) layer.push(intervals);
  if (drawn.some((p) => p.failedRuns > 0)) layer.push(failures);
  if (drawn.some((p) => p.lowSampleRuns > 0)) layer.push(lowSamples);
  return {
    width: PLOT_WIDTH_PX,
    height: 260,
    background: "white",
    padding: 8,
    data: {
      values: drawn.map((p) => ({
        ...p,
        x: dodgedCpus(p.cpus, series.indexOf(p.series), series.length, cpuCounts),
        // Every metric is non-negative: an interval reaching below zero (below the axis, on a log axis) is drawn from its bottom.
        loShown: p.lo === null ? null : Math.max(floor, p.lo),
      })),
    },
    config: chartConfig(),
    layer,
  };
}

/** What a chart's caption adds about its points: left out of a log axis, too few operations. */
export function chartNotes(definition: ChartDefinition, points: readonly AggregatePoint[]): string[] {
  const notes: string[] = [];
  const zero = definition.yScale === "log" ? points.filter((p) => !(p.mean > 0)).length : 0;
  if (zero > 0) notes.push(`${zero} point(s) at 0 are not drawn: a log axis has no zero (the table has them).`);
  if (!definition.yZero && definition.yScale === "linear" && points.some((p) => p.lo !== null)) notes.push("The axis fits the means; an interval reaching past its edge is cut there.");
  if (points.some((p) => p.lowSampleRuns > 0)) {
    notes.push(`An amber dashed square marks a point with runs that completed fewer than ${LOW_SAMPLE_OPS} operations after the warm-up: its value is noise.`);
  }
  return notes;
}

/** Everything the report draws, in page order. */
export function reportCharts(runs: readonly RunResult[]): ReportChart[] {
  const series = seriesLabels(runs);
  const cpuCounts = runs.map((r) => r.cpus);
  return chartDefinitions(runs).map((definition) => {
    const points = aggregateRuns(runs, definition.metric);
    return { definition, points, spec: chartSpec(definition, points, series, cpuCounts) };
  });
}

/** The seeds the runs were made with, ascending. */
export function seedsOf(runs: readonly RunResult[]): number[] {
  return [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
}

/**
 * The verdict the page states: the document's own when every run has the document's seed;
 * for runs merged from several seeds, the verdict over all of them (it compares means).
 */
export function reportVerdict(doc: Pick<ResultsDocument, "seed" | "verdict" | "runs">): { verdict: Verdict; overSeeds: number[] } {
  const seeds = seedsOf(doc.runs);
  if (seeds.length <= 1 && (seeds[0] ?? doc.seed) === doc.seed) return { verdict: doc.verdict, overSeeds: seeds };
  return { verdict: verdict(doc.runs, doc.verdict.challengeEvidence ?? []), overSeeds: seeds };
}
