import { describe, expect, it } from "vitest";
import { loadSweep } from "../../coordinator/sweep/points.ts";
import { runSweepEmbedded } from "../../coordinator/sweep/embedded.ts";
import type { PointOutcome } from "../../coordinator/sweep/outcome.ts";
import { sweepResultsDocument } from "../../coordinator/sweep/output.ts";
import { runExperiment } from "../../coordinator/experiment.ts";
import { resultsCsv } from "../../coordinator/output.ts";
import { verdict } from "../../coordinator/verdict.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { resolveSpec } from "../../shared/spec/resolve.ts";

const SWEEP = { machines: ["small-4"], workloads: ["migration"], schemes: ["clone-flags", "nsproxy", "percpu"], cpus: [1, 2, 4], seeds: [3], duration: "200us", warmup: "20us" };

describe("an embedded sweep", () => {
  it("of one machine, workload and seed gives refsim run's results.csv, with 1 or 3 threads", async () => {
    const plan = loadSweep(SWEEP, "test");
    const run = runExperiment(resolveSpec(parseSpec({ machine: "small-4", workload: "migration", schemes: ["clone-flags", "nsproxy", "percpu"], cpus: [1, 2, 4], seed: 3, duration: "200us", warmup: "20us" })));
    const expected = resultsCsv(run.runs);
    for (const workers of [1, 3]) {
      const outcomes = await runSweepEmbedded(plan, { workers });
      expect([...outcomes.values()].every((o) => o.status === "done")).toBe(true);
      const doc = sweepResultsDocument(plan, outcomes);
      expect(resultsCsv(doc.runs), `${workers} threads`).toBe(expected);
      expect(doc.runs.find((r) => r.cpus === 4)?.scalingEfficiency).toBeGreaterThan(0);
      expect(doc.verdict).toEqual(verdict(run.runs));
    }
  });

  it("records a point whose spec is invalid as failed after one attempt, and runs the others", async () => {
    const plan = loadSweep({ ...SWEEP, schemes: ["nsproxy"] }, "test");
    const bad = plan.points[1];
    bad.doc = { ...bad.doc, machine: "cray-1" };
    const seen: Array<[string, PointOutcome["status"]]> = [];
    const outcomes = await runSweepEmbedded(plan, {
      workers: 2,
      progress: { start() {}, note() {}, stop() {}, point: (p, o) => seen.push([p.id, o.status]) },
    });
    const failed = outcomes.get(bad.id);
    expect(failed).toMatchObject({ status: "failed", attempts: 1 });
    expect(failed?.status === "failed" && failed.error).toMatch(/^invalid spec: machine: expected a machine preset/);
    expect(plan.points.filter((p) => p !== bad).every((p) => outcomes.get(p.id)?.status === "done")).toBe(true);
    expect(seen).toHaveLength(plan.points.length);
    const doc = sweepResultsDocument(plan, outcomes);
    expect(doc.runs).toHaveLength(plan.points.length - 1);
    expect(doc.sweep.failed).toEqual([{ id: bad.id, point: "nsproxy @ 2 CPUs, small-4, migration, seed 3", error: failed?.status === "failed" ? failed.error : "" }]);
    expect(doc.sweep.points.find((p) => p.id === bad.id)?.status).toBe("failed");
  });
});
