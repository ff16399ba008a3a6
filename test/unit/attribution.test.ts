import { LatencyHistogram } from "../../shared/metrics/latency-histogram.ts";
import { beforeAll, describe, expect, it } from "vitest";
import { resultsCsv } from "../../coordinator/output.ts";
import { namespaceShareGroup } from "../../coordinator/namespace-share-verdict.ts";
import { verdict } from "../../coordinator/verdict.ts";
import { OP_EXIT, OP_FORK } from "../../shared/kernel/program.ts";
import { ATTR_INTERRUPTED, ATTR_LOCK_WAIT, BREAKDOWN_PARTS, latencyBreakdown, type LatencyBreakdown } from "../../shared/metrics/attribution.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { mergeReports } from "../../shared/report.ts";
import { Simulation, simulate } from "../../shared/simulation.ts";
import { runOf } from "./support/spec.ts";

const FORK_STORM = { machine: "small-4", workload: "fork-storm", duration: "150us", warmup: "20us" };

/** Runs a spec and returns the partition's report beside the result. */
function runWithReport(doc: Record<string, unknown>) {
  const config = runOf({ ...FORK_STORM, ...doc });
  const sim = new Simulation(config);
  sim.start();
  sim.runUntil(config.durationPs);
  sim.runUntil(Infinity);
  const report = sim.report();
  return { report, result: mergeReports(config, [report]), classes: ATTR_LOCK_WAIT + report.lockClasses.length };
}

function shareSum(b: LatencyBreakdown): number {
  return BREAKDOWN_PARTS.reduce((s, [part]) => s + b[part], 0);
}

describe("where an operation's latency goes", () => {
  for (const scheme of ["nsproxy", "refcache"]) {
    it(`every picosecond of every measured fork and exit is in exactly one class, per CPU: ${scheme} on small-4 x 4 under linux-6`, () => {
      const { report, result, classes } = runWithReport({ cpus: [4], schemes: [scheme], options: { refcacheEpoch: "5us" } });
      expect(result.invariants.ok).toBe(true);
      let interrupted = 0;
      for (const cpu of report.cpus) {
        for (const op of [OP_FORK, OP_EXIT]) {
          const latency = LatencyHistogram.fromReport(cpu.latencyPsByKind[op]).sum;
          let attributed = 0;
          for (let c = 0; c < classes; c++) attributed += cpu.timeByOp[op * classes + c];
          expect(attributed).toBe(latency);
          expect(latency).toBeGreaterThan(0);
          interrupted += cpu.timeByOp[op * classes + ATTR_INTERRUPTED];
        }
      }
      // refcache's epoch flushes interrupt operations; that time is the operation's too.
      if (scheme === "refcache") expect(interrupted).toBeGreaterThan(0);
      for (const b of [result.kernelPath!.latencyBreakdown.fork, result.kernelPath!.latencyBreakdown.exit]) {
        expect(Math.abs(shareSum(b) - 1)).toBeLessThan(1e-5);
        // Each lock's wait is part of the total wait.
        const byLock = Object.values(b.lockWaitByLock).reduce((a, x) => a + x, 0);
        expect(Math.abs(byLock - b.lockWait)).toBeLessThan(1e-5);
      }
      expect(result.kernelPath!.latencyBreakdown.fork.operations).toBe(result.operations.fork);
    });
  }

  it("gives none no namespace reference time, nsproxy's one count some, clone-flags' eight more; lock waits grow with the CPUs", () => {
    const at = (scheme: string, cpus: number) => simulate(runOf({ ...FORK_STORM, cpus: [cpus], schemes: [scheme] })).kernelPath!.latencyBreakdown;
    const none = at("none", 4);
    expect(none.fork.namespaceRefs).toBe(0);
    expect(none.exit.namespaceRefs).toBe(0);
    const nsproxy = at("nsproxy", 1).fork.namespaceRefs;
    expect(nsproxy).toBeGreaterThan(0);
    expect(at("clone-flags", 1).fork.namespaceRefs).toBeGreaterThan(nsproxy);
    expect(none.fork.lockWait).toBeGreaterThan(at("none", 1).fork.lockWait);
    expect(none.fork.parallelCompute).toBeGreaterThan(0.5);
  });

  it("derives the kernel path's namespace and lock-wait shares from the breakdown, and writes it to results.csv", () => {
    const r = simulate(runOf({ ...FORK_STORM, cpus: [2], schemes: ["nsproxy"] }));
    const k = r.kernelPath!;
    expect(k.namespaceRefShare.fork).toBe(k.latencyBreakdown.fork.namespaceRefs);
    expect(k.lockWaitShare.exit).toBe(k.latencyBreakdown.exit.lockWait);
    const [header, row] = resultsCsv([r]).trim().split("\n").map((l) => l.split(","));
    const col = (name: string) => Number(row[header.indexOf(name)]);
    expect(col("fork_share_namespace_refs")).toBe(k.latencyBreakdown.fork.namespaceRefs);
    expect(col("exit_share_parallel_compute")).toBe(k.latencyBreakdown.exit.parallelCompute);
    expect(col("fork_mean_ns")).toBe(k.latencyBreakdown.fork.meanNs);
    expect(col("lock_tasklist_wait_share_fork")).toBe(k.latencyBreakdown.fork.lockWaitByLock.tasklist_lock);
  });
});

