import type { RunResult } from "../shared/metrics/result.ts";
import type { ResolvedSpec, RunConfig } from "../shared/spec/resolve.ts";
import { planRuns } from "../shared/spec/resolve.ts";
import { simulate } from "../shared/simulation.ts";

/** Everything an experiment produced: the resolved spec and one record per run. */
export interface ExperimentResult {
  spec: ResolvedSpec;
  runs: RunResult[];
}

/**
 * Sets each run's scaling efficiency: its throughput per CPU against the same scheme's
 * (and workload's and seed's) one-CPU throughput; null when no one-CPU run exists.
 */
export function fillScalingEfficiency(runs: RunResult[]): void {
  const single = new Map<string, number>();
  const key = (r: RunResult) => `${r.scheme}|${r.machine}|${r.workload}|${r.seed}`;
  for (const r of runs) if (r.cpus === 1) single.set(key(r), r.throughputOpsPerSec);
  for (const r of runs) {
    const base = single.get(key(r));
    r.scalingEfficiency = base !== undefined && base > 0 ? Math.round((r.throughputOpsPerSec / (r.cpus * base)) * 1e6) / 1e6 : null;
  }
}

/** Runs every configuration of a spec in this process, in plan order. */
export function runExperiment(spec: ResolvedSpec, onRun?: (done: number, total: number, run: RunConfig) => void): ExperimentResult {
  const plan = planRuns(spec);
  const runs: RunResult[] = [];
  plan.forEach((config, i) => {
    runs.push(simulate(config));
    onRun?.(i + 1, plan.length, config);
  });
  fillScalingEfficiency(runs);
  return { spec, runs };
}

/** Runs one configuration of a spec (the runIndex-th of planRuns), wherever it runs. */
export type RunOne = (spec: ResolvedSpec, runIndex: number, config: RunConfig) => Promise<RunResult>;

/** runExperiment with another way of running each configuration (threads, a cluster). */
export async function runExperimentWith(
  spec: ResolvedSpec,
  runOne: RunOne,
  onRun?: (done: number, total: number, run: RunConfig) => void,
): Promise<ExperimentResult> {
  const plan = planRuns(spec);
  const runs: RunResult[] = [];
  for (let i = 0; i < plan.length; i++) {
    runs.push(await runOne(spec, i, plan[i]));
    onRun?.(i + 1, plan.length, plan[i]);
  }
  fillScalingEfficiency(runs);
  return { spec, runs };
}
