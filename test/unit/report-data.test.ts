import { describe, expect, it } from "vitest";
import type { RunResult } from "../../shared/metrics/result.ts";
import type { ResultsDocument } from "../../coordinator/output.ts";
import { verdict } from "../../coordinator/verdict.ts";
import {
  aggregateRuns,
  byteTicks,
  chartDefinitions,
  chartNotes,
  chartSpec,
  cpuAxisEncoding,
  cpuTicks,
  legendPlacement,
  logTicks,
  valueAxis,
  dodgedCpus,
  reportCharts,
  reportVerdict,
  seriesLabels,
  type ChartId,
} from "../../coordinator/report/report-data.ts";
import { runResult } from "./support/run-result.ts";

const run = runResult;

const throughput = (r: RunResult) => r.throughputOpsPerSec;

type Layer = { mark: { type: string } | string; encoding: Record<string, Record<string, unknown>>; transform?: unknown[] };
type Spec = { layer: Layer[]; data: { values: Array<Record<string, unknown>> } };

describe("seed aggregation", () => {
  it("two seeds of one (scheme, CPUs) give their mean and mean +- t(1) * s / sqrt(2): 100 and 110 -> 105 +- 12.706 * 5 = 105 +- 63.53", () => {
    const points = aggregateRuns(
      [run({ scheme: "nsproxy", cpus: 4, seed: 1, throughputOpsPerSec: 100 }), run({ scheme: "nsproxy", cpus: 4, seed: 2, throughputOpsPerSec: 110 })],
      throughput,
    );
    expect(points).toHaveLength(1);
    const [p] = points;
    expect(p.seeds).toBe(2);
    expect(p.mean).toBe(105);
    // s = sqrt(((100-105)^2 + (110-105)^2) / 1) = sqrt(50); s / sqrt(2) = 5
    expect(p.hi! - p.mean).toBeCloseTo(12.706 * 5, 10);
    expect(p.lo).toBeCloseTo(105 - 63.53, 10);
    expect(p.hi).toBeCloseTo(105 + 63.53, 10);
  });

  it("three seeds use t(2) = 4.303: 1, 2, 3 -> 2 +- 4.303 * 1 / sqrt(3)", () => {
    const runs = [1, 2, 3].map((v, i) => run({ scheme: "percpu", cpus: 2, seed: i + 1, throughputOpsPerSec: v }));
    const [p] = aggregateRuns(runs, throughput);
    expect(p.mean).toBe(2);
    expect(p.hi! - p.mean).toBeCloseTo(4.303 / Math.sqrt(3), 10);
  });

  it("a single seed gives the run's value and no interval", () => {
    const [p] = aggregateRuns([run({ scheme: "container", cpus: 1, throughputOpsPerSec: 42 })], throughput);
    expect(p).toMatchObject({ seeds: 1, mean: 42, lo: null, hi: null });
  });

  it("pools seeds of the same (scheme, CPUs, workload, machine) only, ordered by scheme as refsim presets lists them, then CPUs", () => {
    const runs = [
      run({ scheme: "percpu", cpus: 2, seed: 1, throughputOpsPerSec: 10 }),
      run({ scheme: "clone-flags", cpus: 2, seed: 1, throughputOpsPerSec: 20 }),
      run({ scheme: "clone-flags", cpus: 1, seed: 1, throughputOpsPerSec: 30 }),
      run({ scheme: "clone-flags", cpus: 2, seed: 2, throughputOpsPerSec: 40 }),
      run({ scheme: "percpu", cpus: 2, seed: 2, throughputOpsPerSec: 50 }),
    ];
    const points = aggregateRuns(runs, throughput);
    expect(points.map((p) => [p.scheme, p.cpus, p.seeds, p.mean])).toEqual([
      ["clone-flags", 1, 1, 30],
      ["clone-flags", 2, 2, 30],
      ["percpu", 2, 2, 30],
    ]);
  });

  it("runs without a value are left out: scaling efficiency without a 1-CPU run gives no point", () => {
    const runs = [run({ scheme: "sloppy", cpus: 2, scalingEfficiency: null }), run({ scheme: "sloppy", cpus: 4, seed: 1, scalingEfficiency: 0.5 })];
    const points = aggregateRuns(runs, (r) => r.scalingEfficiency);
    expect(points.map((p) => p.cpus)).toEqual([4]);
  });

  it("counts the runs of a point that broke an invariant", () => {
    const failed = { ok: false, violationCount: 2, violations: [] };
    const runs = [run({ scheme: "sloppy", cpus: 4, seed: 1, invariants: failed }), run({ scheme: "sloppy", cpus: 4, seed: 2 })];
    expect(aggregateRuns(runs, throughput)[0].failedRuns).toBe(1);
  });

  it("names a series by its scheme, and by scheme, workload and machine when the runs mix workloads", () => {
    const one = [run({ scheme: "refcache", cpus: 1 }), run({ scheme: "none", cpus: 1 })];
    expect(seriesLabels(one)).toEqual(["none", "refcache"]);
    const mixed = [run({ scheme: "nsproxy", cpus: 1 }), run({ scheme: "nsproxy", cpus: 1, workload: "migration" })];
    expect(seriesLabels(mixed)).toEqual(["nsproxy (fork-storm, small-4)", "nsproxy (migration, small-4)"]);
    expect(aggregateRuns(mixed, throughput)).toHaveLength(2);
  });
});

