import { describe, expect, it } from "vitest";
import { HomeNode } from "../../shared/coherence/home.ts";
import { pickWaiter } from "../../shared/coherence/arbitration.ts";
import { SOURCE_DRAM_LOCAL, SOURCE_DRAM_REMOTE } from "../../shared/coherence/source.ts";
import { Engine } from "../../shared/engine/engine.ts";
import { DIE, HOP1 } from "../../shared/machine/distance.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { findMachinePreset, type MachinePreset } from "../../shared/machine/presets.ts";
import { runLineScenario, type LineOp } from "../../coordinator/validate/line-scenario.ts";

// The home directory's answers on small-4, each computed by hand (mesi.test.ts has the basic MESI
// rules; these pin what a mutation run found unguarded: the measured window, the cross-socket
// hand-off, the arbitration's skip of the holder's own request, an upgrade that waits, remote
// DRAM, memory's preset value). small-4: 1 GHz (1 cycle = 1 ns), CPUs 0 and 1 on node 0, CPUs 2
// and 3 on node 1, a directory protocol; lines homed on node 0 unless said. In ns:
//   read from another cache: die 80, hop1 260;  atomic or write: die 100, hop1 300
//   DRAM: local 120, remote 200;  L1 hit 4;  local atomic 20
//   message leg = read / 8: die 10, hop1 32.5
//   occupancy = atomic - 2 legs + local atomic: die 100, hop1 255
//   with xeon-80's home-broadcast hand-off: a cross-socket hand-off keeps the line for the
//   farthest sockets' atomic + local atomic = 300 + 20 = 320 (crossSocketOccupancyPs)
// A transfer is granted at serve + max(latency - the requester's leg, holder's leg + data leg);
// a DRAM fetch at serve + max(DRAM - leg, leg) and keeps the line one leg.

const NS = 1000;
const small4 = findMachinePreset("small-4")!;
const handOff4: MachinePreset = { ...small4, name: "small-4-home-broadcast", crossSocketHandOff: "home-broadcast" };

const compute = (ns: number): LineOp => ({ kind: "compute", ps: ns * NS });
const read: LineOp = { kind: "read", line: 0 };
const atomic: LineOp = { kind: "atomic", line: 0 };

interface Options {
  preset?: MachinePreset;
  home?: number;
  seed?: number;
  window?: { warmupPs: number; durationPs: number };
  initial?: Map<number, number>;
}

function run(programs: Array<[number, LineOp[]]>, o: Options = {}) {
  const r = runLineScenario({ preset: o.preset ?? small4, cpuCount: 4, programs: new Map(programs), home: () => o.home ?? 0, seed: o.seed ?? 1, window: o.window, initial: o.initial });
  expect(r.idle).toBe(true);
  return r;
}

function timesNs(r: ReturnType<typeof run>, cpu: number): number[] {
  return r.accesses.filter((a) => a.cpu === cpu).map((a) => a.timePs / NS);
}

function stats(r: ReturnType<typeof run>, node = 0) {
  const s = r.homes[node].stats;
  return { ...s, transfersByClass: [...s.transfersByClass] };
}

// Three CPUs increment at 0 (mesi.test.ts derives it): CPU 0 is served at 10 from DRAM (the line
// busy until 20), CPU 1 waits 10 and is served at 20 from CPU 0 (die; busy until 120), CPU 2
// (at the home at 32.5) waits 87.5 and is served at 120 from CPU 1 (hop1). Accesses at 120,
// 130, 387.5.
const threeIncrements: Array<[number, LineOp[]]> = [
  [0, [atomic]],
  [1, [atomic]],
  [2, [atomic]],
];

