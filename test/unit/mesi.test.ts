import { describe, expect, it } from "vitest";
import { SOURCE_DRAM_LOCAL } from "../../shared/coherence/source.ts";
import { DIE, HOP1, SELF } from "../../shared/machine/distance.ts";
import { findMachinePreset, type MachinePreset } from "../../shared/machine/presets.ts";
import { pickWaiter } from "../../shared/coherence/arbitration.ts";
import { runLineScenario, type LineOp } from "../../coordinator/validate/line-scenario.ts";

// The MESI rules, each expected time computed by hand from the small-4 preset: 1 GHz (1 cycle =
// 1 ns = 1000 ps), CPUs 0 and 1 on socket 0 (node 0), CPUs 2 and 3 on socket 1 (node 1), a
// directory protocol. Its costs, in ns:
//   read of a line another cache holds: die 80, hop1 260;  atomic or write: die 100, hop1 300
//   DRAM: local 120, one hop 200;  L1 hit 4;  local atomic 20
//   a message leg (request, recall, invalidation) = read / 8: die 10, hop1 32.5
//   occupancy (the hand-off of a contended line) = atomic - 2 legs + local atomic: die 100, hop1 255
// A requester waits max(published latency + directory indirection, request leg + recall leg +
// the data's leg); a line from DRAM arrives after max(DRAM, 2 legs) (HomeNode.serve).

const NS = 1000;
const small4 = findMachinePreset("small-4")!;
const broadcast4: MachinePreset = { ...small4, name: "small-4-broadcast", protocol: "broadcast" };

const compute = (ns: number): LineOp => ({ kind: "compute", ps: ns * NS });
const read: LineOp = { kind: "read", line: 0 };
const write: LineOp = { kind: "plain", line: 0 };
const atomic: LineOp = { kind: "atomic", line: 0 };

function run(programs: Array<[number, LineOp[]]>, homeNode = 0, preset = small4, seed = 1) {
  const r = runLineScenario({ preset, cpuCount: 4, programs: new Map(programs), home: () => homeNode, seed });
  expect(r.idle).toBe(true);
  return r;
}

/** The times, in ns, at which one CPU's accesses took effect, in program order. */
function timesNs(r: ReturnType<typeof run>, cpu: number): number[] {
  return r.accesses.filter((a) => a.cpu === cpu).map((a) => a.timePs / NS);
}

