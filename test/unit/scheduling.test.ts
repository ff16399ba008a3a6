import { describe, expect, it } from "vitest";
import { ROLE_WORKER } from "../../shared/kernel/kernel.ts";
import { Simulation } from "../../shared/simulation.ts";
import { runOf } from "./support/spec.ts";

// Tasks move between run queues (forks placed elsewhere, migrations) but a task is only ever in
// one place: one run queue, or in flight to one.

function migrationRun(cpus: number, seed: number) {
  const sim = new Simulation(
    runOf({ machine: "small-4", cpus: [cpus], schemes: ["nsproxy"], seed, duration: "300us", warmup: "0ns", workload: "migration" }),
  );
  const result = sim.run();
  const occurrences = new Map<number, number>();
  for (const st of sim.kernel.perCpu) for (const id of st.runQueue) occurrences.set(id, (occurrences.get(id) ?? 0) + 1);
  const workers = [...sim.kernel.tasks.values()].filter((t) => t.role === ROLE_WORKER);
  return { sim, result, occurrences, workers };
}

describe("run queues", () => {
  it("a task migrating to its own CPU (the only CPU) stays queued once", () => {
    const { result, occurrences, workers } = migrationRun(1, 1);
    expect(result.operations.migrate).toBeGreaterThan(10);
    for (const w of workers) expect(occurrences.get(w.id)).toBe(1);
  });

  it.each([2, 4])("after a migration-heavy run on %i CPUs every long-lived task sits in exactly one run queue, its own CPU's", (cpus) => {
    const { sim, result, occurrences, workers } = migrationRun(cpus, 3);
    expect(result.operations.migrate).toBeGreaterThan(10);
    expect(result.invariants.ok).toBe(true);
    for (const w of workers) {
      expect(occurrences.get(w.id), `task ${w.id}`).toBe(1);
      expect(sim.kernel.perCpu[w.cpu].runQueue).toContain(w.id);
    }
    for (const [id, n] of occurrences) expect(n, `task ${id}`).toBe(1);
  });
});
