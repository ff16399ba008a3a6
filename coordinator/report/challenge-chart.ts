import type { ChallengeGroup, ChallengePartName } from "../challenge.ts";
import { chartConfig, PLOT_WIDTH_PX, type VegaLiteSpec } from "./report-data.ts";

/**
 * The 2006 challenge's chart: one horizontal bar per machine, workload and comparison (container
 * vs clone-flags, container vs nsproxy), split into the parts of the throughput ratio. Parts
 * multiply, so the axis is log2 of the factor and the segments add up: right of zero the
 * container model does better, left it does worse; the black tick is the whole ratio (where
 * parts pull both ways, the segments diverge from zero and the tick shows the net).
 */

export interface ChallengeBar {
  bar: string;
  part: string;
  log2: number;
  factor: number;
}

const DRAWN_PARTS: readonly ChallengePartName[] = ["layout", "pointerChase", "referenceCount"];

/** The legend's names (short enough to show whole). */
const SHORT: Record<ChallengePartName, string> = { layout: "variables' layout", pointerChase: "pointer chase", referenceCount: "reference count" };

export function challengeBarLabel(g: ChallengeGroup): string {
  return `${g.workload} on ${g.machine} (${g.cpus} CPUs) vs ${g.versus}`;
}

export function challengeBars(groups: readonly ChallengeGroup[]): ChallengeBar[] {
  return groups.flatMap((g) =>
    DRAWN_PARTS.map((part) => {
      const f = g.parts[part];
      return { bar: challengeBarLabel(g), part: SHORT[part], log2: Math.log2(f), factor: f };
    }),
  );
}

export const CHALLENGE_CHART_CAPTION =
  "Each bar: container's throughput against the other model's at the largest CPU count, log2 of the factor, split by counterfactual runs of container that take one part of the other model at a time: the per-container variables' layout (packed against the other's scattered), then the pointer chase (thread_info's econtainer against task_struct's pointers, and nsproxy's bundle), then the reference count (what remains: container's counting against the other's). The segments add up to the whole ratio, the black tick.";

export function challengeChartSpec(groups: readonly ChallengeGroup[]): VegaLiteSpec {
  const bars = challengeBars(groups);
  const totals = groups.map((g) => ({ bar: challengeBarLabel(g), log2: Math.log2(g.ratio), factor: g.ratio }));
  const y = { field: "bar", type: "nominal" as const, title: null, sort: null, axis: { labelLimit: 0 } };
  const x = { field: "log2", type: "quantitative" as const, title: "log2(container throughput / other's): > 0 container better" };
  return {
    width: PLOT_WIDTH_PX,
    height: Math.max(60, 28 * groups.length),
    background: "white",
    padding: 8,
    config: chartConfig(),
    layer: [
      {
        data: { values: bars },
        mark: { type: "bar" as const },
        encoding: {
          y,
          x: { ...x, stack: "zero" },
          color: { field: "part", type: "nominal" as const, title: "part", scale: { domain: DRAWN_PARTS.map((p) => SHORT[p]), scheme: "tableau10" }, legend: { orient: "bottom" as const } },
          tooltip: [{ field: "part" }, { field: "factor", format: ".3f" }],
        },
      },
      { data: { values: totals }, mark: { type: "tick" as const, color: "black", thickness: 2 }, encoding: { y, x } },
      { data: { values: [{ log2: 0 }] }, mark: { type: "rule" as const, color: "#555" }, encoding: { x: { field: "log2", type: "quantitative" as const } } },
    ],
  };
}
