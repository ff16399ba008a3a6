import { describe, expect, it } from "vitest";
import { verdict } from "../../coordinator/verdict.ts";
import {
  aggregateRuns,
  byteTicks,
  chartConfig,
  chartDefinitions,
  chartNotes,
  chartSpec,
  cpuAxisEncoding,
  cpuTicks,
  dodgedCpus,
  legendPlacement,
  logTicks,
  reportCharts,
  reportVerdict,
  seedsOf,
  seriesLabels,
  valueAxis,
} from "../../coordinator/report/report-data.ts";
import { runResult as run } from "./support/run-result.ts";

// The report's chart data, whole: every definition's words, one chart's complete vega-lite
// spec, the axes' ticks in each of their branches, written out by hand.

const fail = { ok: false, violationCount: 1, violations: [] };

describe("the charts' definitions", () => {
  it("says what each chart shows, on which scale and format", () => {
    const runs = [run({ scheme: "nsproxy", cpus: 1 })];
    const defs = chartDefinitions(runs).map(({ metric: _, ...d }) => d);
    expect(defs).toEqual([
      {
        id: "throughput",
        title: "Throughput",
        caption: "Kernel operations completed per simulated second after the warm-up, on a log scale: a scheme 20x faster sits a fixed distance above, whatever the CPU count.",
        yTitle: "throughput (operations/s, log scale)",
        yFormat: "~s",
        yScale: "log",
        yZero: false,
      },
      {
        id: "scaling-efficiency",
        title: "Scaling efficiency",
        caption: "Throughput / (CPUs x the same scheme's one-CPU throughput); 100% is perfect scaling. The axis fits the values measured.",
        yTitle: "scaling efficiency (%)",
        yFormat: ".0%",
        yScale: "linear",
        yZero: false,
        emptyReason:
          "No chart: scaling efficiency compares each run with the same scheme's run at 1 CPU, and no run here has 1 CPU. Add 1 to the CPU counts (e.g. --cpus 1,64,512) to see it.",
      },
      { id: "atomics-per-op", title: "Atomics per operation", caption: "LOCK-prefixed read-modify-writes per kernel operation, hits included.", yTitle: "atomic RMWs per operation", yFormat: "~g", yScale: "linear", yZero: true },
      {
        id: "transfers-per-op",
        title: "Cache-line transfers per operation",
        caption: "Cache-to-cache line transfers (any distance) per kernel operation.",
        yTitle: "line transfers per operation",
        yFormat: "~g",
        yScale: "linear",
        yZero: true,
      },
      {
        id: "p99-latency",
        title: "p99 latency of fork",
        caption: "99th percentile latency of fork, the most frequent operation over all runs (fork when forks come within 10% of it, as the table's p99 column chooses).",
        yTitle: "p99 fork latency (µs)",
        yFormat: "~g",
        yScale: "linear",
        yZero: false,
      },
      {
        id: "ref-bytes-per-container",
        title: "Reference-count bytes per container",
        caption: "Reference-count and bundle bytes of one container's objects (log scale with 0 at the bottom); per-CPU counters grow with the CPU count.",
        yTitle: "bytes per container (log scale)",
        yFormat: "",
        yScale: "bytes",
        yZero: true,
      },
    ]);
    const r = run({ scheme: "nsproxy", cpus: 2, throughputOpsPerSec: 7, scalingEfficiency: 0.5, atomicsPerOp: 3, transfersPerOp: 4, memory: { ...runs[0].memory, refBytesPerContainer: 96 } });
    expect(chartDefinitions(runs).map((d) => d.metric(r))).toEqual([7, 0.5, 3, 4, 16, 96]);
  });

  it("draws p99 in microseconds from exactly 1000 ns, the slowest run over all deciding", () => {
    const at = (p99Ns: number) => run({ scheme: "none", cpus: 1, operations: { access: 10 }, latency: { access: { p50Ns: 1, p99Ns, maxNs: p99Ns } } });
    const unit = (runs: ReturnType<typeof at>[]) => chartDefinitions(runs).find((d) => d.id === "p99-latency")!.yTitle;
    expect(unit([at(999)])).toBe("p99 access latency (ns)");
    expect(unit([at(1000)])).toBe("p99 access latency (µs)");
    expect(unit([at(10), at(2000), at(20)])).toBe("p99 access latency (µs)");
  });
});

