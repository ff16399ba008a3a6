import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nsproxyScheme } from "../../shared/schemes/nsproxy.ts";
import { percpuScheme } from "../../shared/schemes/percpu.ts";
import type { Scheme } from "../../shared/schemes/scheme.ts";
import { SimulationError } from "../../shared/engine/errors.ts";
import { Simulation } from "../../shared/simulation.ts";
import { arbitrarySpec } from "./support/arbitrary-workload.ts";
import { runOf } from "./support/spec.ts";

// The invariant checks must catch a scheme that gets its counting wrong: a broken scheme's run
// records the failure (it does not crash, and it does not pass).
// These runs use kernel: refcounts-only, where freed memory is never reused, so a use after free
// is seen as one: while the memory is in quarantine (one to two reclaim periods after its free,
// protocol/reclaim.ts) the count line's poison records it as a violation, and a use that reaches
// past its reclaim stops the run with an error naming the object. Under linux-6 a freed object's memory is reused (shared/slab/), and a use after
// free reaches whatever object lives there now: as in a kernel without KASAN, the invariants
// then see the damage it does (a leak, a count below zero), or the run stops with an error.

const REFERENCE_ERRORS = ["lost-reference", "use-after-free", "count-below-zero", "free-while-referenced"];

/**
 * Runs `doc` with `broken` in place of its scheme. `armed` is switched on after set-up, so the
 * containers and long-lived tasks start correct and only the run's own operations go wrong.
 */
function runBroken(doc: Record<string, unknown>, make: (armed: () => boolean) => Scheme) {
  let armed = false;
  const sim = new Simulation(runOf(doc), { schemeOverride: make(() => armed) });
  armed = true;
  return sim.run();
}

const forgetsTheGetOnFork = (armed: () => boolean): Scheme => ({
  ...nsproxyScheme,
  fork(k, w, parent, newKinds) {
    if (armed() && newKinds === 0) return [parent[0]];
    return nsproxyScheme.fork(k, w, parent, newKinds);
  },
});

const putsTwiceOnExit = (armed: () => boolean): Scheme => ({
  ...nsproxyScheme,
  exit(k, w, attach, owned) {
    nsproxyScheme.exit(k, w, attach, owned);
    if (armed()) nsproxyScheme.exit(k, w, attach, owned);
  },
});

const forgetsThePutOnExit = (armed: () => boolean): Scheme => ({
  ...percpuScheme,
  exit(k, w, attach, owned) {
    if (!armed()) percpuScheme.exit(k, w, attach, owned);
  },
});

const forkStorm = { machine: "small-4", cpus: [2], schemes: ["nsproxy"], duration: "100us", warmup: "0ns", workload: "fork-storm", kernel: "refcounts-only" };

describe("a deliberately broken scheme is caught", () => {
  it("the correct nsproxy scheme passes the same run (the control)", () => {
    const r = new Simulation(runOf(forkStorm)).run();
    expect(r.operations.exit).toBeGreaterThan(0);
    expect(r.invariants.ok).toBe(true);
  });

  it("nsproxy whose fork forgets the get: lost references, or a free while referenced", () => {
    const r = runBroken(forkStorm, forgetsTheGetOnFork);
    expect(r.invariants.ok).toBe(false);
    expect(r.invariants.violations.length).toBeGreaterThan(0);
    for (const v of r.invariants.violations) expect(REFERENCE_ERRORS).toContain(v.kind);
  });

  it("nsproxy whose exit puts twice: the count runs out under live tasks", () => {
    const r = runBroken(forkStorm, putsTwiceOnExit);
    expect(r.invariants.ok).toBe(false);
    for (const v of r.invariants.violations) expect(REFERENCE_ERRORS).toContain(v.kind);
  });

  it("percpu whose exit forgets the put: the per-CPU sum shows a leak", () => {
    const r = runBroken({ ...forkStorm, schemes: ["percpu"] }, forgetsThePutOnExit);
    expect(r.invariants.ok).toBe(false);
    expect(r.invariants.violations.map((v) => v.kind)).toContain("leak");
  });

  it("in random workloads, any completed plain fork or exit under a broken nsproxy is caught", () => {
    let exercisedRuns = 0;
    let stoppedRuns = 0;
    fc.assert(
      fc.property(arbitrarySpec("nsproxy"), fc.boolean(), (doc, breakFork) => {
        const workload = doc.workload as { fork: { newNamespaces: string[] } };
        workload.fork.newNamespaces = [];
        let r: ReturnType<typeof runBroken>;
        try {
          r = runBroken({ ...doc, kernel: "refcounts-only" }, breakFork ? forgetsTheGetOnFork : putsTwiceOnExit);
        } catch (e) {
          // Caught past the quarantine: the run stops, naming the use after free.
          expect(e).toBeInstanceOf(SimulationError);
          expect((e as Error).message).toMatch(/use after free/);
          exercisedRuns++;
          stoppedRuns++;
          return;
        }
        const exercised = breakFork ? (r.operations.fork ?? 0) > 0 : (r.operations.exit ?? 0) > 0;
        if (exercised) {
          exercisedRuns++;
          expect(r.invariants.ok).toBe(false);
          for (const v of r.invariants.violations) expect([...REFERENCE_ERRORS, "leak"]).toContain(v.kind);
        }
      }),
      { numRuns: 40, seed: 99 },
    );
    expect(exercisedRuns).toBeGreaterThan(20);
    // Most are caught as violations, in quarantine.
    expect(stoppedRuns).toBeLessThan(exercisedRuns / 2);
  });
});
