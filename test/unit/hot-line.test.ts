import { describe, expect, it } from "vitest";
import { findMachinePreset } from "../../shared/machine/presets.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { HOP1, HOP2, PACKAGE, SMT, DIE } from "../../shared/machine/distance.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { simulate } from "../../shared/simulation.ts";
import { runsOf } from "./support/spec.ts";

// The hot-line calibration workload: every CPU atomically increments one shared counter back to
// back. A line serves one ownership transfer at a time, each keeping it busy for the occupancy of
// its distance class; a CPU granted the line while others wait makes its one increment and hands
// it on. So a saturated line completes 1 / (mean occupancy) increments per second, and which CPU
// gets it next is the arbitration's uniform choice among the waiting CPUs (arbitration.ts).

function hotLine(machine: string, cpus: number[], seed = 1): RunResult[] {
  return runsOf({ machine, cpus, schemes: ["none"], workload: "hot-line", seed }).map((run) => simulate(run));
}

/**
 * What one transfer of each class keeps the line for: the class's occupancy, or, between sockets
 * on a machine whose home agent snoops every socket (xeon-80), that transaction's: the atomic of
 * its farthest sockets plus a locked RMW (430 + 20 cycles at 2.13 GHz = 211,268 ps).
 */
function occupancies(machine: string): number[] {
  const c = new Machine(findMachinePreset(machine)!, 1).costs;
  return c.occupancyPs.map((ps, cls) => (c.crossSocketOccupancyPs !== null && cls >= HOP1 ? Math.max(ps, c.crossSocketOccupancyPs) : ps));
}

/** Mean occupancy, in picoseconds, of the transfers a run reports. */
function meanOccupancyPs(r: RunResult, occupancyPs: number[]): number {
  const t = r.lineTransfers;
  const busy = t.smt * occupancyPs[SMT] + t.die * occupancyPs[DIE] + t.package * occupancyPs[PACKAGE] + t.hop1 * occupancyPs[HOP1] + t.hop2 * occupancyPs[HOP2];
  return busy / t.total;
}

// Saturated: enough CPUs that others always wait when the line is granted.
const SATURATED: Array<[string, number[]]> = [
  ["small-4", [4]],
  ["modern-2s", [8, 16, 17, 33, 64]],
  ["opteron-48", [12, 48]],
  ["xeon-80", [20, 80]],
];