describe("MESI on small-4, times computed by hand", () => {
  it("a line fetched from memory with no sharers is Exclusive: its first write is a hit, with no message to the home", () => {
    // Read at 0: request leg 10, DRAM 120 - 10 at the home: data at 120. The write that follows
    // hits (4 ns, no request), so the atomic after it runs at 124 and is a local atomic (20 ns).
    const r = run([[0, [read, write, atomic]]]);
    expect(timesNs(r, 0)).toEqual([120, 120, 124]);
    const s = r.homes[0].stats;
    expect(s.dramLocal).toBe(1);
    expect(s.upgrades).toBe(0);
    expect(r.accesses.map((a) => a.source)).toEqual([SOURCE_DRAM_LOCAL, SELF, SELF]);
    expect(r.finalValue.get(0)).toBe(2);
  });

  it("a cross-CPU read of a Modified line costs the published load latency (home on the pair's node: no indirection)", () => {
    // CPU 0 writes at 0 (E from DRAM at 120, then M silently). CPU 1 reads at 200: request at the
    // home at 210, grant at 210 + max(80 - 10, 10 + 10) = 280 = 200 + 80.
    const r = run([
      [0, [write]],
      [1, [compute(200), read]],
    ]);
    expect(timesNs(r, 0)).toEqual([120]);
    expect(timesNs(r, 1)).toEqual([280]);
    expect(r.homes[0].stats.transfersByClass[DIE]).toBe(1);
  });

  it("under a directory protocol, a home on the other socket adds its extra legs to a transfer between two CPUs of one die; broadcast does not", () => {
    // Home on node 1. CPU 0 writes at 0: leg 32.5, remote DRAM: data at 32.5 + (200 - 32.5) = 200.
    // CPU 1 reads at 300: at the home at 332.5. Directory: indirection = legs 32.5 + 32.5 minus
    // the measured pair's legs 10 + 10 = 45, latency 80 + 45 = 125: grant at 332.5 + max(125 -
    // 32.5, 32.5 + 10) = 425 = 300 + 125. Broadcast: latency 80 (the request legs 32.5 + 32.5 and
    // the data's 10 fit inside it): 380.
    const dir = run([
      [0, [write]],
      [1, [compute(300), read]],
    ], 1);
    expect(timesNs(dir, 0)).toEqual([200]);
    expect(timesNs(dir, 1)).toEqual([425]);
    const bc = run([
      [0, [write]],
      [1, [compute(300), read]],
    ], 1, broadcast4);
    expect(timesNs(bc, 1)).toEqual([380]);
  });

  it("a remote write invalidates the sharers; a sharer's next read fetches the line from the new owner", () => {
    // CPU 0 reads at 0 (E, 120). CPU 1 reads at 200 (from CPU 0: 280; CPU 0 keeps a Shared copy,
    // CPU 1 forwards). CPU 2 atomically adds at 400: at the home at 432.5, latency max(300 from
    // CPU 1, 300 to invalidate CPU 0) = 300: grant at 432.5 + max(300 - 32.5, 10 + 32.5) = 700.
    // CPU 0's next read at 800 misses (its copy was invalidated): at the home at 810, from CPU 2
    // (hop1, 260): 810 + max(260 - 10, 32.5 + 32.5) = 1060 = 800 + 260.
    const r = run([
      [0, [read, compute(680), read]],
      [1, [compute(200), read]],
      [2, [compute(400), atomic]],
    ]);
    expect(timesNs(r, 0)).toEqual([120, 1060]);
    expect(timesNs(r, 1)).toEqual([280]);
    expect(timesNs(r, 2)).toEqual([700]);
    const s = r.homes[0].stats;
    expect(s.invalidations).toBe(1);
    expect(s.transfersByClass[DIE]).toBe(1);
    expect(s.transfersByClass[HOP1]).toBe(2);
    expect(r.finalValue.get(0)).toBe(1);
  });

  it("a sharer that writes upgrades S -> M without refetching the data: the home only invalidates the other copy", () => {
    // CPU 0 reads (120), CPU 1 reads at 200 (280; CPU 0 becomes a sharer). CPU 0 writes at 400:
    // at the home at 410, it invalidates CPU 1 (die, 100): grant at 410 + max(100 - 10, 10) = 500.
    // No data moves: the access is an upgrade, and no transfer is counted for it.
    const r = run([
      [0, [read, compute(280), atomic]],
      [1, [compute(200), read]],
    ]);
    expect(timesNs(r, 0)).toEqual([120, 500]);
    const s = r.homes[0].stats;
    expect(s.upgrades).toBe(1);
    expect(s.invalidations).toBe(1);
    expect(s.transfersByClass[DIE]).toBe(1); // CPU 1's read only
    expect(r.finalValue.get(0)).toBe(1);
  });

  it("upgrades of copies that readers shared keep every increment: the upgraded copy is the current value", () => {
    const r = run([
      [0, [atomic, compute(500), read, compute(300), atomic]],
      [1, [compute(300), read, compute(100), atomic]],
    ]);
    expect(r.finalValue.get(0)).toBe(3);
    expect([...(r.results.get(0) ?? [])].sort()).toEqual([1, 2, 3]);
    expect(r.homes[0].stats.upgrades).toBeGreaterThan(0);
  });

  it("a request for a busy line waits at the home until the line falls free; the wait is counted", () => {
    // CPUs 0, 1 and 2 increment at 0; their requests reach the home at 10, 10 and 32.5. CPU 0 is
    // served at 10 from DRAM (data at 120; the fetch keeps the line busy one leg, to 20). CPU 1
    // waits until 20: from CPU 0 (die, 100), grant at 20 + max(100 - 10, 10 + 10) = 110, but CPU
    // 0 has the data only at 120 and forwards it then, one die leg away: 130. The line is busy
    // until 20 + occupancy 100 = 120. CPU 2 waits until 120: from CPU 1 (hop1, 300), grant at 120
    // + max(300 - 32.5, 10 + 32.5) = 387.5. Queue wait: 10 + 87.5 = 97.5 ns.
    const r = run([
      [0, [atomic]],
      [1, [atomic]],
      [2, [atomic]],
    ]);
    expect([timesNs(r, 0), timesNs(r, 1), timesNs(r, 2)]).toEqual([[120], [130], [387.5]]);
    expect(r.homes[0].stats.queueWaitPs).toBe(97_500);
    expect(r.finalValue.get(0)).toBe(3);
  });

  it.each([1, 2, 3, 4])("when two requests wait for a line that falls free, the seeded arbitration picks one (seed %i)", (seed) => {
    // CPU 0 (at the home at 10, served) and CPU 1 (waits until 20, then holds the line until 120)
    // as above; CPUs 3 and 2 (starting at 5 and 30) reach the home at 37.5 and 62.5 and both
    // wait. At 120 the home picks among [2, 3] with pickWaiter(seed, line 0, transfer 2, 2):
    // that one gets the line from CPU 1 (hop1): 120 + 267.5 = 387.5; the line is busy until
    // 120 + 255 = 375, when the other is served: from the first (die, 100, plus the directory's
    // indirection: legs 32.5 + 32.5 - (10 + 10) = 45), grant at 375 + max(145 - 32.5, 32.5 + 10)
    // = 487.5; the first, granted while the other waited, hands the line on after its one access.
    const r = run([
      [0, [atomic]],
      [1, [atomic]],
      [2, [compute(30), atomic]],
      [3, [compute(5), atomic]],
    ], 0, small4, seed);
    const first = [2, 3][pickWaiter(seed, 0, 2, 2)];
    const second = first === 2 ? 3 : 2;
    expect(timesNs(r, first)).toEqual([387.5]);
    expect(timesNs(r, second)).toEqual([487.5]);
    expect(r.finalValue.get(0)).toBe(4);
  });

  it("the arbitration's choice is uniform over the waiting requests and depends on the seed", () => {
    for (const n of [2, 3, 7]) {
      const counts = new Array<number>(n).fill(0);
      for (let t = 0; t < 21_000; t++) counts[pickWaiter(7, 12345, t, n)]++;
      for (const c of counts) expect(Math.abs(c / 21_000 - 1 / n)).toBeLessThan(0.02);
    }
    const a = Array.from({ length: 64 }, (_, t) => pickWaiter(1, 5, t, 10));
    const b = Array.from({ length: 64 }, (_, t) => pickWaiter(2, 5, t, 10));
    expect(a).not.toEqual(b);
  });
});
