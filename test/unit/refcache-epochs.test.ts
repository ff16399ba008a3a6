import { describe, expect, it } from "vitest";
import { COUNTER_REFCACHE } from "../../shared/kernel/objects.ts";
import { Simulation } from "../../shared/simulation.ts";
import { runOf } from "./support/spec.ts";

// Refcache confirms a zero two epochs after the flush that found it, by which time every CPU
// should have flushed the deltas it held at that moment.

describe("refcache epochs", () => {
  it("frees destroyed containers inside the run, after their zero has been confirmed, with every invariant kept", () => {
    const sim = new Simulation(
      runOf({
        machine: "small-4",
        cpus: [4],
        schemes: ["refcache"],
        duration: "400us",
        warmup: "0ns",
        options: { refcacheEpoch: "40us" },
        costs: { containerCreate: "2us", nsCreate: "1us", netnsCreate: "2us", fork: "2us", exit: "1us" },
        workload: "container-churn",
        // Freed objects stay in the kernel's freed lists (under linux-6 their memory goes back
        // to the slab instead, shared/slab/): this test reads those lists, so it keeps their
        // memory (refcounts-only reclaims it otherwise, protocol/reclaim.ts; the results are the same).
        kernel: "refcounts-only",
      }),
    );
    sim.kernel.reclaimer = null;
    // Every change of the awaiting-free count, with its time (the kernel keeps only their net by
    // sampling slot and by object: metrics/awaiting-free.ts).
    const queuedAt = new Map<number, number>();
    const leftAt = new Map<number, number>();
    const k = sim.kernel;
    const note = k.noteAwaitingFree.bind(k);
    k.noteAwaitingFree = (obj, delta) => {
      (delta > 0 ? queuedAt : leftAt).set(obj, k.engine.nowPs);
      note(obj, delta);
    };
    const r = sim.run();
    expect(r.invariants.violations).toEqual([]);
    expect(r.operations["container-destroy"]).toBeGreaterThan(0);
    const freed = sim.kernel.perCpu.flatMap((st) => st.freed);
    expect(freed.length).toBeGreaterThan(0);
    expect(r.memory.awaitingFreePeak).toBeGreaterThan(0);
    // Every freed object was first queued for review, and reviewed more than one epoch later (the
    // review is due two epochs after the one in which the flush queued it).
    const freedContainers = freed.filter((o) => sim.kernel.object(o).counter === COUNTER_REFCACHE);
    expect(freedContainers.length).toBeGreaterThan(0);
    for (const obj of freedContainers) {
      expect(queuedAt.has(obj), `object ${obj}`).toBe(true);
      expect(leftAt.get(obj)! - queuedAt.get(obj)!).toBeGreaterThan(40_000_000);
    }
  });

  // The epoch flush runs like an interrupt: it preempts an operation in progress (here, creating a
  // network namespace takes 2.6 ms against a 1 ms epoch). Were it queued behind the operation,
  // this CPU's deltas would stay unflushed while another CPU found a zero and, two of its own
  // epochs later, freed the object; the late flush would then land on a freed count.
  it("keeps an object alive while a CPU busy with a 2.6 ms netns creation still holds an unflushed reference (default epoch and costs)", () => {
    const r = new Simulation(
      runOf({
        machine: "small-4",
        cpus: [2],
        schemes: ["refcache"],
        seed: 9,
        duration: "20ms",
        warmup: "0ns",
        workload: {
          preset: "container-churn",
          tasksPerCpu: 1,
          containers: { count: 1, nesting: 1, pinToSockets: false },
          mix: { fork: 0, access: 2, unshare: 1, setns: 0, migrate: 1, churn: 2, hotInc: 0 },
          think: "1us",
          unshare: { namespaces: ["net"] },
          fork: { placement: "same-socket", newNamespaces: [], childWork: "5us" },
          churn: { tasks: 1 },
        },
      }),
    ).run();
    expect(r.invariants.violations).toEqual([]);
  });
});