describe("one chart's whole spec", () => {
  it("atomics per op: nsproxy at 1 CPU over two seeds, percpu at 2 CPUs with a failed, low-sample run; a linear CPU axis (2 / 1 < 4)", () => {
    const runs = [
      run({ scheme: "percpu", cpus: 2, atomicsPerOp: 4, totalOps: 40, invariants: fail }),
      run({ scheme: "nsproxy", cpus: 1, seed: 1, atomicsPerOp: 10 }),
      run({ scheme: "nsproxy", cpus: 1, seed: 2, atomicsPerOp: 20 }),
    ];
    const def = chartDefinitions(runs).find((d) => d.id === "atomics-per-op")!;
    const points = aggregateRuns(runs, def.metric);
    const series = seriesLabels(runs);
    expect(series).toEqual(["nsproxy", "percpu"]);
    // Mean 15, s = sqrt(50), half-width t(1) x s / sqrt(2) = 12.706 x 5 = 63.53.
    const x = {
      field: "x",
      type: "quantitative",
      title: "CPUs",
      scale: { type: "linear", domain: [1, 2], nice: false, zero: false, padding: 14 },
      axis: { values: [1, 2], format: "d", grid: true, labelFlush: false, labelOverlap: "greedy" },
    };
    const y = { field: "mean", type: "quantitative", title: "atomic RMWs per operation", scale: { zero: true }, axis: { labelExpr: "format(datum.value, '~g')", labelOverlap: "greedy" } };
    const color = { field: "series", type: "nominal", title: "scheme", scale: { domain: ["nsproxy", "percpu"], scheme: "tableau10" }, legend: { orient: "right", labelLimit: 0 } };
    // Two series on a linear axis from 1 to 2: half a spread of 10 px x 1 CPU / 460 px (under a quarter of the gap, 1), each side.
    const spread = 10 / 460;
    const common = { workload: "fork-storm", machine: "small-4" };
    expect(chartSpec(def, points, series, runs.map((r) => r.cpus))).toEqual({
      width: 460,
      height: 260,
      background: "white",
      padding: 8,
      data: {
        values: [
          { series: "nsproxy", scheme: "nsproxy", cpus: 1, ...common, seeds: 2, failedRuns: 0, lowSampleRuns: 0, mean: 15, lo: expect.closeTo(15 - 63.53, 9), hi: expect.closeTo(15 + 63.53, 9), x: 1 - spread, loShown: 0 },
          { series: "percpu", scheme: "percpu", cpus: 2, ...common, seeds: 1, failedRuns: 1, lowSampleRuns: 1, mean: 4, lo: null, hi: null, x: 2 + spread, loShown: null },
        ],
      },
      config: chartConfig(),
      layer: [
        { mark: { type: "line", point: { filled: true, size: 40 }, strokeWidth: 2 }, encoding: { x, y, color } },
        {
          transform: [{ filter: "datum.lo !== null" }],
          mark: { type: "errorbar", ticks: { size: 8 }, thickness: 1.5 },
          encoding: { x, y: { field: "loShown", type: "quantitative", title: "atomic RMWs per operation" }, y2: { field: "hi" }, color },
        },
        { transform: [{ filter: "datum.failedRuns > 0" }], mark: { type: "point", shape: "circle", size: 320, filled: false, strokeWidth: 2.5, color: "#b00020" }, encoding: { x, y } },
        {
          transform: [{ filter: "datum.lowSampleRuns > 0" }],
          mark: { type: "point", shape: "square", size: 200, filled: false, strokeWidth: 2, strokeDash: [3, 2], color: "#d97706" },
          encoding: { x, y },
        },
      ],
    });
    expect(chartConfig()).toEqual({
      font: "sans-serif",
      axis: { labelFontSize: 11, titleFontSize: 12, titleLimit: 0, labelLimit: 0 },
      legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 0, titleLimit: 0 },
      header: { labelFontSize: 12, labelLimit: 0 },
    });
    expect(chartConfig({ legend: { labelFontSize: 11 }, background: "white" })).toMatchObject({
      font: "sans-serif",
      background: "white",
      legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 0, titleLimit: 0 },
    });
  });

  it("counts a point's failed and low-sample seeds, leaves out values that are not numbers, orders series by name within a scheme", () => {
    const runs = [
      run({ scheme: "sloppy", cpus: 2, seed: 1, totalOps: 10, invariants: fail }),
      run({ scheme: "sloppy", cpus: 2, seed: 2, totalOps: 99, invariants: fail }),
      run({ scheme: "sloppy", cpus: 2, seed: 3, totalOps: 100 }),
    ];
    expect(aggregateRuns(runs, (r) => r.totalOps)).toMatchObject([{ seeds: 3, failedRuns: 2, lowSampleRuns: 2 }]);
    expect(aggregateRuns(runs, (r) => (r.seed === 2 ? NaN : r.seed === 3 ? Infinity : 1))).toMatchObject([{ seeds: 1, mean: 1 }]);
    // none before clone-flags, as refsim presets lists them (not alphabetically).
    expect(seriesLabels([run({ scheme: "clone-flags", cpus: 1 }), run({ scheme: "none", cpus: 1 })])).toEqual(["none", "clone-flags"]);
    const mixed = [run({ scheme: "nsproxy", cpus: 2, workload: "migration" }), run({ scheme: "nsproxy", cpus: 1 }), run({ scheme: "nsproxy", cpus: 2 })];
    expect(seriesLabels(mixed)).toEqual(["nsproxy (fork-storm, small-4)", "nsproxy (migration, small-4)"]);
    expect(aggregateRuns(mixed, (r) => r.cpus).map((p) => [p.series, p.cpus])).toEqual([
      ["nsproxy (fork-storm, small-4)", 1],
      ["nsproxy (fork-storm, small-4)", 2],
      ["nsproxy (migration, small-4)", 2],
    ]);
  });
});

