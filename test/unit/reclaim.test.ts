import { describe, expect, it } from "vitest";
import { SimulationError } from "../../shared/engine/errors.ts";
import { Machine } from "../../shared/machine/machine.ts";
import { Partition } from "../../shared/protocol/partition.ts";
import { socketAligned } from "../../shared/protocol/partitioning.ts";
import { RECLAIM_PERIOD_PS } from "../../shared/protocol/reclaim.ts";
import { runWindowed } from "../../shared/protocol/windowed.ts";
import { nsproxyScheme } from "../../shared/schemes/nsproxy.ts";
import type { Scheme } from "../../shared/schemes/scheme.ts";
import { Simulation } from "../../shared/simulation.ts";
import { runOf } from "./support/spec.ts";

// Under kernel: refcounts-only nothing reuses freed memory, so an exited task's and a freed
// object's memory is reclaimed instead, at a reclaim boundary one to two periods after its end
// (protocol/reclaim.ts). Nothing touches it again in a correct run: the results are those of
// the run that keeps everything, byte for byte, however the run is split.

/** Every fork makes a UTS namespace and a bundle, and its child's exit frees both. */
const forks = { machine: "small-4", cpus: [4], schemes: ["nsproxy"], warmup: "100us", kernel: "refcounts-only", workload: { preset: "fork-storm", fork: { newNamespaces: ["uts"] } } };

/** What a partition holds: records, directory lines, cached copies. */
function held(p: Partition): { table: number; lines: number; cached: number } {
  let lines = 0;
  for (const h of p.homes) if (h !== undefined) for (const _ of h.entries()) lines++;
  let cached = 0;
  for (const c of p.cpus) if (c !== undefined) cached += c.heldEntries().length / 2;
  return { table: p.kernel.objects.size, lines, cached };
}

/** Runs `doc` embedded, sampling what it holds 400 times along the way; the peak of each. */
function peakOf(doc: Record<string, unknown>, reclaim = true) {
  const sim = new Simulation(runOf(doc));
  if (!reclaim) sim.kernel.reclaimer = null;
  const peak = { table: 0, lines: 0, cached: 0 };
  const result = sim.run(() => {
    const h = held(sim);
    peak.table = Math.max(peak.table, h.table);
    peak.lines = Math.max(peak.lines, h.lines);
    peak.cached = Math.max(peak.cached, h.cached);
  }, 400);
  return { result, peak, end: held(sim), sim };
}