describe("the home counts only what it serves inside the measured window [warm-up, end)", () => {
  it("a serve at the warm-up's first instant counts, one at the window's end does not", () => {
    // Window [10, 120): CPU 0's DRAM fetch (at 10) and CPU 1's die transfer (at 20, after a 10 ns
    // wait) count; CPU 2's hop1 transfer and its 87.5 ns wait (served at 120) do not.
    const r = run(threeIncrements, { window: { warmupPs: 10 * NS, durationPs: 120 * NS } });
    expect([timesNs(r, 0), timesNs(r, 1), timesNs(r, 2)]).toEqual([[120], [130], [387.5]]);
    const s = stats(r);
    expect(s.dramLocal).toBe(1);
    expect(s.transfersByClass[DIE]).toBe(1);
    expect(s.transfersByClass[HOP1]).toBe(0);
    expect(s.queueWaitPs).toBe(10 * NS);
  });

  it("a line falling free at the warm-up's first instant counts its wait; a fetch before the warm-up does not count", () => {
    // Window [20, 121): the DRAM fetch at 10 is before it; the serves at 20 and 120 and both
    // waits (10 + 87.5) count.
    const r = run(threeIncrements, { window: { warmupPs: 20 * NS, durationPs: 121 * NS } });
    const s = stats(r);
    expect(s.dramLocal).toBe(0);
    expect(s.transfersByClass[DIE]).toBe(1);
    expect(s.transfersByClass[HOP1]).toBe(1);
    expect(s.queueWaitPs).toBe(97_500);
  });

  it("outside the window nothing is counted: DRAM fetches, transfers, invalidations, upgrades, waits", () => {
    // Every kind of serve: DRAM (local and, homed on node 1, remote), a read transfer, a write
    // that invalidates a sharer, an upgrade, a queue wait. Counted with the window all time, and
    // not at all with the window before the run or after it.
    const programs: Array<[number, LineOp[]]> = [
      [0, [read, compute(280), atomic]], // E at 120; after CPU 1's read, upgrades (at 500)
      [1, [compute(200), read, compute(500), atomic]], // reads from CPU 0 at 200, increments at 780
      [2, [compute(780), atomic]], // increments at 780 too: one of the two waits
      [3, [compute(550), read]], // reads from CPU 0 (CPU 0 keeps a copy the next write invalidates)
    ];
    for (const home of [0, 1]) {
      const all = stats(run(programs, { home }), home);
      expect([all.dramLocal, all.dramRemote]).toEqual(home === 0 ? [1, 0] : [0, 1]);
      expect(all.upgrades).toBe(1);
      expect(all.invalidations).toBeGreaterThanOrEqual(2);
      expect(all.transfersByClass.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
      expect(all.queueWaitPs).toBeGreaterThan(0);
      for (const window of [
        { warmupPs: 0, durationPs: 1 },
        { warmupPs: 10_000 * NS, durationPs: Infinity },
      ]) {
        const s = stats(run(programs, { home, window }), home);
        expect(s).toEqual({ transfersByClass: [0, 0, 0, 0, 0, 0], dramLocal: 0, dramRemote: 0, invalidations: 0, upgrades: 0, queueWaitPs: 0 });
      }
    }
  });
});

describe("xeon-80's home-broadcast hand-off: only a hand-off between sockets keeps the line for the home agent's transaction", () => {
  // CPUs 0, 1, 2 increment at 0 as above; CPU 3 increments at 200 (at the home at 232.5, waits);
  // CPU 0 increments again at 520 (at the home at 530).
  const programs: Array<[number, LineOp[]]> = [
    [0, [atomic, compute(400), atomic]],
    [1, [atomic]],
    [2, [atomic]],
    [3, [compute(200), atomic]],
  ];

  it("a cross-socket hand-off keeps the line 320 ns instead of 255; a hand-off on one die keeps its 100", () => {
    // CPU 1 from CPU 0 at 20 (die): busy 100, to 120. CPU 2 from CPU 1 at 120 (hop1): granted
    // 387.5, busy until 120 + 320 = 440. CPU 3 (waiting) at 440 from CPU 2: die 100 plus the
    // directory's indirection (legs 32.5 + 32.5 - 10 - 10 = 45): 440 + max(145 - 32.5, 32.5 +
    // 10) = 552.5; a die hand-off: busy until 540. CPU 0 (waiting since 530) at 540 from CPU 3
    // (hop1): 540 + max(300 - 10, 32.5 + 32.5) = 830.
    const r = run(programs, { preset: handOff4 });
    expect(r.machine.costs.crossSocketOccupancyPs).toBe(320 * NS);
    expect([timesNs(r, 0), timesNs(r, 1), timesNs(r, 2), timesNs(r, 3)]).toEqual([[120, 830], [130], [387.5], [552.5]]);
    // Waits: CPU 1 10, CPU 2 87.5, CPU 3 440 - 232.5 = 207.5, CPU 0 540 - 530 = 10.
    expect(stats(r).queueWaitPs).toBe(315 * NS);
    expect(r.finalValue.get(0)).toBe(5);
  });

  it("without it the same hand-off keeps the line its class's 255 ns", () => {
    // CPU 2's hand-off keeps the line until 120 + 255 = 375: CPU 3 at 375 + 112.5 = 487.5, the
    // line busy until 475; CPU 0's request at 530 finds it free: 530 + 290 = 820.
    const r = run(programs);
    expect(r.machine.costs.crossSocketOccupancyPs).toBeNull();
    expect([timesNs(r, 0), timesNs(r, 1), timesNs(r, 2), timesNs(r, 3)]).toEqual([[120, 820], [130], [387.5], [487.5]]);
    expect(stats(r).queueWaitPs).toBe((10 + 87.5 + 142.5) * NS);
  });

  it("a read across sockets and an upgrade that invalidates a copy on the other socket are cross-socket hand-offs too", () => {
    // CPU 0 reads at 0 (E, 120). CPU 2 reads at 200: at the home at 232.5, from CPU 0 (hop1, 260):
    // 232.5 + max(260 - 32.5, 10 + 32.5) = 460; busy 320, to 552.5. CPU 0 writes at 500 (it has a
    // Shared copy: an upgrade), at the home at 510, waits until 552.5 and invalidates CPU 2 (the
    // forwarder, hop1: 300): 552.5 + max(300 - 10, 10) = 842.5, no data moved, its source the
    // farthest copy invalidated (hop1); busy 320, to 872.5. CPU 1 increments at 600 (at the home at
    // 610), waits until 872.5, from CPU 0 (die): 872.5 + max(100 - 10, 10 + 10) = 962.5.
    const programs: Array<[number, LineOp[]]> = [
      [0, [read, compute(380), atomic]],
      [1, [compute(600), atomic]],
      [2, [compute(200), read]],
    ];
    const r = run(programs, { preset: handOff4 });
    expect([timesNs(r, 0), timesNs(r, 1), timesNs(r, 2)]).toEqual([[120, 842.5], [962.5], [460]]);
    expect(r.accesses.filter((a) => a.cpu === 0).map((a) => a.source)).toEqual([SOURCE_DRAM_LOCAL, HOP1]);
    const s = stats(r);
    expect([s.upgrades, s.invalidations]).toEqual([1, 1]);
    // Waits: CPU 0 552.5 - 510 = 42.5, CPU 1 872.5 - 610 = 262.5.
    expect(s.queueWaitPs).toBe(305 * NS);
    // Without the home agent's transaction: CPU 2's read keeps the line to 232.5 + 255 = 487.5,
    // CPU 0's upgrade at 510 is served at once (800, busy to 765), CPU 1 waits until 765: from CPU
    // 0, granted at 855 (CPU 0 forwards it when its upgrade lands at 800, 55 ns ahead).
    const plain = run(programs);
    expect([timesNs(plain, 0), timesNs(plain, 1), timesNs(plain, 2)]).toEqual([[120, 800], [855], [460]]);
    expect(stats(plain).queueWaitPs).toBe(155 * NS);
  });
});

describe("an upgrade and a write that wait at the home", () => {
  it("the holder's own upgrade, alone in the queue, is served when the line falls free", () => {
    // CPU 0 increments at 0 (E from DRAM, then M: 120). CPU 1 reads at 200: at the home at 210,
    // from CPU 0 (die, 80): 280; the line busy until 210 + 100 = 310. CPU 1 (now the forwarder,
    // CPU 0 a sharer) increments at once: an upgrade, at the home at 290, waits 20, and at 310
    // invalidates CPU 0 (die, 100): 310 + max(100 - 10, 10) = 400; its source the die.
    const r = run([
      [0, [atomic]],
      [1, [compute(200), read, atomic]],
    ]);
    expect([timesNs(r, 0), timesNs(r, 1)]).toEqual([[120], [280, 400]]);
    expect(r.accesses.filter((a) => a.cpu === 1).map((a) => a.source)).toEqual([DIE, DIE]);
    const s = stats(r);
    expect([s.upgrades, s.invalidations, s.queueWaitPs]).toEqual([1, 1, 20 * NS]);
    expect(s.transfersByClass[DIE]).toBe(1);
    expect(r.finalValue.get(0)).toBe(2);
  });

  it("the holder's own new request never wins the line back while another waits, whatever the seed's draw", () => {
    // As above, and CPU 2 increments at 250 (at the home at 282.5, before CPU 1's upgrade at 290).
    // At 310 both wait; CPU 1 holds the line's token, so CPU 2 is served (whatever pickWaiter
    // draws among two; the seed below draws CPU 1's place): from CPU 1 (hop1, 300; invalidating
    // CPU 0, hop1 too: 300): 310 + max(300 - 32.5, 10 + 32.5) = 577.5; busy until 310 + 255 =
    // 565. CPU 1's upgrade found its copy taken: at 565 it is a transfer from CPU 2 (hop1):
    // 565 + max(300 - 10, 32.5 + 32.5) = 855. Waits: 27.5 + 275.
    const seed = Array.from({ length: 64 }, (_, s) => s + 1).find((s) => pickWaiter(s, 0, 2, 2) === 0)!;
    expect(seed).toBeDefined();
    const r = run(
      [
        [0, [atomic]],
        [1, [compute(200), read, atomic]],
        [2, [compute(250), atomic]],
      ],
      { seed },
    );
    expect([timesNs(r, 0), timesNs(r, 1), timesNs(r, 2)]).toEqual([[120], [280, 855], [577.5]]);
    const s = stats(r);
    expect([s.upgrades, s.invalidations, s.queueWaitPs]).toEqual([0, 1, 302.5 * NS]);
    expect([s.transfersByClass[DIE], s.transfersByClass[HOP1]]).toEqual([1, 2]);
    expect(r.finalValue.get(0)).toBe(3);
  });
});

describe("memory", () => {
  it("a line homed on the other socket comes from remote DRAM and is counted so", () => {
    // Homed on node 1: CPU 0's request leg 32.5, remote DRAM 200: 32.5 + (200 - 32.5) = 200.
    // CPU 2, on node 1, increments another line of node 1 from local DRAM: 10 + 110 = 120.
    const r = run([
      [0, [atomic]],
      [2, [{ kind: "atomic", line: 1 }]],
    ], { home: 1 });
    expect([timesNs(r, 0), timesNs(r, 2)]).toEqual([[200], [120]]);
    expect(r.accesses.map((a) => a.source).sort()).toEqual([SOURCE_DRAM_LOCAL, SOURCE_DRAM_REMOTE].sort());
    expect([stats(r, 1).dramLocal, stats(r, 1).dramRemote]).toEqual([1, 1]);
  });

  it("a line's value preset in memory is what its first fetch brings; once cached it cannot be preset", () => {
    const r = run([
      [0, [read, atomic]],
      [1, [compute(300), atomic]],
    ], { initial: new Map([[0, 41]]) });
    expect(r.results.get(0)).toEqual([42, 43]);
    expect(r.finalValue.get(0)).toBe(43);
    expect(() => r.homes[0].presetValue(0, 1)).toThrow("line 0 is cached; cannot preset its memory value");
    // A line nobody cached yet can be preset again.
    r.homes[0].presetValue(7, 5);
    r.homes[0].presetValue(7, 6);
    expect(new Map(r.homes[0].entries()).get(7)?.value).toBe(6);
  });
});

describe("the directory's indirection", () => {
  it("adds the legs to a home far from both CPUs, beyond the pair's measured legs; broadcast adds nothing", () => {
    const m = new Machine(small4, 4);
    const w = { warmupPs: 0, durationPs: Infinity };
    const home1 = new HomeNode(1, 5, new Engine(6), m, w, 1);
    const home0 = new HomeNode(0, 4, new Engine(6), m, w, 1);
    // CPUs 0 and 1 (die) through node 1: legs 32.5 + 32.5, the pair's 10 + 10: 45 ns more.
    expect(home1.indirectionPs(0, 1)).toBe(45 * NS);
    expect(home1.indirectionPs(1, 0)).toBe(45 * NS);
    // CPUs 0 and 2 (hop1): node 0's legs 10 + 32.5 equal the pair's 32.5 + 10; so do node 1's.
    expect(home0.indirectionPs(0, 2)).toBe(0);
    expect(home1.indirectionPs(2, 0)).toBe(0);
    // CPUs 2 and 3 through node 0: 45 ns; through their own node, nothing.
    expect(home0.indirectionPs(2, 3)).toBe(45 * NS);
    expect(home1.indirectionPs(3, 2)).toBe(0);
    const bc = new Machine({ ...small4, name: "small-4-broadcast", protocol: "broadcast" }, 4);
    expect(new HomeNode(1, 5, new Engine(6), bc, w, 1).indirectionPs(0, 1)).toBe(0);
  });
});

describe("who a write invalidates, and what it costs", () => {
  it("a write from a third CPU invalidates the sharer near it and pays for the holder far from it; the sharer's next read misses", () => {
    // CPU 1 reads at 0 (E, 120). CPU 2 reads at 200 (from CPU 1, hop1: 460; CPU 1 keeps a copy,
    // the line busy until 232.5 + 255 = 487.5). CPU 0 increments at 500: at the home at 510, from
    // CPU 2 (hop1, 300), invalidating CPU 1 (die, 100: the holder's 300 is the larger): 510 +
    // max(300 - 10, 32.5 + 32.5) = 800; busy until 510 + 255 = 765. CPU 1 reads again at 600: its
    // copy is gone, so it asks the home (at 610), waits until 765, and gets the line from CPU 0
    // (die, 80): 765 + max(80 - 10, 10 + 10) = 835 (CPU 0 forwards it when its own data lands).
    const r = run([
      [0, [compute(500), atomic]],
      [1, [read, compute(480), read]],
      [2, [compute(200), read]],
    ]);
    expect([timesNs(r, 0), timesNs(r, 1), timesNs(r, 2)]).toEqual([[800], [120, 835], [460]]);
    expect(r.accesses.filter((a) => a.cpu === 1).map((a) => a.source)).toEqual([SOURCE_DRAM_LOCAL, DIE]);
    const s = stats(r);
    expect([s.invalidations, s.upgrades, s.queueWaitPs]).toEqual([1, 0, 155 * NS]);
    expect([s.transfersByClass[DIE], s.transfersByClass[HOP1]]).toEqual([1, 2]);
  });

  it("an upgrade invalidates the sharers and the forwarder alike, paying for the farthest", () => {
    // CPU 0 reads (E, 120). CPU 2 reads at 200 from CPU 0 (460; CPU 0 a sharer; busy to 487.5).
    // CPU 1 reads at 500 from CPU 2 (hop1, 260): at the home at 510, 510 + max(250, 32.5 + 32.5)
    // = 760; sharers 0 and 2, CPU 1 the forwarder; busy until 765. CPU 0 increments at 800: an
    // upgrade (at the home at 810) invalidating CPU 2 (hop1, 300) and CPU 1 (die, 100): 810 +
    // max(300 - 10, 10) = 1100, its source the farthest (hop1); busy until 810 + 255 = 1065.
    // CPUs 1 and 2 read again at 1200: both miss and get copies from CPU 0.
    const r = run([
      [0, [read, compute(680), atomic]],
      [1, [compute(500), read, compute(430), read]],
      [2, [compute(200), read, compute(740), read]],
    ]);
    expect(timesNs(r, 0)).toEqual([120, 1100]);
    expect(r.accesses.filter((a) => a.cpu === 0).map((a) => a.source)).toEqual([SOURCE_DRAM_LOCAL, HOP1]);
    expect(timesNs(r, 1)[0]).toBe(760);
    expect(timesNs(r, 2)[0]).toBe(460);
    // The second reads: each a transfer from CPU 0 or its forwarder, not a hit on a stale copy.
    expect(r.accesses.filter((a) => a.cpu !== 0 && a.timePs > 1100 * NS).map((a) => a.source).every((src) => src === DIE || src === HOP1)).toBe(true);
    const s = stats(r);
    expect([s.upgrades, s.invalidations]).toEqual([1, 2]);
    expect(r.finalValue.get(0)).toBe(1);
  });

  it("an upgrade through a home on the other socket pays the directory's indirection to the copy it invalidates", () => {
    // Homed on node 1. CPU 0 reads at 0: leg 32.5, remote DRAM 200: 200. CPU 1 reads at 300 (at
    // the home at 332.5) from CPU 0: die 80 + indirection 45: 332.5 + max(125 - 32.5, 42.5) = 425.
    // CPU 0 writes at 500, an upgrade at the home at 532.5 invalidating CPU 1: die 100 + 45 = 145:
    // 532.5 + max(145 - 32.5, 32.5) = 645.
    const r = run([
      [0, [read, compute(300), atomic]],
      [1, [compute(300), read]],
    ], { home: 1 });
    expect([timesNs(r, 0), timesNs(r, 1)]).toEqual([[200, 645], [425]]);
    expect([stats(r, 1).upgrades, stats(r, 1).invalidations]).toEqual([1, 1]);
  });

  it("a write pays the indirection to a sharer on another socket through a home on a third", () => {
    // small-4 with three sockets (CPUs 0-1, 2-3, 4-5; every socket one hop from the others), the
    // line homed on node 2. CPU 2 reads at 0: leg 32.5, remote DRAM 200: 200. CPU 1 reads at 300
    // (at the home at 332.5) from CPU 2 (hop1 260, indirection 32.5 + 32.5 - 32.5 - 10 = 22.5):
    // 332.5 + max(282.5 - 32.5, 32.5 + 32.5) = 582.5; busy until 332.5 + 255 = 587.5. CPU 0
    // increments at 700 (at the home at 732.5): from CPU 1 (die 100 + indirection 45 = 145),
    // invalidating CPU 2 (hop1 300 + 22.5 = 322.5, the larger): 732.5 + max(322.5 - 32.5, 32.5 +
    // 10) = 1022.5.
    const small6: MachinePreset = { ...small4, name: "small-6", shape: { ...small4.shape, sockets: 3 } };
    const r = runLineScenario({
      preset: small6,
      cpuCount: 6,
      programs: new Map<number, LineOp[]>([
        [0, [compute(700), atomic]],
        [1, [compute(300), read]],
        [2, [read]],
      ]),
      home: () => 2,
    });
    expect(r.idle).toBe(true);
    expect([timesNs(r, 2), timesNs(r, 1), timesNs(r, 0)]).toEqual([[200], [582.5], [1022.5]]);
    expect(r.homes[2].stats.invalidations).toBe(1);
  });
});

describe("a line granted while nobody else waits is kept for the next access", () => {
  it("after a fetch from memory, after a transfer and after an upgrade that waited, the next write is a hit", () => {
    // CPU 0: two increments from DRAM: 120, and a local hit at once (120). CPU 1 reads at 200
    // (from CPU 0: 280), increments: an upgrade that waits at the home (290 to 310): 400, and
    // increments again: a hit (400). CPU 2 increments at 1000 (at the home at 1032.5) from CPU 1
    // (hop1): 1032.5 + max(300 - 32.5, 42.5) = 1300, and again: a hit (1300).
    const r = run([
      [0, [atomic, atomic]],
      [1, [compute(200), read, atomic, atomic]],
      [2, [compute(1000), atomic, atomic]],
    ]);
    expect([timesNs(r, 0), timesNs(r, 1), timesNs(r, 2)]).toEqual([[120, 120], [280, 400, 400], [1300, 1300]]);
    expect(r.finalValue.get(0)).toBe(6);
    expect(stats(r).upgrades).toBe(1);
  });
});

describe("the waiting requests, kept in CPU order", () => {
  it.each([0, 1])("two requests arriving in CPU order are arbitrated in CPU order (the draw picks #%i)", (pick) => {
    // As mesi.test's arbitration, with CPU 2 (at the home at 37.5) ahead of CPU 3 (62.5): at 120
    // the home draws among [2, 3]; the one drawn gets the line from CPU 1 at 387.5, the other at
    // 487.5.
    const seed = Array.from({ length: 64 }, (_, s) => s + 1).find((s) => pickWaiter(s, 0, 2, 2) === pick)!;
    const r = run([
      [0, [atomic]],
      [1, [atomic]],
      [2, [compute(5), atomic]],
      [3, [compute(30), atomic]],
    ], { seed });
    const first = [2, 3][pick];
    const second = [2, 3][1 - pick];
    expect(timesNs(r, first)).toEqual([387.5]);
    expect(timesNs(r, second)).toEqual([487.5]);
  });

  it.each([0, 1])("a request arriving just as the line falls free is served at once, before another arriving then (draw #%i)", (pick) => {
    // CPU 2 increments at 0: at the home (node 0) at 32.5, from remote DRAM: 200; the line busy
    // one hop1 leg, until 65. CPUs 0 and 1 increment at 55: both at the home at 65, the instant
    // the line falls free. CPU 0's request comes first and is served at once, whatever the draw
    // (none is made): from CPU 2 (hop1) at 65 + max(300 - 10, 32.5 + 32.5) = 355, busy until 65 +
    // 255 = 320. CPU 1 waits until 320: from CPU 0 (die), 320 + max(100 - 10, 10 + 10) = 410.
    const seed = Array.from({ length: 64 }, (_, s) => s + 1).find((s) => pickWaiter(s, 0, 1, 2) === pick)!;
    const r = run([
      [0, [compute(55), atomic]],
      [1, [compute(55), atomic]],
      [2, [atomic]],
    ], { seed });
    expect([timesNs(r, 0), timesNs(r, 1), timesNs(r, 2)]).toEqual([[355], [410], [200]]);
    expect(stats(r).queueWaitPs).toBe(255 * NS);
  });
});

describe("the directory's indirection is never negative", () => {
  it("on a ring of four sockets, two CPUs two hops apart through a home one hop from each add nothing", () => {
    // One CPU per socket on a ring; reads: hop1 100, hop2 400 (legs 12.5 and 50, a die's 10).
    // Through node 1: legs 12.5 + 12.5 = 25, fewer than the pair's measured 50 + 10: no indirection.
    const ring: MachinePreset = {
      ...small4,
      name: "ring-4",
      shape: { sockets: 4, diesPerSocket: 1, coresPerDie: 1, threadsPerCore: 1, socketLinks: "ring" },
      atomic: [null, 100, null, 150, 500],
      read: [null, 80, null, 100, 400],
      dramRemote: [null, 200, 300],
    };
    const m = new Machine(ring, 4);
    expect(m.topology.cpuDistance(0, 2)).toBe(5);
    const home = new HomeNode(1, 5, new Engine(8), m, { warmupPs: 0, durationPs: Infinity }, 1);
    expect(home.indirectionPs(0, 2)).toBe(0);
    expect(home.indirectionPs(2, 0)).toBe(0);
  });
});
