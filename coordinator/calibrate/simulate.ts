import type { MachinePreset } from "../../shared/machine/presets.ts";
import { totalCpus } from "../../shared/machine/machine.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { resolveSpec } from "../../shared/spec/resolve.ts";
import { runExperiment } from "../experiment.ts";

/** Simulated throughput of the host experiments at each thread count (one thread = one CPU). */
export interface SimulatedPoint {
  threads: number;
  opsPerSec: number;
  /** Engine events of the run: the figure comes from a simulation, not a formula. */
  engineEvents: number;
  transfersPerOp: number;
}

/**
 * The calibrate experiments on the host's machine: `hot-line` for the shared counter (every CPU
 * increments one line) and `local-line` for the padded counters (every CPU its own line). The
 * machine goes in as a machine file would (resolveSpec's machineFiles), so the simulation is
 * exactly what `refsim run --machine host.json --workload hot-line` computes.
 */
export function simulateHost(machine: MachinePreset, threadCounts: readonly number[]): { shared: SimulatedPoint[]; padded: SimulatedPoint[] } {
  const cpus = [...new Set(threadCounts.map((n) => Math.min(n, totalCpus(machine))))];
  const key = `${machine.name}.json`;
  const run = (workload: string): SimulatedPoint[] => {
    const spec = resolveSpec(parseSpec({ machine: key, cpus, schemes: ["none"], workload }), new Map([[key, machine]]));
    return runExperiment(spec).runs.map((r) => ({ threads: r.cpus, opsPerSec: r.throughputOpsPerSec, engineEvents: r.engineEvents, transfersPerOp: r.transfersPerOp }));
  };
  return { shared: run("hot-line"), padded: run("local-line") };
}