describe("axes", () => {
  it("the log CPU axis in full, and a single count widened", () => {
    expect(cpuAxisEncoding([1, 4])).toEqual({
      field: "x",
      type: "quantitative",
      title: "CPUs (log2 scale)",
      scale: { type: "log", base: 2, domain: [1, 4], nice: false, padding: 14 },
      axis: { values: [1, 4], format: "d", grid: true, labelFlush: false, labelOverlap: "greedy" },
    });
    // A single count: a log axis (max / min is 1, under 4, but there is nothing to crowd), widened to a factor of two.
    expect(cpuAxisEncoding([3])).toMatchObject({ title: "CPUs (log2 scale)", scale: { type: "log", domain: [1.5, 6] } });
  });

  it("CPU ticks: every k-th on a linear axis and the largest, a tick too close to the largest giving way; a log axis without powers of two", () => {
    const from = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
    // 40..80: 41 counts (80 / 40 < 4: linear), every ceil(41 / 11) = 4th: 40, 44, ..., 80, which ends on the largest.
    expect(cpuTicks(from(40, 80))).toEqual(from(0, 10).map((i) => 40 + 4 * i));
    // 40..81: 42 counts, every 4th: 40, 44, ..., 80; 81 - 80 = 1 is under half a step, (81 - 40) / 24 = 1.71: 80 gives way to 81.
    expect(cpuTicks(from(40, 81))).toEqual([...from(0, 9).map((i) => 40 + 4 * i), 81]);
    // 40..83: 44 counts, every 4th to 80; 83 - 80 = 3 is not under 43 / 24 = 1.79: both stay.
    expect(cpuTicks(from(40, 83))).toEqual([...from(0, 10).map((i) => 40 + 4 * i), 83]);
    // 1..70 (log): the powers 1..64, and 70 too close to 64 (log2(70 / 64) = 0.13 < log2(70) / 24 = 0.26).
    expect(cpuTicks(from(1, 70))).toEqual([1, 2, 4, 8, 16, 32, 70]);
    // 13 counts from 3 to 18 (log: 18 / 3 >= 4) with no power of two: every ceil(13 / 11) = 2nd count.
    expect(cpuTicks([3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 17, 18])).toEqual([3, 6, 9, 11, 13, 15, 18]);
    // Exactly twelve counts are all ticks.
    expect(cpuTicks(from(41, 52))).toEqual(from(41, 52));
  });

  it("CPU ticks at their exact thresholds: three powers of two, a step of exactly 11 or 12 powers, a tick exactly half a step from the largest", () => {
    const from = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
    const pow = (...es: number[]) => es.map((e) => 2 ** e);
    // 2..14: 13 counts (14 / 2 >= 4: log), whose powers of two are 2, 4, 8: three are enough (not under 3). 14 is not
    // too close to 8 (log2(14 / 8) = 0.81, not under log2(14 / 2) / 24 = 0.12).
    expect(cpuTicks(from(2, 14))).toEqual([2, 4, 8, 14]);
    // 1, 3 and the powers 4..2048: 13 counts, 12 powers, every ceil(12 / 11) = 2nd: 1, 4, 16, 64, 256, 1024; then 2048
    // (log2(2048 / 1024) = 1 is not under log2(2048) / 24 = 0.46).
    expect(cpuTicks([...pow(0, 1), 3, ...pow(2, 3, 4, 5, 6, 7, 8, 9, 10, 11)])).toEqual(pow(0, 2, 4, 6, 8, 10, 11));
    // 3, 5 and the powers 1..1024: 13 counts, 11 powers, every ceil(11 / 11) = 1st: all of them, ending on the largest.
    expect(cpuTicks([...pow(0, 1), 3, ...pow(2), 5, ...pow(3, 4, 5, 6, 7, 8, 9, 10)])).toEqual(pow(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
    // Log: 3 and twelve powers 2^0, 2^2, ..., 2^18, 2^23, 2^24: every 2nd power, to 2^23. log2(2^24 / 2^23) = 1 is
    // exactly log2(2^24 / 1) / 24 = 1, not under it: 2^23 stays.
    expect(cpuTicks([1, 3, ...pow(2, 4, 6, 8, 10, 12, 14, 16, 18, 23, 24)])).toEqual(pow(0, 4, 8, 12, 16, 23, 24));
    // Linear (124 / 100 < 4): 100, 101, 102, 104, ..., 120, 123, 124: 14 counts, every ceil(14 / 11) = 2nd: 100, 102,
    // 106, ..., 118, 123. 124 - 123 = 1 is exactly (124 - 100) / 24 = 1, not under it: 123 stays.
    const linear = [100, 101, ...from(51, 60).map((i) => 2 * i), 123, 124];
    expect(linear).toHaveLength(14);
    expect(cpuTicks(linear)).toEqual([100, 102, 106, 110, 114, 118, 123, 124]);
  });

  it("log ticks at their exact thresholds: ten of 1, 2, 5 stay; three are enough; two fine ones are enough", () => {
    // 1 to 1000: 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000 (ten, not more than ten).
    expect(logTicks(1, 1000)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
    // 1 to 5: 1, 2, 5 (three).
    expect(logTicks(1, 5)).toEqual([1, 2, 5]);
    // 2.9 to 4.1: none of 1, 2, 5; of 1..9 the two 3 and 4, not the ends.
    expect(logTicks(2.9, 4.1)).toEqual([3, 4]);
  });

  it("CPU ticks: the linear step of 13 counts, a power that stays by the largest where the lowest count is not 1; no counts at all", () => {
    const from = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
    // 41..53: 13 counts (53 / 41 < 4: linear), every ceil(13 / 11) = 2nd: 41, 43, ..., 53, ending on the largest.
    expect(cpuTicks(from(41, 53))).toEqual([41, 43, 45, 47, 49, 51, 53]);
    // 16..300 (log): the powers 16..256, then 300: log2(300 / 256) = 0.229 is not under log2(300 / 16) / 24 = 0.176.
    expect(cpuTicks(from(16, 300))).toEqual([16, 32, 64, 128, 256, 300]);
    // No CPU count (no run): a log axis from 0.5 to 2.
    expect(cpuAxisEncoding([]).scale).toMatchObject({ type: "log", domain: [0.5, 2] });
  });

  it("dodges on a log axis by octaves of the domain's span, whatever its lowest count", () => {
    // 2 and 8: a span of log2(8 / 2) = 2 octaves over 460 px, 230 px an octave; 10 px is 1/23 octave, under a
    // quarter. The first of two series is moved half the spread down: 8 x 2^(-1/23).
    expect(dodgedCpus(8, 0, 2, [2, 8])).toBeCloseTo(8 * 2 ** (-1 / 23), 12);
    expect(dodgedCpus(8, 1, 2, [2, 8])).toBeCloseTo(8 * 2 ** (1 / 23), 12);
  });

  it("dodges within a quarter of the gap between neighbouring counts on a linear axis", () => {
    // 10, 11, 39: 10 px would be 10 x 29 / 460 = 0.63 CPU, over a quarter of the gap of 1.
    expect(dodgedCpus(11, 0, 2, [10, 11, 39])).toBe(10.75);
    expect(dodgedCpus(11, 1, 2, [10, 11, 39])).toBe(11.25);
    expect(dodgedCpus(11, 1, 3, [10, 11, 39])).toBe(11);
  });

  it("byte ticks step by powers of four past nine ticks; log ticks fall back to the ends over a narrow range", () => {
    // 40000 B: up to 2^16; (16 - 3 + 1) / 8 rounds up to a step of 2: 8, 32, ..., 32768.
    expect(byteTicks(40_000)).toEqual([0, 8, 32, 128, 512, 2048, 8192, 32768]);
    expect(byteTicks(1024)).toEqual([0, 8, 16, 32, 64, 128, 256, 512, 1024]);
    expect(logTicks(2.5, 4.5)).toEqual([3, 4]);
    expect(logTicks(250, 350)).toEqual([250, 350]);
    expect(logTicks(1.14, 1.96)).toEqual([1.1, 2]);
  });

  it("a value axis: bytes on a symlog scale, log with no positive value, linear fitted around equal means", () => {
    const defs = chartDefinitions([run({ scheme: "none", cpus: 1 })]);
    const def = (id: string) => defs.find((d) => d.id === id)!;
    const point = (mean: number, lo: number | null = null, hi: number | null = null) => ({ series: "none", scheme: "none" as const, cpus: 1, workload: "w", machine: "m", seeds: 1, failedRuns: 0, lowSampleRuns: 0, mean, lo, hi });
    expect(valueAxis(def("ref-bytes-per-container"), [point(36), point(20, 10, 100)])).toEqual({
      scale: { type: "symlog", constant: 8, zero: true },
      axis: {
        values: [0, 8, 16, 32, 64, 128],
        labelExpr: "datum.value >= 1048576 ? format(datum.value / 1048576, '~g') + ' MiB' : datum.value >= 1024 ? format(datum.value / 1024, '~g') + ' KiB' : datum.value + ' B'",
      },
      floor: 0,
    });
    expect(valueAxis(def("throughput"), [point(0)])).toEqual({ scale: { type: "log" }, axis: { labelExpr: "format(datum.value, '~s')", labelOverlap: "greedy" }, floor: 1 });
    const log = valueAxis(def("throughput"), [point(100, -5, 200)]);
    expect(log.scale).toEqual({ type: "log", domain: [80, 250], clamp: true, nice: false });
    // From 100 / 1.25 = 80 to 200 x 1.25 = 250: 1, 2, 5 give only 100 and 200, so 1 to 9 times the powers of ten.
    expect(log.axis).toEqual({ labelExpr: "format(datum.value, '~s')", labelOverlap: "greedy", values: [80, 90, 100, 200] });
    expect(log.floor).toBe(80);
    const eff = def("scaling-efficiency");
    // Equal means 0.5: a span of a tenth of the value, 0.05; all 0: a span of 1.
    const equal = valueAxis(eff, [point(0.5), point(0.5)]).scale as { domain: number[] };
    expect(equal.domain[0]).toBeCloseTo(0.5 - 0.0075, 12);
    expect(equal.domain[1]).toBeCloseTo(0.5 + 0.0075, 12);
    expect(valueAxis(eff, [point(0)]).scale).toEqual({ domain: [0, 0.15], nice: false, clamp: true, zero: false });
    expect(valueAxis(eff, []).scale).toEqual({ zero: true });
  });

  it("says the fitted axis cuts intervals only on a linear axis not from zero, with an interval", () => {
    const two = [run({ scheme: "none", cpus: 2, seed: 1, scalingEfficiency: 0.5 }), run({ scheme: "none", cpus: 2, seed: 2, scalingEfficiency: 0.6 })];
    const defs = chartDefinitions(two);
    const eff = defs.find((d) => d.id === "scaling-efficiency")!;
    expect(chartNotes(eff, aggregateRuns(two, eff.metric))).toEqual(["The axis fits the means; an interval reaching past its edge is cut there."]);
    expect(chartNotes(eff, aggregateRuns(two.slice(0, 1), eff.metric))).toEqual([]);
    const atomics = defs.find((d) => d.id === "atomics-per-op")!;
    expect(chartNotes(atomics, aggregateRuns(two, atomics.metric))).toEqual([]);
    const throughput = defs.find((d) => d.id === "throughput")!;
    expect(chartNotes(throughput, aggregateRuns(two, throughput.metric))).toEqual([]);
    const low = [run({ scheme: "none", cpus: 2, totalOps: 5 })];
    expect(chartNotes(atomics, aggregateRuns(low, atomics.metric))).toEqual([
      "An amber dashed square marks a point with runs that completed fewer than 100 operations after the warm-up: its value is noise.",
    ]);
  });

  it("puts a legend of labels up to 22 characters beside the plot, longer under it, two columns past ten series", () => {
    const of = (n: number) => "x".repeat(n);
    expect(legendPlacement([of(22)])).toEqual({ orient: "right", labelLimit: 0 });
    expect(legendPlacement([of(23)])).toEqual({ orient: "bottom", columns: 1, labelLimit: 0 });
    expect(legendPlacement([of(23), ...Array.from({ length: 9 }, () => "s")])).toEqual({ orient: "bottom", columns: 1, labelLimit: 0 });
    expect(legendPlacement([of(23), ...Array.from({ length: 10 }, () => "s")])).toEqual({ orient: "bottom", columns: 2, labelLimit: 0 });
  });
});

describe("the page's seeds and verdict", () => {
  it("lists the seeds in numeric order, and recomputes the verdict when the one seed is not the document's", () => {
    expect(seedsOf([10, 9, 10, 1].map((seed) => run({ scheme: "none", cpus: 1, seed })))).toEqual([1, 9, 10]);
    const runs = [run({ scheme: "clone-flags", cpus: 4, seed: 2, throughputOpsPerSec: 100 }), run({ scheme: "nsproxy", cpus: 4, seed: 2, throughputOpsPerSec: 300 })];
    const stored = { ...verdict(runs), summary: ["as stored"] };
    const shown = reportVerdict({ seed: 1, runs, verdict: stored });
    expect(shown.overSeeds).toEqual([2]);
    expect(shown.verdict.summary).not.toEqual(["as stored"]);
    expect(shown.verdict.comparisons.find((c) => c.scheme === "nsproxy")?.throughputRatio).toBe(3);
    expect(reportVerdict({ seed: 1, runs: [], verdict: stored })).toEqual({ verdict: stored, overSeeds: [] });
  });

  it("recomputes a stored verdict that has no challenge evidence (an older results document) with none", () => {
    const runs = [1, 2].map((seed) => run({ scheme: "clone-flags", cpus: 4, seed, throughputOpsPerSec: 100 }));
    const { challengeEvidence: _, ...older } = verdict(runs);
    const shown = reportVerdict({ seed: 1, runs, verdict: older as ReturnType<typeof verdict> });
    expect(shown.overSeeds).toEqual([1, 2]);
    expect(shown.verdict.challengeEvidence).toEqual([]);
  });

  it("keeps the merged seeds' challenge evidence in the recomputed verdict", () => {
    const runs = [1, 2].flatMap((seed) => [run({ scheme: "clone-flags", cpus: 4, seed, throughputOpsPerSec: 100 }), run({ scheme: "container", cpus: 4, seed, throughputOpsPerSec: 150 })]);
    const challengeEvidence = (["layout", "chase"] as const).map((step) => ({ machine: "small-4", workload: "fork-storm", cpus: 4, seed: 1, versus: "clone-flags" as const, step, throughputOpsPerSec: 120, invariantsOk: true }));
    const shown = reportVerdict({ seed: 1, runs, verdict: { ...verdict(runs), challengeEvidence } });
    expect(shown.verdict.challengeEvidence).toEqual(challengeEvidence);
    expect(shown.verdict.challenge).toHaveLength(1);
  });
});

describe("points a chart keeps", () => {
  it("keeps a zero on a linear chart, notes a fitted axis when some point has an interval, reads p99 of runs lacking the operation as 0, and takes an interval's low end on a log axis", () => {
    const runs = [
      run({ scheme: "none", cpus: 1, atomicsPerOp: 0, scalingEfficiency: 0.5, seed: 1 }),
      run({ scheme: "none", cpus: 1, atomicsPerOp: 0, scalingEfficiency: 0.7, seed: 2 }),
      run({ scheme: "none", cpus: 2, atomicsPerOp: 2, scalingEfficiency: 0.6, latency: {} }),
    ];
    const defs = chartDefinitions(runs);
    const atomics = defs.find((d) => d.id === "atomics-per-op")!;
    const spec = chartSpec(atomics, aggregateRuns(runs, atomics.metric), ["none"], [1, 2]) as unknown as { data: { values: Array<{ mean: number }> } };
    expect(spec.data.values.map((v) => v.mean)).toEqual([0, 2]);
    const eff = defs.find((d) => d.id === "scaling-efficiency")!;
    // The 1-CPU point has two seeds (an interval), the 2-CPU point one.
    expect(chartNotes(eff, aggregateRuns(runs, eff.metric))).toEqual(["The axis fits the means; an interval reaching past its edge is cut there."]);
    // p99 of fork: 16 us in the first two runs, none in the third: microseconds.
    expect(defs.find((d) => d.id === "p99-latency")!.yTitle).toBe("p99 fork latency (µs)");
    const throughput = defs.find((d) => d.id === "throughput")!;
    const point = { series: "none", scheme: "none" as const, cpus: 1, workload: "w", machine: "m", seeds: 2, failedRuns: 0, lowSampleRuns: 0, mean: 100, lo: 50, hi: 150 };
    // The lowest positive value is the interval's low end, 50: the domain starts at 50 / 1.25 = 40.
    expect((valueAxis(throughput, [point]).scale as { domain: number[] }).domain).toEqual([40, 187.5]);
  });

  it("orders points of one scheme by series, then CPUs; every chart's axis ticks at the runs' CPU counts", () => {
    // Two contexts (w1 and w2 on m), one scheme: series "percpu (w1, m)" then "percpu (w2, m)", whatever the CPUs.
    const runs = [run({ scheme: "percpu", cpus: 2, workload: "w1", machine: "m" }), run({ scheme: "percpu", cpus: 1, workload: "w2", machine: "m" })];
    expect(aggregateRuns(runs, (r) => r.throughputOpsPerSec).map((p) => [p.series, p.cpus])).toEqual([
      ["percpu (w1, m)", 2],
      ["percpu (w2, m)", 1],
    ]);
    const charts = reportCharts(runs);
    expect(charts.length).toBeGreaterThan(0);
    for (const c of charts) expect((c.spec as unknown as { layer: Array<{ encoding: { x: { axis: { values: number[] } } } }> }).layer[0].encoding.x.axis.values).toEqual([1, 2]);
  });
});
