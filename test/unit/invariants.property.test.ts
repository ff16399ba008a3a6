import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SCHEME_NAMES } from "../../shared/schemes/scheme.ts";
import { OP_KINDS } from "../../shared/kernel/program.ts";
import { Simulation } from "../../shared/simulation.ts";
import { arbitrarySpec } from "./support/arbitrary-workload.ts";
import { runOf } from "./support/spec.ts";

// Random small experiments (random operation mixes, placements, nesting, unshare/setns kinds,
// 2-4 CPUs of small-4) under every scheme: the end-of-run checks find every reference accounted
// for, and the workload's own bookkeeping balances.

const RUNS_PER_SCHEME = 50;

describe.each(SCHEME_NAMES)("random workloads under %s", (scheme) => {
  it("keep every invariant (no count below zero, no use after free, no leak, no lost reference) and conserve tasks and containers", () => {
    fc.assert(
      fc.property(arbitrarySpec(scheme), (doc) => {
        const sim = new Simulation(runOf(doc));
        const r = sim.run();
        expect(r.invariants.violations).toEqual([]);
        expect(r.invariants.ok).toBe(true);
        {
          // Every operation ever completed (warm-up and drain included): tasks alive = workers + forks - exits.
          const ops: Record<string, number> = {};
          for (const cpu of sim.cpus) OP_KINDS.forEach((name, i) => (ops[name] = (ops[name] ?? 0) + cpu.stats.completedByKind[i]));
          const workers = r.cpus * (doc.workload as { tasksPerCpu: number }).tasksPerCpu;
          expect(sim.kernel.tasks.size).toBe(workers + (ops.fork ?? 0) - (ops.exit ?? 0));
          const cycling = [...sim.kernel.tasks.values()].filter((t) => t.churn !== null).length;
          expect((ops["container-create"] ?? 0) - (ops["container-destroy"] ?? 0)).toBe(cycling);
        }
      }),
      { numRuns: RUNS_PER_SCHEME, seed: 20_260_206 },
    );
  });
});

describe("the random workloads exercise what they should", () => {
  it("over a sample, every operation kind occurs, and per-CPU schemes free objects inside the run", () => {
    const seen = new Set<string>();
    let frees = 0;
    fc.assert(
      fc.property(fc.constantFrom("percpu", "sloppy", "refcache"), fc.integer({ min: 0, max: 1e9 }), (scheme, seed) => {
        const doc = fc.sample(arbitrarySpec(scheme), { numRuns: 1, seed })[0];
        const r = new Simulation(runOf(doc)).run();
        for (const [op, n] of Object.entries(r.operations)) if ((n ?? 0) > 0) seen.add(op);
        frees += r.memory.awaitingFreePeak;
      }),
      { numRuns: 30, seed: 7 },
    );
    expect([...seen].sort()).toEqual(["access", "container-create", "container-destroy", "exit", "fork", "hot-inc", "migrate", "setns", "unshare"]);
    expect(frees).toBeGreaterThan(0);
  });
});
