import { findMachinePreset } from "../../shared/machine/presets.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { fillScalingEfficiency } from "../experiment.ts";
import { resultsDocument, writeResults, type Incomplete, type ResultsDocument } from "../output.ts";
import type { PointOutcome } from "./outcome.ts";
import { pointLabel, type SweepPlan } from "./points.ts";

/** What a sweep adds to results.json: its id, its spec, and every point with how it ended. */
export interface SweepSection {
  id: string;
  name: string;
  spec: Record<string, unknown>;
  distributeAbove: number | null;
  machines: Array<{ name: string; summary: string }>;
  workloads: string[];
  points: Array<{ id: string; machine: string; workload: string; seed: number; scheme: string; cpus: number; distributed: boolean; status: "done" | "failed" | "missing" }>;
  failed: Array<{ id: string; point: string; error: string }>;
}

/**
 * results.json of a sweep: a results document whose `runs` are every point that succeeded, in
 * the sweep's order, with scaling efficiency filled in. Its `spec`, `seed`, `machine` and
 * `workload` describe the first point's machine, workload and seed with the sweep's schemes and
 * CPU counts (for a sweep of one machine, workload and seed, what `refsim run` writes); `sweep`
 * lists all of them and every point.
 */
export function sweepResultsDocument(plan: SweepPlan, outcomes: ReadonlyMap<string, PointOutcome>): ResultsDocument & { sweep: SweepSection } {
  const runs: RunResult[] = [];
  for (const p of plan.points) {
    const o = outcomes.get(p.id);
    if (o?.status === "done") runs.push(structuredClone(o.result));
  }
  fillScalingEfficiency(runs);
  const first = plan.points[0];
  const spec = {
    ...first.spec,
    name: plan.name,
    cpus: [...new Set(plan.points.map((p) => p.cpus))].sort((a, b) => a - b),
    schemes: [...new Set(plan.points.map((p) => p.scheme))],
  };
  const machines = [...new Set(plan.points.map((p) => p.machine))];
  const sweep: SweepSection = {
    id: plan.id,
    name: plan.name,
    spec: plan.document,
    distributeAbove: plan.distributeAbove,
    machines: machines.map((name) => ({ name, summary: findMachinePreset(name)?.summary ?? "" })),
    workloads: [...new Set(plan.points.map((p) => p.workload))],
    points: plan.points.map((p) => ({
      id: p.id,
      machine: p.machine,
      workload: p.workload,
      seed: p.seed,
      scheme: p.scheme,
      cpus: p.cpus,
      distributed: p.distributed,
      status: outcomes.get(p.id)?.status ?? "missing",
    })),
    failed: failedPoints(plan, outcomes),
  };
  return { ...resultsDocument({ spec, runs }, plan.codeVersion), sweep };
}

export function failedPoints(plan: SweepPlan, outcomes: ReadonlyMap<string, PointOutcome>): SweepSection["failed"] {
  const failed: SweepSection["failed"] = [];
  for (const p of plan.points) {
    const o = outcomes.get(p.id);
    if (o === undefined) failed.push({ id: p.id, point: pointLabel(p), error: "no outcome (the sweep stopped before it ended)" });
    else if (o.status === "failed") failed.push({ id: p.id, point: pointLabel(p), error: o.error });
  }
  return failed;
}

/** Writes results.json and results.csv of a sweep (through coordinator/output.ts). */
export function writeSweepResults(
  dir: string,
  plan: SweepPlan,
  outcomes: ReadonlyMap<string, PointOutcome>,
  incomplete?: Incomplete,
): { json: string; csv: string; doc: ResultsDocument & { sweep: SweepSection } } {
  const doc = sweepResultsDocument(plan, outcomes);
  if (incomplete !== undefined) doc.incomplete = incomplete;
  return { ...writeResults(dir, doc), doc };
}