describe("hot-line: one contended counter", () => {
  it.each(SATURATED)("on %s with %j CPUs, throughput = 1 / mean occupancy of the transfers that took place, within 5 percent", (machine, cpus) => {
    const occ = occupancies(machine);
    for (const r of hotLine(machine, cpus)) {
      expect(r.lineTransfers.total, `${r.cpus} CPUs`).toBeGreaterThan(400);
      const predicted = 1e12 / meanOccupancyPs(r, occ);
      expect(Math.abs(r.throughputOpsPerSec / predicted - 1), `${r.cpus} CPUs: ${r.throughputOpsPerSec} vs ${predicted}`).toBeLessThan(0.05);
      // Every increment moves the line: a CPU granted the line while others wait hands it on.
      expect(r.transfersPerOp, `${r.cpus} CPUs`).toBeCloseTo(1, 2);
      expect(r.throughputOpsPerSec, `${r.cpus} CPUs`).toBeLessThanOrEqual(1e12 / Math.min(...occ.slice(SMT)));
    }
  });

  it("the next holder is a uniform choice among the waiting CPUs: on xeon-80 at 80 CPUs, 9/79 of transfers stay on the die, 30/79 go one hop, 40/79 two", () => {
    const [r] = hotLine("xeon-80", [80]);
    const s = r.lineTransferShare;
    // About 890 transfers in the 180 us window at xeon-80's cross-socket hand-off (211 ns).
    expect(r.lineTransfers.total).toBeGreaterThan(800);
    expect(s.die).toBeCloseTo(9 / 79, 1);
    expect(Math.abs(s.die - 9 / 79)).toBeLessThan(0.03);
    expect(Math.abs(s.hop1 - 30 / 79)).toBeLessThan(0.03);
    expect(Math.abs(s.hop2 - 40 / 79)).toBeLessThan(0.03);
    expect(s.die + s.hop1 + s.hop2).toBeCloseTo(1, 5);
  });

  it("on xeon-80 a hand-off between sockets costs the home agent's whole transaction, the farthest (two-hop) atomic plus a locked RMW, with 2 sockets taking part as with 8", () => {
    const xeon = findMachinePreset("xeon-80")!;
    // (430 + 20) cycles at 2130 MHz (each figure rounded to picoseconds: 201,878 + 9,390).
    expect(new Machine(xeon, 20).costs.crossSocketOccupancyPs).toBe(Math.round((450 * 1e6) / 2130));
    expect(new Machine(xeon, 80).costs.crossSocketOccupancyPs).toBe(211268);
    // Within a socket the derived occupancy: 120 - 2 x (109 / 8) + 20 cycles.
    expect(new Machine(xeon, 20).costs.occupancyPs[DIE]).toBe(Math.round((120 * 1e6) / 2130) - 2 * Math.round(Math.round((109 * 1e6) / 2130) / 8) + Math.round((20 * 1e6) / 2130));
    // A machine whose farthest sockets are one hop apart pays its one-hop atomic; a holder-forwarded machine has none.
    const twoSockets = new Machine({ ...xeon, shape: { ...xeon.shape, sockets: 2, socketLinks: "full" } }, 20).costs;
    expect(twoSockets.crossSocketOccupancyPs).toBe(Math.round((324 * 1e6) / 2130) + Math.round((20 * 1e6) / 2130));
    expect(new Machine(findMachinePreset("modern-2s")!, 2).costs.crossSocketOccupancyPs).toBeNull();
    // 20 CPUs (sockets 0 and 1): each cross-socket increment takes 211,268 ps like at 80 CPUs.
    const [r20] = hotLine("xeon-80", [20]);
    const c = new Machine(xeon, 20).costs;
    const t = r20.lineTransfers;
    const predicted = 1e12 / ((t.die * c.occupancyPs[DIE] + (t.hop1 + t.hop2) * 211268) / t.total);
    expect(Math.abs(r20.throughputOpsPerSec / predicted - 1)).toBeLessThan(0.05);
    expect(t.hop2).toBe(0);
  });

  it("on small-4 with 4 CPUs the line leaves the holder's socket two times in three (not the old socket-grouped round robin's one in two)", () => {
    const [r] = hotLine("small-4", [4]);
    expect(Math.abs(r.lineTransferShare.hop1 - 2 / 3)).toBeLessThan(0.04);
    expect(Math.abs(r.lineTransferShare.die - 1 / 3)).toBeLessThan(0.04);
  });

  it("the arbitration is seeded: another seed draws another sequence of holders, with the same shares", () => {
    const [a] = hotLine("opteron-48", [48], 1);
    const [again] = hotLine("opteron-48", [48], 1);
    const [b] = hotLine("opteron-48", [48], 2);
    expect(again).toEqual(a);
    expect(b.lineTransfers).not.toEqual(a.lineTransfers);
    for (const c of ["die", "package", "hop1", "hop2"] as const) expect(Math.abs(b.lineTransferShare[c] - a.lineTransferShare[c])).toBeLessThan(0.04);
  });

  it("on one CPU the counter never moves: every increment is a local atomic", () => {
    const [one] = hotLine("small-4", [1]);
    const c = new Machine(findMachinePreset("small-4")!, 1).costs;
    expect(one.lineTransfers.total).toBe(0);
    expect(one.throughputOpsPerSec).toBeCloseTo(1e12 / c.localAtomicPs, -4);
  });

  it.each([
    ["modern-2s", 32, 33],
    ["xeon-80", 10, 11],
    ["opteron-48", 12, 13],
  ] as Array<[string, number, number]>)("on %s, a CPU of the next socket joining (%i -> %i CPUs) lowers the saturated rate", (machine, before, after) => {
    const [r0, r1] = hotLine(machine, [before, after]);
    expect(r1.lineTransfers.hop1 + r1.lineTransfers.hop2).toBeGreaterThan(0);
    expect(r0.lineTransfers.hop1 + r0.lineTransfers.hop2).toBe(0);
    expect(r1.throughputOpsPerSec).toBeLessThan(r0.throughputOpsPerSec);
  });
});
