import { describe, expect, it } from "vitest";
import { findMachinePreset } from "../../shared/machine/presets.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { HOP1, HOP2, PACKAGE, SMT, DIE } from "../../shared/machine/distance.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { simulate } from "../../shared/simulation.ts";
import { runsOf } from "./support/spec.ts";

// The hot-line calibration workload: every CPU atomically increments one shared counter back to
// back. A line serves one ownership transfer at a time, each keeping it busy for the occupancy of
// its distance class, so a saturated line completes 1 / (mean occupancy) increments per second.

function hotLine(machine: string, cpus: number[]): RunResult[] {
  return runsOf({ machine, cpus, schemes: ["none"], workload: "hot-line" }).map((run) => simulate(run));
}

function occupancies(machine: string): number[] {
  return new Machine(findMachinePreset(machine)!, 1).costs.occupancyPs;
}

/** Mean occupancy, in picoseconds, of the transfers a run reports. */
function meanOccupancyPs(r: RunResult, occupancyPs: number[]): number {
  const t = r.lineTransfers;
  const busy = t.smt * occupancyPs[SMT] + t.die * occupancyPs[DIE] + t.package * occupancyPs[PACKAGE] + t.hop1 * occupancyPs[HOP1] + t.hop2 * occupancyPs[HOP2];
  return busy / t.total;
}

const SATURATED: Array<[string, number[]]> = [
  ["small-4", [2, 3, 4]],
  ["modern-2s", [2, 8, 16, 17, 33, 64]],
  ["opteron-48", [12, 48]],
];

describe("hot-line: one contended counter", () => {
  it.each(SATURATED)("on %s with %j CPUs, throughput = 1 / mean occupancy of the transfers that took place, within 5 percent", (machine, cpus) => {
    const occ = occupancies(machine);
    for (const r of hotLine(machine, cpus)) {
      expect(r.lineTransfers.total, `${r.cpus} CPUs`).toBeGreaterThan(1000);
      const predicted = 1e12 / meanOccupancyPs(r, occ);
      expect(Math.abs(r.throughputOpsPerSec / predicted - 1), `${r.cpus} CPUs: ${r.throughputOpsPerSec} vs ${predicted}`).toBeLessThan(0.05);
      // Every increment moves the line: no CPU gets two in a row while others wait.
      expect(r.transfersPerOp, `${r.cpus} CPUs`).toBeCloseTo(1, 2);
    }
  });

  it.each(SATURATED)("on %s with %j CPUs, throughput never exceeds 1 / (smallest occupancy of the preset)", (machine, cpus) => {
    const occ = occupancies(machine);
    const bound = 1e12 / Math.min(...occ.slice(SMT));
    for (const r of hotLine(machine, cpus)) expect(r.throughputOpsPerSec, `${r.cpus} CPUs`).toBeLessThanOrEqual(bound);
  });

  it("on small-4 the rates are the round numbers: 2 CPUs on one die 1/50ns, 4 CPUs alternating die and socket hops 1/100ns", () => {
    const [two, four] = hotLine("small-4", [2, 4]);
    expect(two.throughputOpsPerSec).toBeCloseTo(2e7, -4);
    expect(two.lineTransfers.hop1).toBe(0);
    expect(four.throughputOpsPerSec).toBeCloseTo(1e7, -4);
    expect(four.lineTransfers.hop1).toBe(four.lineTransfers.die);
  });

  it("on one CPU the counter never moves: every increment is a local atomic", () => {
    const [one] = hotLine("small-4", [1]);
    const c = new Machine(findMachinePreset("small-4")!, 1).costs;
    expect(one.lineTransfers.total).toBe(0);
    expect(one.throughputOpsPerSec).toBeCloseTo(1e12 / c.localAtomicPs, -4);
  });

  it("crossing to the second socket lowers the saturated rate: modern-2s 33 CPUs is slower than 32", () => {
    const [r32, r33] = hotLine("modern-2s", [32, 33]);
    expect(r33.lineTransfers.hop1).toBeGreaterThan(0);
    expect(r32.lineTransfers.hop1).toBe(0);
    expect(r33.throughputOpsPerSec).toBeLessThan(r32.throughputOpsPerSec);
  });
});
