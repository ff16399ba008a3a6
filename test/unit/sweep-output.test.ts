import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import type { PointOutcome } from "../../coordinator/sweep/outcome.ts";
import { failedPoints, sweepResultsDocument, writeSweepResults } from "../../coordinator/sweep/output.ts";
import { loadSweep } from "../../coordinator/sweep/points.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { runResult } from "./support/run-result.ts";

// A sweep's results document from made-up outcomes (no simulation): which points it keeps, in
// which order, the efficiency it fills in, and what its sweep section says of every point.

const SWEEP = { name: "tiny", machines: ["small-4", "modern-2s"], workloads: ["migration"], schemes: ["nsproxy", "percpu"], cpus: [4, 1], seeds: [3], duration: "200us", warmup: "20us" };

/** A run result with only the fields a test sets (the rest zero). */
function run(fill: Partial<RunResult>): RunResult {
  return {
    scheme: "none",
    machine: "m",
    cpus: 1,
    workload: "migration",
    seed: 3,
    operations: {},
    totalOps: 0,
    throughputOpsPerSec: 0,
    latency: {},
    atomicsPerOp: 0,
    transfersPerOp: 0,
    memory: { bytesPerTask: 0, refBytesPerContainer: 0, fixedBytes: 0, liveObjectsAtEnd: 0, awaitingFreePeak: 0, awaitingFreeAtEnd: 0 },
    scalingEfficiency: null,
    invariants: { ok: true, violationCount: 0, violations: [] },
    ...fill,
  } as RunResult;
}

describe("a sweep's results document", () => {
  const plan = loadSweep(SWEEP, "test-version");
  // Points in the order machine, workload, seed, scheme, CPUs: small-4 nsproxy 1, 4; percpu 1, 4;
  // then modern-2s the same.
  const [n1, n4, p1, p4, m1, m4, mp1, mp4] = plan.points;
  const outcomes = new Map<string, PointOutcome>([
    [p4.id, { status: "done", result: run({ scheme: "percpu", machine: "small-4", cpus: 4, throughputOpsPerSec: 300 }), earlier: false }],
    [n1.id, { status: "done", result: run({ scheme: "nsproxy", machine: "small-4", cpus: 1, throughputOpsPerSec: 100 }), earlier: true }],
    [n4.id, { status: "done", result: run({ scheme: "nsproxy", machine: "small-4", cpus: 4, throughputOpsPerSec: 200 }), earlier: false }],
    [p1.id, { status: "failed", error: "worker lost", attempts: 3 }],
    [m1.id, { status: "done", result: run({ scheme: "nsproxy", machine: "modern-2s", cpus: 1, throughputOpsPerSec: 10 }), earlier: false }],
    [m4.id, { status: "done", result: run({ scheme: "nsproxy", machine: "modern-2s", cpus: 4, throughputOpsPerSec: 36 }), earlier: false }],
    [mp4.id, { status: "failed", error: "timed out", attempts: 1 }],
  ]);
  // Computed before each test, not while the file is collected (see result-figures.test.ts).
  let doc: ReturnType<typeof sweepResultsDocument>;
  beforeEach(() => {
    doc = sweepResultsDocument(plan, outcomes);
  });

  it("keeps every point that succeeded, in the sweep's order, with efficiency against its own one-CPU run", () => {
    expect(doc.runs.map((r) => [r.machine, r.scheme, r.cpus])).toEqual([
      ["small-4", "nsproxy", 1],
      ["small-4", "nsproxy", 4],
      ["small-4", "percpu", 4],
      ["modern-2s", "nsproxy", 1],
      ["modern-2s", "nsproxy", 4],
    ]);
    // nsproxy on small-4: 200 / (4 x 100); percpu's one-CPU point failed: none; modern-2s: 36 / (4 x 10).
    expect(doc.runs.map((r) => r.scalingEfficiency)).toEqual([1, 0.5, null, 1, 0.9]);
    // The outcomes' results are copies: the document's efficiency is not written into them.
    const stored = outcomes.get(n4.id);
    expect(stored?.status === "done" && stored.result.scalingEfficiency).toBeNull();
  });

  it("describes the first point's machine and seed with the sweep's CPU counts (ascending) and schemes", () => {
    expect(doc.codeVersion).toBe("test-version");
    expect(doc.seed).toBe(3);
    expect(doc.machine.name).toBe("small-4");
    expect(doc.spec.name).toBe("tiny");
    expect(doc.spec.cpus).toEqual([1, 4]);
    expect(doc.spec.schemes).toEqual(["nsproxy", "percpu"]);
    expect(doc.verdict.cpus).toBe(4);
  });

  it("lists the sweep: its id and spec, every machine with its summary, workloads, and each point's status", () => {
    const s = doc.sweep;
    expect(s.id).toBe(plan.id);
    expect(s.name).toBe("tiny");
    expect(s.spec).toBe(plan.document);
    expect(s.distributeAbove).toBe(plan.distributeAbove);
    expect(s.machines.map((m) => m.name)).toEqual(["small-4", "modern-2s"]);
    expect(s.machines.every((m) => m.summary.length > 0)).toBe(true);
    expect(s.workloads).toEqual(["migration"]);
    expect(s.points.map((p) => p.status)).toEqual(["done", "done", "failed", "done", "done", "done", "missing", "failed"]);
    expect(s.points[2]).toEqual({ id: p1.id, machine: "small-4", workload: "migration", seed: 3, scheme: "percpu", cpus: 1, distributed: false, status: "failed" });
    expect(s.points.map((p) => p.id)).toEqual(plan.points.map((p) => p.id));
  });

  it("names each failed point with its error, and each point without an outcome as stopped", () => {
    const stopped = "no outcome (the sweep stopped before it ended)";
    expect(doc.sweep.failed).toEqual([
      { id: p1.id, point: "percpu @ 1 CPU, small-4, migration, seed 3", error: "worker lost" },
      { id: mp1.id, point: "percpu @ 1 CPU, modern-2s, migration, seed 3", error: stopped },
      { id: mp4.id, point: "percpu @ 4 CPUs, modern-2s, migration, seed 3", error: "timed out" },
    ]);
    expect(failedPoints(plan, new Map())).toHaveLength(plan.points.length);
  });

  it("writes results.json and results.csv of the document, with why it is incomplete when it is", () => {
    const dir = mkdtempSync(join(tmpdir(), "refsim-sweep-output-"));
    try {
      const incomplete = { reason: "stopped", done: 5, total: 8, continueWith: "refsim sweep --resume" };
      // One point done (a whole result, for the CSV), one failed, six without an outcome.
      const some = new Map<string, PointOutcome>([
        [n1.id, { status: "done", result: runResult({ scheme: "nsproxy", machine: "small-4", cpus: 1, workload: "migration", seed: 3 }), earlier: false }],
        [p1.id, { status: "failed", error: "worker lost", attempts: 1 }],
      ]);
      const written = writeSweepResults(dir, plan, some, incomplete);
      expect(written.json).toBe(join(dir, "results.json"));
      expect(written.csv).toBe(join(dir, "results.csv"));
      expect(written.doc.incomplete).toEqual(incomplete);
      const json = JSON.parse(readFileSync(written.json, "utf8"));
      expect(json.incomplete).toEqual(incomplete);
      expect(json.sweep.failed).toHaveLength(7);
      expect(json.runs).toHaveLength(1);
      // A header and the one run that succeeded.
      expect(readFileSync(written.csv, "utf8").trim().split("\n")).toHaveLength(2);
      expect(writeSweepResults(dir, plan, some).doc.incomplete).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
