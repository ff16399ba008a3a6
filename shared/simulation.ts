import type { HomeNode } from "./coherence/home.ts";
import type { Cpu } from "./kernel/cpu.ts";
import type { RunResult } from "./metrics/result.ts";
import { Partition, type PartitionOptions } from "./protocol/partition.ts";
import { mergeReports } from "./report.ts";
import type { RunConfig } from "./spec/resolve.ts";

export type SimulationOptions = PartitionOptions;

/**
 * One run in one process (the embedded run): the whole machine in one partition. `run()`
 * simulates the duration, lets in-flight work finish (no new operations start), checks the
 * invariants and returns the run's metrics.
 */
export class Simulation extends Partition {
  /** Every CPU and home node: the embedded run holds them all. */
  declare readonly cpus: Cpu[];
  declare readonly homes: HomeNode[];

  constructor(config: RunConfig, options: SimulationOptions = {}) {
    super(config, null, 0, options);
  }

  /**
   * `onProgress`, when given, hears the simulated time reached after each of `steps` equal
   * slices of the duration (the events run are the same, in the same order, as in one slice:
   * runUntil takes the events due before its end).
   */
  run(onProgress?: (simulatedPs: number) => void, steps = 200): RunResult {
    this.start();
    const duration = this.config.durationPs;
    if (onProgress !== undefined) {
      for (let k = 1; k < steps; k++) {
        this.runUntil(Math.floor((duration * k) / steps));
        onProgress(Math.floor((duration * k) / steps));
      }
    }
    this.runUntil(duration);
    // Drain: nothing new starts after the duration, but work in flight completes.
    this.runUntil(Infinity);
    return mergeReports(this.config, [this.report()]);
  }
}

/** Runs one configuration in this process; `onProgress` hears the simulated time as it advances (Simulation.run). */
export function simulate(config: RunConfig, options: SimulationOptions = {}, onProgress?: (simulatedPs: number) => void): RunResult {
  return new Simulation(config, options).run(onProgress);
}
