import { describe, expect, it } from "vitest";
import type { SchemeName } from "../../shared/schemes/scheme.ts";
import { simulate } from "../../shared/simulation.ts";
import { runsOf } from "./support/spec.ts";

// fork-storm on the current 2-socket server: the scheme decides how a fork's reference scales,
// when the namespace counts are all a fork shares (kernel: refcounts-only; with the kernel's own
// fork path, tasklist_lock and the rest stop every scheme from scaling: kernel-path.test.ts).

function forkStorm(schemes: SchemeName[], cpus: number[]) {
  return runsOf({ machine: "modern-2s", cpus, schemes, workload: "fork-storm", kernel: "refcounts-only" }).map((run) => simulate(run));
}

describe("fork-storm scaling, namespace counts only", () => {
  it("percpu scales at 90% efficiency or better from 1 to 64 CPUs", () => {
    const [one, many] = forkStorm(["percpu"], [1, 64]);
    expect(one.invariants.ok && many.invariants.ok).toBe(true);
    expect(many.sharedAtomicsPerOp).toBe(0);
    expect(many.throughputOpsPerSec / (64 * one.throughputOpsPerSec)).toBeGreaterThanOrEqual(0.9);
  });

  it("clone-flags takes 8 times nsproxy's atomics per operation (8 namespace counts against 1 nsproxy count) and moves more lines at 64 CPUs", () => {
    const [cf1, cf64, np1, np64] = forkStorm(["clone-flags", "nsproxy"], [1, 64]);
    for (const r of [cf1, cf64, np1, np64]) expect(r.invariants.ok).toBe(true);
    expect(np1.sharedAtomicsPerOp).toBeGreaterThan(0.95);
    expect(np1.sharedAtomicsPerOp).toBeLessThan(1.1);
    expect(cf1.sharedAtomicsPerOp / np1.sharedAtomicsPerOp).toBeCloseTo(8, 0);
    expect(cf64.sharedAtomicsPerOp / np64.sharedAtomicsPerOp).toBeCloseTo(8, 0);
    expect(cf64.transfersPerOp).toBeGreaterThan(2 * np64.transfersPerOp);
    expect(cf64.throughputOpsPerSec).toBeLessThan(np64.throughputOpsPerSec);
  });
});