describe("a breakdown from the summed class times", () => {
  // 4 operations, 1000 ps in all: scheme 200, locked 100, kernel memory 100, compute 500, and
  // waits of 60 (tasklist_lock, class 0) and 40 (class 1, a wait_lock counted in it): shares of
  // 1000 ps, lock wait (60 + 40) / 1000 = 0.1, tasklist_lock's own 0.06; mean 1000 / 4 = 250 ps.
  it("gives each class its share of the latency and the mean in ns", () => {
    const classPs = [200, 100, 100, 500, 0, 60, 40];
    expect(latencyBreakdown(classPs, ["tasklist_lock", null], 4, 1000)).toEqual({
      operations: 4,
      meanNs: 0.25,
      namespaceRefs: 0.2,
      lockWait: 0.1,
      lockWaitByLock: { tasklist_lock: 0.06 },
      lockedSections: 0.1,
      kernelMemory: 0.1,
      parallelCompute: 0.5,
      interrupted: 0,
    });
  });

  // An operation kind that completed nothing in the window (no time either): zeros, not 0 / 0.
  it("is all zeros, not NaN, for an operation kind with no operation", () => {
    const b = latencyBreakdown([0, 0, 0, 0, 0, 0], ["tasklist_lock"], 0, 0);
    expect(b).toEqual({
      operations: 0,
      meanNs: 0,
      namespaceRefs: 0,
      lockWait: 0,
      lockWaitByLock: { tasklist_lock: 0 },
      lockedSections: 0,
      kernelMemory: 0,
      parallelCompute: 0,
      interrupted: 0,
    });
  });
});

describe("the verdict on the seed's question", () => {
  // Simulated in beforeAll, not while the file is collected: code run at collection is marked
  // static by the mutation run, whose mutants then survive these tests.
  let runs: RunResult[] = [];
  beforeAll(() => {
    runs = ["none", "nsproxy", "clone-flags"].flatMap((scheme) =>
      [1, 2, 4].map((cpus) => simulate(runOf({ machine: "opteron-48", workload: "fork-storm", duration: "80us", warmup: "10us", cpus: [cpus], schemes: [scheme] }))),
    );
  });

  it("names nsproxy's share of fork latency at 1 CPU, one socket's worth and all CPUs, from the runs' breakdowns", () => {
    const g = namespaceShareGroup(runs)!;
    expect(g.points.map((p) => [p.cpus, p.role])).toEqual([
      [1, "1 CPU"],
      [4, "all CPUs"],
    ]);
    const share = (cpus: number) => runs.find((r) => r.scheme === "nsproxy" && r.cpus === cpus)!.kernelPath!.latencyBreakdown.fork.namespaceRefs;
    expect(g.points[0].namespaceRefs.nsproxy).toBe(share(1));
    expect(g.nsproxyMaxShare).toBe(Math.max(share(1), share(2), share(4)));
    expect(g.summary).toContain(`${(share(1) * 100).toPrecision(2)}% at 1 CPU`);
    expect(g.summary).toContain("does not matter");
    expect(verdict(runs).summary.some((l) => l.startsWith("Under kernel linux-6, nsproxy's one namespace reference is"))).toBe(true);
  });

  it("says it matters when the data say so, and names one socket when a run fits one", () => {
    const socket = simulate(runOf({ machine: "opteron-48", workload: "fork-storm", duration: "40us", warmup: "10us", cpus: [12], schemes: ["nsproxy"] }));
    const bigger = structuredClone(socket);
    bigger.cpus = 48;
    const heavy = structuredClone(runs.find((r) => r.scheme === "nsproxy" && r.cpus === 1)!) as RunResult;
    heavy.kernelPath!.latencyBreakdown.fork.namespaceRefs = 0.2;
    const g = namespaceShareGroup([heavy, socket, bigger])!;
    expect(g.points.map((p) => p.role)).toEqual(["1 CPU", "one socket", "all CPUs"]);
    expect(g.summary).toContain("20% at 1 CPU");
    expect(g.summary).toContain("it matters");
  });

  it("says nothing of shares under refcounts-only", () => {
    const old = simulate(runOf({ machine: "small-4", workload: "fork-storm", duration: "40us", warmup: "10us", cpus: [1], schemes: ["nsproxy"], kernel: "refcounts-only" }));
    expect(namespaceShareGroup([old])).toBeNull();
    expect(verdict([old]).namespaceShares).toEqual([]);
  });
});
