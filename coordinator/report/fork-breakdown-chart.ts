import { KERNEL_PATH_LOCKS } from "../../shared/kernel-path/setup.ts";
import type { LatencyBreakdown } from "../../shared/metrics/attribution.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { SCHEME_NAMES } from "../../shared/schemes/scheme.ts";
import { forkBreakdownOf } from "../figures.ts";
import { escapeHtml } from "./report-html.ts";
import { chartConfig, type VegaLiteSpec } from "./report-data.ts";

/** One bar segment: a class of a fork's time, for one scheme at one CPU count (mean over seeds). */
export interface ForkBreakdownRow {
  scheme: string;
  cpus: number;
  /** The class, as the legend names it; `order` stacks them (0 at the bottom). */
  part: string;
  order: number;
  /** Share of the forks' latency in this class, and its mean nanoseconds per fork. */
  share: number;
  nsPerFork: number;
  /** Mean fork latency at this scheme and CPU count (ns), and the forks measured over all seeds. */
  forkMeanNs: number;
  forks: number;
  machine: string;
  workload: string;
}

/** The classes drawn, bottom first: the parallel part, the kernel's memory and locks, then the scheme's own. */
function parts(lockNames: readonly string[]): Array<{ label: string; share: (b: LatencyBreakdown) => number }> {
  return [
    { label: "parallel compute", share: (b) => b.parallelCompute },
    { label: "kernel memory outside locks", share: (b) => b.kernelMemory },
    { label: "in locked sections", share: (b) => b.lockedSections },
    ...lockNames.map((name) => ({ label: `waiting for ${name}`, share: (b: LatencyBreakdown) => b.lockWaitByLock[name] ?? 0 })),
    { label: "namespace references (scheme)", share: (b) => b.namespaceRefs },
    { label: "interrupted by kernel work", share: (b) => b.interrupted },
  ];
}

/** The locks of the runs' breakdowns, in the kernel path's order, then any other name. */
function lockNamesOf(runs: readonly RunResult[]): string[] {
  const seen = new Set<string>();
  for (const r of runs) for (const name of Object.keys(forkBreakdownOf(r)?.lockWaitByLock ?? {})) seen.add(name);
  const known = KERNEL_PATH_LOCKS.map(([name]) => name).filter((n) => seen.has(n));
  return [...known, ...[...seen].filter((n) => !known.includes(n)).sort()];
}

/**
 * Where a fork's time goes, per scheme and CPU count: the breakdown of the measured forks'
 * latency (kernelPath.latencyBreakdown.fork), the mean over seeds; one row per class. Empty when
 * no run has a kernel path with forks (`kernel: refcounts-only`, a workload without forks).
 */
