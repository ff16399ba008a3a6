import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Machine } from "../../shared/machine/machine.ts";
import { fromCpuOwners, lookaheadPs, socketAligned } from "../../shared/protocol/partitioning.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { planRuns, resolveSpec, type RunConfig } from "../../shared/spec/resolve.ts";
import { simulate } from "../../shared/simulation.ts";
import { runWindowed } from "../../shared/protocol/windowed.ts";

function config(doc: Record<string, unknown>): RunConfig {
  return planRuns(resolveSpec(parseSpec(doc)))[0];
}

/** Reference scenarios with cross-CPU forks and migrations, so that events really cross partitions. */
const SCENARIOS: Array<[string, Record<string, unknown>]> = [
  ["migration on xeon-80 x 24 CPUs, nsproxy", { machine: "xeon-80", cpus: [24], schemes: ["nsproxy"], workload: "migration", duration: "300us", warmup: "30us" }],
  ["nested on opteron-48 x 48 CPUs, percpu", { machine: "opteron-48", cpus: [48], schemes: ["percpu"], workload: "nested", duration: "200us", warmup: "20us" }],
  [
    "random-placement fork storm on modern-2s x 64 CPUs, clone-flags",
    { machine: "modern-2s", cpus: [64], schemes: ["clone-flags"], duration: "200us", warmup: "20us", workload: { preset: "fork-storm", fork: { placement: "random" } } },
  ],
  [
    "container churn with random placement on small-4, refcache",
    {
      machine: "small-4",
      cpus: [4],
      schemes: ["refcache"],
      workload: { preset: "container-churn", fork: { placement: "random" } },
      duration: "3ms",
      warmup: "300us",
      options: { refcacheEpoch: "200us" },
    },
  ],
];

describe("a run split into partitions", () => {
  for (const [name, doc] of SCENARIOS) {
    it(`gives the embedded result byte for byte with 1, 2, 3 and 4 socket-aligned partitions: ${name}`, () => {
      const c = config(doc);
      const embedded = JSON.stringify(simulate(c));
      const machine = new Machine(c.machine, c.cpuCount);
      for (const workers of [1, 2, 3, 4]) {
        const { result, stats } = runWindowed(c, socketAligned(machine, workers));
        expect(JSON.stringify(result)).toBe(embedded);
        if (workers > 1) expect(stats.crossEvents).toBeGreaterThan(0);
      }
    });
  }

  it("gives the embedded result on random valid partitions (property)", () => {
    const c = config({ machine: "small-4", cpus: [4], schemes: ["sloppy"], workload: "migration", duration: "150us", warmup: "15us" });
    const embedded = JSON.stringify(simulate(c));
    const machine = new Machine(c.machine, c.cpuCount);
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 4 }), fc.array(fc.nat(), { minLength: 4, maxLength: 4 }), (parts, raw) => {
        // Every partition owns at least one CPU: CPU i < parts goes to partition i, the rest anywhere.
        const owners = raw.map((r, cpu) => (cpu < parts ? cpu : r % parts));
        const { result } = runWindowed(c, fromCpuOwners(machine, owners, parts));
        expect(JSON.stringify(result)).toBe(embedded);
      }),
      { numRuns: 12 },
    );
  });

  it("lets partitions that cannot reach each other (containers pinned to sockets) run long windows, with the same result", () => {
    // Without the kernel's own fork path: its tasklist_lock and pidmap_lock connect every partition.
    const c = config({
      machine: "xeon-80",
      cpus: [40],
      kernel: "refcounts-only",
      schemes: ["nsproxy"],
      duration: "300us",
      warmup: "30us",
      workload: { preset: "fork-storm", containers: { count: 4, nesting: 0, pinToSockets: true }, fork: { placement: "same-socket" } },
    });
    const embedded = JSON.stringify(simulate(c));
    const machine = new Machine(c.machine, c.cpuCount);
    const { result, stats } = runWindowed(c, socketAligned(machine, 2));
    expect(JSON.stringify(result)).toBe(embedded);
    expect(stats.crossEvents).toBe(0);
    // A window ends at each reclaim boundary (100 us) on the way: three of them in 300 us, and the drain.
    expect(stats.windows).toBeLessThanOrEqual(3 + 3);
    // The same workload with children placed anywhere interacts, and windows stay one lookahead long.
    const random = config({ machine: "xeon-80", cpus: [40], schemes: ["nsproxy"], duration: "300us", warmup: "30us", workload: { preset: "fork-storm", containers: { count: 4, nesting: 0, pinToSockets: true }, fork: { placement: "random" } } });
    const mixed = runWindowed(random, socketAligned(machine, 2));
    expect(JSON.stringify(mixed.result)).toBe(JSON.stringify(simulate(random)));
    expect(mixed.stats.windows).toBeGreaterThan(100);
  });

  it("gives the embedded result whether or not partitions are isolated (property over pinning, placement and migration)", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.constantFrom("same-cpu", "same-socket", "least-loaded", "random"),
        fc.nat({ max: 2 }),
        fc.constantFrom("socket", "machine"),
        fc.constantFrom("nsproxy", "percpu", "refcache", "clone-flags"),
        fc.integer({ min: 1, max: 1000 }),
        (pin, placement, migrate, scope, scheme, seed) => {
          const c = config({
            machine: "small-4",
            cpus: [4],
            seed,
            schemes: [scheme],
            duration: "120us",
            warmup: "10us",
            workload: {
              preset: "fork-storm",
              containers: { count: 2, nesting: 0, pinToSockets: pin },
              mix: { fork: 3, migrate, access: 2, unshare: 0, setns: 0, churn: 0, hotInc: 0 },
              migrate: { scope },
              fork: { placement, newNamespaces: [], childWork: "2us" },
            },
          });
          const { result } = runWindowed(c, socketAligned(new Machine(c.machine, c.cpuCount), 2));
          expect(JSON.stringify(result)).toBe(JSON.stringify(simulate(c)));
        },
      ),
      { numRuns: 25 },
    );
  });

  it("splits sockets only when there are more workers than sockets", () => {
    const m = new Machine(c80(), 80);
    const four = socketAligned(m, 4);
    for (let cpu = 0; cpu < 80; cpu++) expect(four.cpuOwner[cpu]).toBe(Math.floor(m.topology.socketOf(cpu) / 2));
    const m2 = new Machine(c80(), 20);
    const split = socketAligned(m2, 4);
    expect(new Set(split.cpuOwner).size).toBe(4);
    expect(split.cpuOwner[0]).toBe(0);
    expect(split.cpuOwner[19]).toBe(3);
  });

  it("uses the smallest latency of any message between partitions as the lookahead", () => {
    const m = new Machine(c80(), 80);
    const c = m.costs;
    // Sockets 0-3 and 4-7 of the 3-cube: the nearest cross-partition pairs are one hop apart.
    expect(lookaheadPs(m, socketAligned(m, 2))).toBe(Math.min(c.legPs[4], c.occupancyPs[4], c.atomicPs[4]));
    expect(lookaheadPs(m, socketAligned(m, 1))).toBe(Infinity);
  });
});

function c80() {
  return config({ machine: "xeon-80", cpus: [80], workload: "fork-storm" }).machine;
}
