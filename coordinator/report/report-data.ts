import type { RunResult } from "../../shared/metrics/result.ts";
import { confidenceInterval95 } from "../../shared/metrics/stats.ts";
import { SCHEME_NAMES, type SchemeName } from "../../shared/schemes/scheme.ts";
import type { OpKindName } from "../../shared/kernel/program.ts";
import { dominantOp } from "../table.ts";
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
   * `linear` with labels in the d3-format `yFormat`; or `bytes`: a symmetric log scale (zero
   * stays drawable while values span decades) with ticks at powers of two labelled B/KiB/MiB.
   */
  yScale: "linear" | "bytes";
  yFormat: string;
  /** Whether the y axis starts at zero. */
  yZero: boolean;
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
  const groups = new Map<string, { first: RunResult; values: number[]; failedRuns: number }>();
  for (const r of runs) {
    const value = metric(r);
    if (value === null || !Number.isFinite(value)) continue;
    const key = JSON.stringify([r.scheme, r.cpus, r.workload, r.machine]);
    const failed = r.invariants.ok ? 0 : 1;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { first: r, values: [value], failedRuns: failed });
    else {
      group.values.push(value);
      group.failedRuns += failed;
    }
  }
  const points = [...groups.values()].map(({ first, values, failedRuns }): AggregatePoint => {
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

/** The log2 domain of the CPU axis: the CPU counts run, widened to a factor of two either side if there is only one. */
function cpuDomain(cpuCounts: readonly number[]): [number, number] {
  const lowest = cpuCounts.reduce((m, c) => Math.min(m, c), Infinity);
  const highest = cpuCounts.reduce((m, c) => Math.max(m, c), 0);
  if (!Number.isFinite(lowest)) return [0.5, 2];
  return lowest === highest ? [lowest / 2, highest * 2] : [lowest, highest];
}

/**
 * Where a series' point for `cpus` is drawn: spread a few pixels sideways, in scheme order, so
 * that schemes with equal values (and their error bars) stay visible. The spread is at most
 * ten pixels either side and at most a quarter of the gap between two powers of two.
 */
export function dodgedCpus(cpus: number, seriesIndex: number, seriesCount: number, cpuCounts: readonly number[]): number {
  if (seriesCount <= 1) return cpus;
  const [lowest, highest] = cpuDomain(cpuCounts);
  const pxPerOctave = PLOT_WIDTH_PX / Math.log2(highest / lowest);
  const halfSpreadOctaves = Math.min(DODGE_HALF_SPREAD_PX / pxPerOctave, 0.25);
  const step = (2 * halfSpreadOctaves) / (seriesCount - 1);
  return cpus * 2 ** ((seriesIndex - (seriesCount - 1) / 2) * step);
}

/** The x encoding every chart shares: CPUs on a log2 axis with a tick at each CPU count that was run. */
export function cpuAxisEncoding(cpuCounts: readonly number[]) {
  const ticks = [...new Set(cpuCounts)].sort((a, b) => a - b);
  const domain = cpuDomain(ticks);
  return {
    field: "x",
    type: "quantitative" as const,
    title: "CPUs (log2 scale)",
    scale: { type: "log" as const, base: 2, domain, nice: false, padding: 14 },
    axis: { values: ticks, format: "d", grid: true, labelFlush: false },
  };
}

/** The charts every report draws; p99 latency follows the operation the terminal table shows. */
export function chartDefinitions(runs: readonly RunResult[]): ChartDefinition[] {
  const op: OpKindName | null = dominantOp(runs);
  const definitions: ChartDefinition[] = [
    {
      id: "throughput",
      title: "Throughput",
      caption: "Kernel operations completed per simulated second after the warm-up.",
      yTitle: "throughput (operations/s)",
      yFormat: "~s",
      yScale: "linear",
      yZero: true,
      metric: (r) => r.throughputOpsPerSec,
    },
    {
      id: "scaling-efficiency",
      title: "Scaling efficiency",
      caption: "Throughput / (CPUs x the same scheme's one-CPU throughput); 100% is perfect scaling.",
      yTitle: "scaling efficiency (%)",
      yFormat: ".0%",
      yScale: "linear",
      yZero: true,
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
 * A vega-lite spec: the means as lines with points, a colour per series, and the 95% interval
 * as error bars wherever a point has two seeds or more.
 */
export function chartSpec(definition: ChartDefinition, points: readonly AggregatePoint[], series: readonly string[], cpuCounts: readonly number[]): VegaLiteSpec {
  const x = cpuAxisEncoding(cpuCounts);
  const highest = points.reduce((m, p) => Math.max(m, p.hi ?? p.mean), 0);
  const y = {
    field: "mean",
    type: "quantitative" as const,
    title: definition.yTitle,
    ...(definition.yScale === "bytes"
      ? { scale: { type: "symlog", constant: 8, zero: true }, axis: { values: byteTicks(highest), labelExpr: BYTE_LABEL } }
      : { scale: { zero: definition.yZero }, axis: { labelExpr: `format(datum.value, '${definition.yFormat}')` } }),
  };
  const color = {
    field: "series",
    type: "nominal" as const,
    title: "scheme",
    scale: { domain: [...series], scheme: "tableau10" },
    legend: { orient: "right" as const },
  };
  const means = {
    mark: { type: "line" as const, point: { filled: true, size: 40 }, strokeWidth: 2 },
    encoding: { x, y, color },
  };
  const withInterval = points.some((p) => p.lo !== null);
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
  const layer: object[] = [means];
  if (withInterval) layer.push(intervals);
  if (points.some((p) => p.failedRuns > 0)) layer.push(failures);
  return {
    width: PLOT_WIDTH_PX,
    height: 260,
    background: "white",
    padding: 8,
    data: {
      values: points.map((p) => ({
        ...p,
        x: dodgedCpus(p.cpus, series.indexOf(p.series), series.length, cpuCounts),
        // Every metric is non-negative: an interval reaching below zero is drawn from zero.
        loShown: p.lo === null ? null : Math.max(0, p.lo),
      })),
    },
    config: { font: "sans-serif", axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 320 } },
    layer,
  };
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