export function forkBreakdownRows(runs: readonly RunResult[]): ForkBreakdownRow[] {
  const withForks = runs.filter((r) => forkBreakdownOf(r) !== undefined);
  const classes = parts(lockNamesOf(withForks));
  const groups = new Map<string, RunResult[]>();
  for (const r of withForks) {
    const key = JSON.stringify([r.machine, r.workload, r.scheme, r.cpus]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows: ForkBreakdownRow[] = [];
  for (const g of groups.values()) {
    const breakdowns = g.map((r) => forkBreakdownOf(r) as LatencyBreakdown);
    const mean = (f: (b: LatencyBreakdown) => number) => breakdowns.reduce((s, b) => s + f(b), 0) / breakdowns.length;
    const forkMeanNs = mean((b) => b.meanNs);
    const forks = breakdowns.reduce((s, b) => s + b.operations, 0);
    classes.forEach((c, order) => {
      const share = mean(c.share);
      rows.push({ scheme: g[0].scheme, cpus: g[0].cpus, part: c.label, order, share, nsPerFork: mean((b) => c.share(b) * b.meanNs), forkMeanNs, forks, machine: g[0].machine, workload: g[0].workload });
    });
  }
  const schemeIndex = (s: string) => (SCHEME_NAMES as readonly string[]).indexOf(s);
  return rows.sort((a, b) => a.machine.localeCompare(b.machine) || a.workload.localeCompare(b.workload) || schemeIndex(a.scheme) - schemeIndex(b.scheme) || a.cpus - b.cpus || a.order - b.order);
}

/** Colours by class: greys for the parallel part, blues and oranges for the kernel's, red for the scheme's own. */
const PART_COLOURS: Record<string, string> = {
  "parallel compute": "#c7c7c7",
  "kernel memory outside locks": "#9ecae1",
  "in locked sections": "#4292c6",
  "namespace references (scheme)": "#d62728",
  "interrupted by kernel work": "#8c6d31",
};
const WAIT_COLOURS = ["#fd8d3c", "#e6550d", "#fdae6b", "#a63603", "#fdd0a2", "#7f2704"];

/**
 * A vega-lite spec: a stacked bar per CPU count (the share of fork latency in each class, 100%
 * at the top, the mean fork latency written above it), a panel per scheme, and a row of panels
 * per machine and workload when the runs mix several.
 */
export function forkBreakdownSpec(rows: readonly ForkBreakdownRow[]): VegaLiteSpec {
  const partsInOrder = [...new Map(rows.map((r) => [r.order, r.part])).entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
  let wait = 0;
  const range = partsInOrder.map((p) => PART_COLOURS[p] ?? WAIT_COLOURS[wait++ % WAIT_COLOURS.length]);
  const mixed = new Set(rows.map((r) => `${r.machine}\u0000${r.workload}`)).size > 1;
  const cpuCounts = new Set(rows.map((r) => r.cpus)).size;
  const x = { field: "cpus", type: "ordinal" as const, title: "CPUs", sort: "ascending" as const, axis: { labelAngle: 0 } };
  const bars = {
    mark: { type: "bar" as const },
    encoding: {
      x,
      y: { field: "share", type: "quantitative" as const, title: "share of fork latency", stack: "zero", scale: { domain: [0, 1] }, axis: { format: ".0%" } },
      color: { field: "part", type: "nominal" as const, title: "class of time", scale: { domain: partsInOrder, range }, legend: { orient: "bottom" as const, columns: 3, titleLimit: 300 } },
      order: { field: "order", type: "quantitative" as const },
    },
  };
  const totals = {
    transform: [{ filter: "datum.order === 0" }, { calculate: "datum.forkMeanNs >= 1000 ? format(datum.forkMeanNs / 1000, '.3~r') + 'µs' : format(datum.forkMeanNs, '.3~r') + 'ns'", as: "meanLabel" }],
    mark: { type: "text" as const, dy: -6, fontSize: 9, angle: 0 },
    encoding: { x, y: { datum: 1, type: "quantitative" as const }, text: { field: "meanLabel", type: "nominal" as const } },
  };
  return {
    background: "white",
    padding: 8,
    data: { values: rows.map((r) => ({ ...r, context: `${r.machine}, ${r.workload}` })) },
    facet: {
      column: { field: "scheme", type: "nominal" as const, title: null, sort: SCHEME_NAMES.filter((s) => rows.some((r) => r.scheme === s)) },
      ...(mixed ? { row: { field: "context", type: "nominal" as const, title: null } } : {}),
    },
    spec: { width: Math.max(90, 26 * cpuCounts), height: 220, layer: [bars, totals] },
    resolve: { scale: { x: "independent" } },
    config: chartConfig({ legend: { labelFontSize: 11 } }),
  };
}

/** The report's figure for the chart (nothing when there is no fork breakdown). */
export function forkBreakdownFigure(rows: readonly ForkBreakdownRow[], svg: string | null): string {
  if (rows.length === 0 || svg === null) return "";
  const labelled = svg.replace(/^<svg /, `<svg role="img" aria-label="${escapeHtml("Where a fork's time goes: a stacked bar per CPU count, a panel per scheme")}" `);
  return `<section id="fork-breakdown">
<h2>Where a fork's time goes</h2>
<figure class="chart" id="chart-fork-breakdown" data-chart="fork-breakdown">
<figcaption><strong>Share of fork latency by class, per scheme and CPU count</strong>${escapeHtml(
    "Each bar is the summed latency of the forks measured after the warm-up (the mean over seeds), split by where it went: the scheme's own namespace reference counting (red), waiting for each kernel lock (oranges), holding a lock, the kernel's other shared memory, the parallel part of the fixed cost, and time interrupted by kernel work. The figure above a bar is the mean fork latency. Under kernel: linux-6 only (refcounts-only has no kernel path).",
  )}</figcaption>
${labelled}
</figure>
</section>`;
}
