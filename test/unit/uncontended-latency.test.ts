import { describe, expect, it } from "vitest";
import { findMachinePreset } from "../../shared/machine/presets.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { DIE } from "../../shared/machine/distance.ts";
import type { SchemeName } from "../../shared/schemes/scheme.ts";
import { simulate } from "../../shared/simulation.ts";
import { runOf } from "./support/spec.ts";

// One CPU, no contention, the namespace counts alone (kernel: refcounts-only; the kernel path's
// own uncontended costs are pinned in locks.test.ts): an operation's latency is its fixed cost plus the cost of each access,
// computed here by hand from the small-4 preset (1 GHz, so 1 cycle = 1 ns = 1000 ps).
//
// - A line the CPU already holds costs hitPs for a load or plain store, localAtomicPs for an atomic
//   (Cpu.run).
// - A line nobody caches comes from its home's DRAM: the request leg, then the home grants after
//   max(dram - leg, leg) (HomeNode.request), so the CPU waits max(dram, 2 * leg); with small-4's
//   numbers that is the DRAM latency itself. The CPU keeps the line (no capacity limit), so each
//   line costs a DRAM fetch once: a new child's task_struct line at every fork, the scheme's lines
//   on the first fork only.

const costs = new Machine(findMachinePreset("small-4")!, 1).costs;
const FORK_PS = 15_000_000; // DEFAULT_COSTS.fork, 15us
const EXIT_PS = 8_000_000; // DEFAULT_COSTS.exit, 8us

function firstTouchPs(): number {
  return costs.legPs[DIE] + Math.max(costs.dramPs[DIE] - costs.legPs[DIE], costs.legPs[DIE]);
}

function forkLoop(scheme: SchemeName) {
  return simulate(
    runOf({
      machine: "small-4",
      kernel: "refcounts-only",
      cpus: [1],
      schemes: [scheme],
      duration: "300us",
      warmup: "0ns",
      costs: { fork: "15us", exit: "8us" },
      workload: { preset: "fork-storm", think: "0ns", fork: { placement: "same-cpu", newNamespaces: [], childWork: "5us" } },
    }),
  );
}

/**
 * What a plain fork's scheme part does on a CPU that already holds its lines: atomics and plain
 * accesses (loads, per-CPU adds); and how many distinct scheme lines the very first fork fetches.
 */
const SCHEME_PART: Record<SchemeName, { atomics: number; plain: number; lines: number; pathPs: number }> = {
  none: { atomics: 0, plain: 0, lines: 0, pathPs: 0 },
  "clone-flags": { atomics: 8, plain: 0, lines: 8, pathPs: 0 },
  container: { atomics: 1, plain: 0, lines: 1, pathPs: 0 },
  openvz: { atomics: 2, plain: 0, lines: 1, pathPs: 0 }, // get_ve and pget_ve, both on the VE's one line
  nsproxy: { atomics: 1, plain: 0, lines: 1, pathPs: 0 },
  percpu: { atomics: 0, plain: 2, lines: 2, pathPs: 0 }, // read the mode word, add to the own per-CPU count
  sloppy: { atomics: 0, plain: 2, lines: 2, pathPs: 0 }, // read the mode word, take a spare
  // Add to the own delta, after refcache's own path (interrupts off, the way lookup): DEFAULT_COSTS.refcacheLocal, 62 ns.
  refcache: { atomics: 0, plain: 1, lines: 1, pathPs: 62_000 },
};

describe("an uncontended fork costs its fixed cost plus the sum of its accesses", () => {
  it("small-4 first-touch cost is the local DRAM latency (120 ns), hits 4 ns, local atomics 20 ns", () => {
    expect(firstTouchPs()).toBe(120_000);
    expect(costs.dramPs[DIE]).toBe(120_000);
    expect(costs.hitPs).toBe(4_000);
    expect(costs.localAtomicPs).toBe(20_000);
  });

  it.each(Object.entries(SCHEME_PART) as Array<[SchemeName, (typeof SCHEME_PART)[SchemeName]]>)(
    "under %s: steady-state fork = fork cost + DRAM fetches of the child's two task lines (thread_info, task_struct) + the scheme's hits; the first fork fetches the scheme's lines too",
    (scheme, part) => {
      const r = forkLoop(scheme);
      expect(r.invariants.ok).toBe(true);
      expect(r.operations.fork).toBeGreaterThan(5);
      const steadyPs = FORK_PS + 2 * firstTouchPs() + part.atomics * costs.localAtomicPs + part.plain * costs.hitPs + part.pathPs;
      // A second atomic on a line the first fork already fetched (openvz's pget_ve) costs a local atomic.
      const firstPs = FORK_PS + 2 * firstTouchPs() + part.lines * firstTouchPs() + Math.max(0, part.atomics - part.lines) * costs.localAtomicPs + part.pathPs;
      expect(r.latency.fork!.p50Ns * 1000).toBe(steadyPs);
      expect(r.latency.fork!.maxNs * 1000).toBe(firstPs);
    },
  );

  it.each(Object.entries(SCHEME_PART) as Array<[SchemeName, (typeof SCHEME_PART)[SchemeName]]>)(
    "under %s: the child's exit on the same CPU = exit cost + the mirror of the fork's hits, every one of them",
    (scheme, part) => {
      const r = forkLoop(scheme);
      // sloppy's put is a mode read plus a spare added; every other mirror has the fork's shape.
      const exitPs = EXIT_PS + part.atomics * costs.localAtomicPs + part.plain * costs.hitPs + part.pathPs;
      expect(r.latency.exit!.p50Ns * 1000).toBe(exitPs);
      expect(r.latency.exit!.maxNs * 1000).toBe(exitPs);
    },
  );

  it("clone-flags pays 7 more local atomics per fork than nsproxy on one CPU", () => {
    const cf = forkLoop("clone-flags").latency.fork!.p50Ns;
    const np = forkLoop("nsproxy").latency.fork!.p50Ns;
    expect((cf - np) * 1000).toBe(7 * costs.localAtomicPs);
  });
});