describe("chart specs", () => {
  it("the CPU axis is log base 2 with a tick at every CPU count run, from the fewest to the most CPUs", () => {
    const x = cpuAxisEncoding([4, 1, 2, 8, 2]);
    expect(x.scale.type).toBe("log");
    expect(x.scale.base).toBe(2);
    expect(x.scale.domain).toEqual([1, 8]);
    expect(x.axis.values).toEqual([1, 2, 4, 8]);
    expect(x.title).toBe("CPUs (log2 scale)");
  });

  it("a single CPU count widens the log domain to a factor of two either side", () => {
    expect(cpuAxisEncoding([16]).scale.domain).toEqual([8, 32]);
  });

  it("spreads the schemes' points symmetrically around the CPU count: ten pixels either side at most, in scheme order", () => {
    const cpuCounts = [1, 2, 4, 8, 16, 32, 64]; // 6 octaves over 460 px: 76.7 px per octave
    expect(dodgedCpus(4, 0, 1, cpuCounts)).toBe(4);
    const xs = [0, 1, 2, 3, 4, 5, 6].map((i) => dodgedCpus(4, i, 7, cpuCounts));
    expect(xs[3]).toBe(4);
    expect(xs[0] * xs[6]).toBeCloseTo(16, 10);
    expect(Math.log2(xs[6] / 4) * (460 / 6)).toBeCloseTo(10, 10);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
  });

  it("keeps the spread within a quarter octave when many CPU counts crowd the axis", () => {
    const upTo1024 = Array.from({ length: 11 }, (_, k) => 2 ** k); // 46 px per octave: 10 px is 0.217 octave
    expect(Math.log2(dodgedCpus(64, 6, 7, upTo1024) / 64)).toBeCloseTo(10 / (460 / 10), 10);
    const upTo4096 = Array.from({ length: 13 }, (_, k) => 2 ** k); // 38 px per octave: 10 px would be 0.26 octave
    expect(Math.log2(dodgedCpus(64, 6, 7, upTo4096) / 64)).toBeCloseTo(0.25, 10);
  });

  it("draws every chart the report needs: throughput, scaling efficiency, atomics and transfers per op, p99 latency, refcount bytes", () => {
    const runs = [run({ scheme: "nsproxy", cpus: 1 }), run({ scheme: "nsproxy", cpus: 2 })];
    const ids: ChartId[] = chartDefinitions(runs).map((d) => d.id);
    expect(ids).toEqual(["throughput", "scaling-efficiency", "atomics-per-op", "transfers-per-op", "p99-latency", "ref-bytes-per-container"]);
  });

  it("p99 latency follows the table's dominant operation: fork when within 10% of exit, in microseconds", () => {
    const runs = [run({ scheme: "nsproxy", cpus: 1, operations: { fork: 95, exit: 100 } })];
    const p99 = chartDefinitions(runs).find((d) => d.id === "p99-latency")!;
    expect(p99.title).toBe("p99 latency of fork");
    expect(p99.yTitle).toBe("p99 fork latency (µs)");
    expect(p99.metric(runs[0])).toBe(16);
  });

  it("p99 latency of the most frequent operation otherwise, in nanoseconds when it is below a microsecond", () => {
    const runs = [
      run({
        scheme: "container",
        cpus: 1,
        operations: { fork: 10, exit: 10, access: 1000 },
        latency: { fork: { p50Ns: 15_000, p99Ns: 16_000, maxNs: 1 }, access: { p50Ns: 20, p99Ns: 25, maxNs: 30 } },
      }),
    ];
    const p99 = chartDefinitions(runs).find((d) => d.id === "p99-latency")!;
    expect(p99.yTitle).toBe("p99 access latency (ns)");
    expect(p99.metric(runs[0])).toBe(25);
    expect(p99.metric(run({ scheme: "container", cpus: 2, latency: {} }))).toBeNull();
  });

  it("no p99 chart when no operation completed", () => {
    const runs = [run({ scheme: "none", cpus: 1, operations: {} })];
    expect(chartDefinitions(runs).map((d) => d.id)).not.toContain("p99-latency");
  });

  it("colours one series per scheme, with every scheme in the colour domain, and the same domain in every chart", () => {
    const runs = (["percpu", "clone-flags", "nsproxy"] as const).flatMap((scheme) => [1, 2].map((cpus) => run({ scheme, cpus })));
    for (const chart of reportCharts(runs)) {
      const spec = chart.spec as unknown as Spec;
      expect(spec.layer[0].encoding.color.field).toBe("series");
      expect((spec.layer[0].encoding.color.scale as { domain: string[] }).domain).toEqual(["clone-flags", "nsproxy", "percpu"]);
    }
  });

  it("adds error bars from the interval only when some point has two seeds or more, drawn from zero at the lowest", () => {
    const single = [run({ scheme: "nsproxy", cpus: 1 })];
    const def = chartDefinitions(single).find((d) => d.id === "atomics-per-op")!;
    const oneSeed = chartSpec(def, aggregateRuns(single, def.metric), ["nsproxy"], [1]) as unknown as Spec;
    expect(oneSeed.layer).toHaveLength(1);
    // 10 and 100: mean 55, s / sqrt(2) = 45, interval 55 +- 12.706 * 45 = 55 +- 571.77, below zero
    const twoSeeds = [run({ scheme: "nsproxy", cpus: 1, seed: 1, atomicsPerOp: 10 }), run({ scheme: "nsproxy", cpus: 1, seed: 2, atomicsPerOp: 100 })];
    const spec = chartSpec(def, aggregateRuns(twoSeeds, def.metric), ["nsproxy"], [1]) as unknown as Spec;
    expect(spec.layer.map((l) => (typeof l.mark === "string" ? l.mark : l.mark.type))).toEqual(["line", "errorbar"]);
    expect(spec.layer[1].encoding.y.field).toBe("loShown");
    expect(spec.layer[1].encoding.y2.field).toBe("hi");
    const [value] = spec.data.values;
    expect(value.lo as number).toBeCloseTo(55 - 571.77, 10);
    expect(value.loShown).toBe(0);
    expect(value.hi as number).toBeCloseTo(55 + 571.77, 10);
  });

  it("throughput is on a log axis fitted to the values, an interval reaching zero drawn to its bottom, points at zero left out and counted", () => {
    const runs = [
      run({ scheme: "nsproxy", cpus: 1, seed: 1, throughputOpsPerSec: 10 }),
      run({ scheme: "nsproxy", cpus: 1, seed: 2, throughputOpsPerSec: 100 }),
      run({ scheme: "percpu", cpus: 1, throughputOpsPerSec: 2000 }),
      run({ scheme: "sloppy", cpus: 1, throughputOpsPerSec: 0 }),
    ];
    const def = chartDefinitions(runs)[0];
    expect(def.id).toBe("throughput");
    const points = aggregateRuns(runs, def.metric);
    const spec = chartSpec(def, points, ["nsproxy", "percpu", "sloppy"], [1]) as unknown as Spec;
    const scale = spec.layer[0].encoding.y.scale as { type: string; domain: number[]; clamp: boolean };
    expect(scale.type).toBe("log");
    // the lowest positive value is nsproxy's mean 55 (its interval's low end is below zero), the highest its high end 626.77
    expect(scale.domain[0]).toBeCloseTo(55 / 1.25, 10);
    expect(scale.domain[1]).toBeCloseTo(2000 * 1.25, 10);
    expect(spec.data.values.map((v) => v.series)).toEqual(["nsproxy", "percpu"]);
    expect(spec.data.values[0].loShown).toBeCloseTo(55 / 1.25, 10);
    expect(chartNotes(def, points)).toEqual(["1 point(s) at 0 are not drawn: a log axis has no zero (the table has them)."]);
  });

  it("log ticks: 1, 2, 5 per decade; powers of ten over many decades; finer over a narrow range", () => {
    expect(logTicks(40_000, 2_500_000)).toEqual([50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000]);
    expect(logTicks(1, 1e9)).toEqual([1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]);
    expect(logTicks(250_000, 700_000)).toEqual([300_000, 400_000, 500_000, 600_000, 700_000]);
  });

  it("the efficiency axis fits its values instead of starting at zero, and says why it is empty without a 1-CPU run", () => {
    const runs = [run({ scheme: "percpu", cpus: 2, scalingEfficiency: null })];
    const def = chartDefinitions(runs).find((d) => d.id === "scaling-efficiency")!;
    expect(def.yZero).toBe(false);
    const fitted = [run({ scheme: "percpu", cpus: 2, scalingEfficiency: 0.9 }), run({ scheme: "percpu", cpus: 4, scalingEfficiency: 0.7 })];
    const scale = valueAxis(def, aggregateRuns(fitted, def.metric)).scale as { domain: number[]; clamp: boolean; zero: boolean };
    expect(scale.domain[0]).toBeCloseTo(0.7 - 0.2 * 0.15, 10);
    expect(scale.domain[1]).toBeCloseTo(0.9 + 0.2 * 0.15, 10);
    expect(scale).toMatchObject({ clamp: true, zero: false });
    expect(aggregateRuns(runs, def.metric)).toEqual([]);
    expect(def.emptyReason).toContain("no run here has 1 CPU");
  });

  it("CPU counts close together get a linear axis; many CPU counts get a tick at their powers of two and the largest", () => {
    expect(cpuAxisEncoding([48, 64, 80]).scale.type).toBe("linear");
    expect(cpuAxisEncoding([48, 64, 80]).title).toBe("CPUs");
    // ten pixels of a 460-pixel axis over 32 CPUs
    expect(dodgedCpus(64, 0, 3, [48, 64, 80])).toBeCloseTo(64 - (10 * 32) / 460, 10);
    const every = Array.from({ length: 80 }, (_, i) => i + 1);
    expect(cpuTicks(every)).toEqual([1, 2, 4, 8, 16, 32, 64, 80]);
    const steps = Array.from({ length: 30 }, (_, i) => 8 * (i + 1));
    const ticks = cpuTicks(steps);
    expect(ticks.length).toBeLessThanOrEqual(12);
    expect(ticks[ticks.length - 1]).toBe(240);
  });

  it("long legend labels (a sweep's scheme, workload and machine) go under the plot in columns; scheme names beside it", () => {
    expect(legendPlacement(["none", "clone-flags", "percpu"]).orient).toBe("right");
    const long = ["percpu (fork-storm, numa-4096)", "nsproxy (migration, numa-4096)"];
    expect(legendPlacement(long)).toMatchObject({ orient: "bottom", columns: 1 });
    expect(legendPlacement([...long, ...Array.from({ length: 9 }, (_, i) => `s${i}`)])).toMatchObject({ orient: "bottom", columns: 2 });
  });

  it("marks points with runs of too few operations with their own layer, and the caption says what the marker means", () => {
    const runs = [run({ scheme: "percpu", cpus: 1, totalOps: 40 }), run({ scheme: "percpu", cpus: 2, totalOps: 4000 })];
    const chart = reportCharts(runs)[0];
    const spec = chart.spec as unknown as Spec;
    expect(spec.layer.at(-1)!.transform).toEqual([{ filter: "datum.lowSampleRuns > 0" }]);
    expect(chart.points.map((p) => p.lowSampleRuns)).toEqual([1, 0]);
    expect(chartNotes(chart.definition, chart.points).join(" ")).toContain("fewer than 100 operations");
  });

  it("marks points that include a run which broke an invariant with their own layer", () => {
    const runs = [run({ scheme: "sloppy", cpus: 1, invariants: { ok: false, violationCount: 1, violations: [] } })];
    const chart = reportCharts(runs)[0].spec as unknown as Spec;
    expect(chart.layer).toHaveLength(2);
    expect(chart.layer[1].transform).toEqual([{ filter: "datum.failedRuns > 0" }]);
  });

  it("byte ticks: 0 and powers of two from 8 B up to the largest value, at most about nine", () => {
    expect(byteTicks(36)).toEqual([0, 8, 16, 32, 64]);
    expect(byteTicks(0)).toEqual([0, 8]);
    const wide = byteTicks(40_000);
    expect(wide[0]).toBe(0);
    expect(wide[wide.length - 1]).toBeGreaterThanOrEqual(32_768);
    expect(wide.length).toBeLessThanOrEqual(10);
  });
});

describe("verdict on the page", () => {
  const runsOfSeed = (seed: number, nsproxyOps: number) => [
    run({ scheme: "clone-flags", cpus: 4, seed, throughputOpsPerSec: 100 }),
    run({ scheme: "nsproxy", cpus: 4, seed, throughputOpsPerSec: nsproxyOps }),
  ];

  it("is the document's own when every run has its seed", () => {
    const runs = runsOfSeed(1, 150);
    const doc = { seed: 1, runs, verdict: { ...verdict(runs), summary: ["as stored"] } };
    expect(reportVerdict(doc)).toEqual({ verdict: doc.verdict, overSeeds: [1] });
  });

  it("is recomputed over the means of all seeds when runs of several seeds were merged", () => {
    const runs = [...runsOfSeed(1, 150), ...runsOfSeed(2, 250)];
    const doc: Pick<ResultsDocument, "seed" | "verdict" | "runs"> = { seed: 1, runs, verdict: verdict(runs.slice(0, 2)) };
    const shown = reportVerdict(doc);
    expect(shown.overSeeds).toEqual([1, 2]);
    expect(shown.verdict.comparisons.find((c) => c.scheme === "nsproxy")?.throughputRatio).toBe(2);
  });
});