describe("reclaimed memory (kernel: refcounts-only)", () => {
  it("freed namespaces and bundles leave the table, the directories and the caches: a run 10x longer holds no more at its peak, with the results of the run that keeps them", () => {
    const short = peakOf({ ...forks, duration: "1ms" });
    const long = peakOf({ ...forks, duration: "10ms" });
    const kept = peakOf({ ...forks, duration: "10ms" }, false);
    expect(JSON.stringify(long.result)).toBe(JSON.stringify(kept.result));
    expect(long.result.invariants.ok).toBe(true);
    expect(long.result.totalOps).toBeGreaterThan(8 * short.result.totalOps);
    // Kept, the table grows with every fork (20,000 records after 10 ms); reclaimed, it holds the
    // live objects and what the last two periods retired.
    expect(kept.end.table).toBeGreaterThan(10 * long.peak.table);
    expect(long.peak.table).toBeLessThanOrEqual(1.25 * short.peak.table);
    expect(long.peak.lines).toBeLessThanOrEqual(1.25 * short.peak.lines);
    expect(long.peak.cached).toBeLessThanOrEqual(1.25 * short.peak.cached);
    // At the end everything retired is gone: the live tasks, their objects and the set-up ones.
    const k = long.sim.kernel;
    for (const st of k.perCpu) expect(st.freed).toEqual([]);
    for (const o of k.objects.all()) if (o.type === 0) expect(o.createdPs === 0 || k.tasks.has(o.id)).toBe(true);
  });

  it("per-CPU counters' lines go too (percpu: each CPU's line of each dead namespace), with the same results", () => {
    const churn = { machine: "small-4", cpus: [4], schemes: ["percpu"], workload: "container-churn", warmup: "1ms", kernel: "refcounts-only" };
    const long = peakOf({ ...churn, duration: "20ms" });
    const kept = peakOf({ ...churn, duration: "20ms" }, false);
    expect(JSON.stringify(long.result)).toBe(JSON.stringify(kept.result));
    expect(long.result.invariants.ok).toBe(true);
    expect(kept.end.lines).toBeGreaterThan(3 * long.peak.lines);
    for (const st of long.sim.kernel.perCpu) expect(st.switched.length).toBeLessThanOrEqual(long.sim.kernel.objects.size);
  });

  it("a partitioned run reclaims the same memory at the same boundaries in every partition, and gives the embedded result byte for byte", () => {
    for (const [doc, cpus] of [
      [{ ...forks, machine: "xeon-80", duration: "2ms", workload: { preset: "fork-storm", fork: { newNamespaces: ["uts"], placement: "random" } } }, 20],
      [{ machine: "xeon-80", schemes: ["percpu"], workload: "container-churn", warmup: "200us", duration: "6ms", kernel: "refcounts-only" }, 20],
    ] as const) {
      const config = runOf({ ...doc, cpus: [cpus] });
      const embedded = JSON.stringify(new Simulation(config).run());
      const machine = new Machine(config.machine, config.cpuCount);
      // The most records and directory lines each partition held at a barrier.
      const peaks = [0, 0, 0, 0];
      const keptPeaks = [0, 0, 0, 0];
      const sample = (into: number[], p: Partition) => {
        const h = held(p);
        into[p.index] = Math.max(into[p.index], h.table);
        into[2 + p.index] = Math.max(into[2 + p.index], h.lines);
      };
      // Sampled every 16th barrier (a look through every line at each would cost more than the run).
      const split = runWindowed(config, socketAligned(machine, 2), {}, undefined, (w, p) => {
        if (w % 16 === 0) sample(peaks, p);
        return p;
      });
      expect(JSON.stringify(split.result)).toBe(embedded);
      expect(split.stats.crossEvents).toBeGreaterThan(0);
      // The same split with the reclaim off in every partition keeps what it retired.
      const kept = runWindowed(config, socketAligned(machine, 2), {}, undefined, (w, p) => {
        p.kernel.reclaimer = null;
        if (w % 16 === 0) sample(keptPeaks, p);
        return p;
      });
      expect(JSON.stringify(kept.result)).toBe(embedded);
      for (const i of [0, 1, 2, 3]) expect(keptPeaks[i]).toBeGreaterThan(1.5 * peaks[i]);
    }
  });

  it("windows end at every reclaim boundary, even where partitions never meet", () => {
    const c = runOf({ machine: "xeon-80", cpus: [40], kernel: "refcounts-only", schemes: ["nsproxy"], duration: "1ms", warmup: "30us", workload: { preset: "fork-storm", containers: { count: 4, nesting: 0, pinToSockets: true }, fork: { placement: "same-socket" } } });
    const ends: number[] = [];
    const { stats } = runWindowed(c, socketAligned(new Machine(c.machine, c.cpuCount), 2), {}, undefined, (_, p) => {
      if (p.index === 0) ends.push(p.engine.nowPs);
      return p;
    });
    expect(stats.crossEvents).toBe(0);
    // One window per period of the duration, then the drain.
    expect(stats.windows).toBeGreaterThanOrEqual(1e9 / RECLAIM_PERIOD_PS);
    expect(stats.windows).toBeLessThanOrEqual(1e9 / RECLAIM_PERIOD_PS + 2);
    for (let i = 1; i < ends.length - 1; i++) expect(Math.floor(ends[i] / RECLAIM_PERIOD_PS)).toBeGreaterThan(Math.floor(ends[i - 1] / RECLAIM_PERIOD_PS) - 1);
  });

  it("a notice that comes after its boundary is an error naming the partition and the object", () => {
    const p = new Partition(runOf({ ...forks, duration: "1ms" }));
    p.start();
    p.runUntil(3 * RECLAIM_PERIOD_PS + 5);
    p.learnRetired(1, [5 * RECLAIM_PERIOD_PS, 77]);
    expect(() => p.learnRetired(1, [4 * RECLAIM_PERIOD_PS, 78])).toThrow(/partition 1 retired object 78 due at 400000000 ps, out of order/);
    expect(() => p.learnRetired(2, [RECLAIM_PERIOD_PS, 79])).toThrow(SimulationError);
  });
});

describe("a use after free in refcounts-only", () => {
  /**
   * nsproxy with one extra get, on the first bundle CPU 0 made, by CPU 0's first fork at or after
   * `atPs` (CPU 0 only: a split run's partitions share the scheme, and CPU 0 is in one of them).
   */
  const touchesItsFirstBundleAt = (atPs: number): Scheme => {
    let first = -1;
    let done = false;
    return {
      ...nsproxyScheme,
      fork(k, w, parent, newKinds) {
        const attach = nsproxyScheme.fork(k, w, parent, newKinds);
        if (k.currentCpu !== 0) return attach;
        if (first < 0 && newKinds !== 0) first = attach[0];
        else if (!done && first >= 0 && k.nowPs >= atPs) {
          done = true;
          k.get(w, first);
        }
        return attach;
      },
    };
  };
  const doc = { ...forks, duration: "600us", warmup: "0ns" };

  it("in quarantine, is recorded as a violation: the count line is still poisoned", () => {
    const r = new Simulation(runOf(doc), { schemeOverride: touchesItsFirstBundleAt(40_000_000) }).run();
    expect(r.invariants.ok).toBe(false);
    expect(r.invariants.violations.map((v) => v.kind)).toContain("use-after-free");
  });

  it("past its memory's reclaim, stops the run with an error naming the object, the same embedded and split", () => {
    const config = runOf(doc);
    const run = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(SimulationError);
        return (e as Error).message;
      }
      return "no error";
    };
    const embedded = run(() => new Simulation(config, { schemeOverride: touchesItsFirstBundleAt(450_000_000) }).run());
    expect(embedded).toMatch(/^object \d+ is in no table here: a use after free, past its memory's reclaim \(at \d+ ps, cpu \d\)$/);
    const split = run(() => runWindowed(config, socketAligned(new Machine(config.machine, config.cpuCount), 2), { schemeOverride: touchesItsFirstBundleAt(450_000_000) }));
    expect(split).toBe(embedded);
  });
});
