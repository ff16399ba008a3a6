import { describe, expect, it } from "vitest";
import type { RunResult } from "../../shared/metrics/result.ts";
import { simulate } from "../../shared/simulation.ts";
import { resultsCsv } from "../../coordinator/output.ts";
import { forkStormCurve, formatForkStorm } from "../../coordinator/validate/fork-storm.ts";
import { runOf } from "./support/spec.ts";

function forkStorm(doc: Record<string, unknown>): RunResult {
  return simulate(runOf({ workload: "fork-storm", duration: "300us", warmup: "30us", ...doc }));
}

function acquisitions(r: RunResult, name: string): number {
  const l = r.kernelPath?.locks.find((x) => x.name === name);
  if (l === undefined) throw new Error(`no lock ${name}`);
  return l.acquisitions;
}

describe("the linux-6 fork and exit path", () => {
  it("takes tasklist_lock once per fork and twice per exit, css_set_lock twice per fork and once per exit, pidmap_lock once per pid level plus one per fork and once per exit", () => {
    const r = forkStorm({ machine: "small-4", cpus: [1], schemes: ["nsproxy"], duration: "1ms", warmup: "100us" });
    expect(r.invariants.ok).toBe(true);
    const forks = r.operations.fork ?? 0;
    const exits = r.operations.exit ?? 0;
    expect(forks).toBeGreaterThan(20);
    // Acquisitions are counted when they happen, operations when they end: a window edge can split one.
    const near = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(3);
    near(acquisitions(r, "tasklist_lock"), forks + 2 * exits);
    near(acquisitions(r, "css_set_lock"), 2 * forks + exits);
    // One container: pid namespace levels 0 and 1.
    near(acquisitions(r, "pidmap_lock"), 3 * forks + exits);
    near(acquisitions(r, "sighand->siglock"), forks + 2 * exits);
    expect(r.kernelPath?.locks.every((l) => l.contended === 0)).toBe(true);
  });

  it("pays pid allocation per pid-namespace level: nested containers take pidmap_lock once more per level, a scheme without namespaces only at the initial level", () => {
    const nested = { machine: "small-4", cpus: [1], duration: "1ms", warmup: "100us", workload: { preset: "fork-storm", containers: { count: 1, nesting: 3, pinToSockets: false } } };
    const ns = simulate(runOf({ ...nested, schemes: ["nsproxy"] }));
    const none = simulate(runOf({ ...nested, schemes: ["none"] }));
    const perFork = (r: RunResult) => (acquisitions(r, "pidmap_lock") - (r.operations.exit ?? 0)) / (r.operations.fork ?? 1);
    expect(perFork(ns)).toBeCloseTo(4 + 1 + 1, 0);
    expect(perFork(none)).toBeCloseTo(1 + 1, 0);
  });

  it("on one CPU, the scheme's own steps are a small share of a fork: none 0, nsproxy's one count below clone-flags' eight", () => {
    const share = (scheme: string) => forkStorm({ machine: "xeon-80", cpus: [1], schemes: [scheme] }).kernelPath?.namespaceRefShare.fork ?? -1;
    const none = share("none");
    const nsproxy = share("nsproxy");
    const cloneFlags = share("clone-flags");
    expect(none).toBe(0);
    expect(nsproxy).toBeGreaterThan(0);
    expect(cloneFlags).toBeGreaterThan(nsproxy);
    expect(cloneFlags).toBeLessThan(0.05);
  });

  it("stops fork-storm scaling on xeon-80 for every scheme, the baseline without namespaces too: 40 CPUs do not fork twice as fast as 10", () => {
    for (const scheme of ["none", "nsproxy"]) {
      const [ten, forty] = [10, 40].map((cpus) => forkStorm({ machine: "xeon-80", cpus: [cpus], schemes: [scheme], duration: "200us", warmup: "20us" }));
      expect(ten.invariants.ok && forty.invariants.ok).toBe(true);
      expect(forty.throughputOpsPerSec).toBeLessThan(2 * ten.throughputOpsPerSec);
      expect(forty.kernelPath?.lockWaitShare.fork).toBeGreaterThan(0.3);
      // Shares of the latency of the operations that completed in the window: at most all of it.
      expect(forty.kernelPath?.lockWaitShare.fork).toBeLessThanOrEqual(1);
      expect(forty.kernelPath?.lockWaitShare.exit).toBeLessThanOrEqual(1);
    }
  });

  it("keeps refcounts-only results free of the kernel path's fields; results.csv says which profile ran and gives the lock figures", () => {
    const old = forkStorm({ machine: "small-4", cpus: [2], schemes: ["nsproxy"], kernel: "refcounts-only" });
    expect(old.kernelPath).toBeUndefined();
    const now = forkStorm({ machine: "small-4", cpus: [2], schemes: ["nsproxy"] });
    const [header, oldRow, nowRow] = resultsCsv([old, now]).trim().split("\n").map((l) => l.split(","));
    const col = (row: string[], name: string) => row[header.indexOf(name)];
    expect(col(oldRow, "kernel")).toBe("refcounts-only");
    expect(col(oldRow, "lock_tasklist_acquisitions")).toBe("");
    expect(col(nowRow, "kernel")).toBe("linux-6");
    expect(Number(col(nowRow, "lock_tasklist_acquisitions"))).toBe(now.kernelPath?.locks.find((l) => l.name === "tasklist_lock")?.acquisitions);
    expect(Number(col(nowRow, "namespace_ref_share_fork"))).toBe(now.kernelPath?.namespaceRefShare.fork);
  });

  it("refsim validate's fork-storm curve gives each scheme's throughput and shares at each CPU count", () => {
    const points = forkStormCurve("small-4", [1, 4], "60us", "10us");
    expect(points.map((p) => p.cpus)).toEqual([1, 4]);
    for (const p of points) {
      expect(p.throughput.none).toBeGreaterThan(0);
      expect(p.nsproxyRefShare).toBeGreaterThan(0);
      expect(p.cloneFlagsRefShare).toBeGreaterThan(p.nsproxyRefShare);
      expect(p.lockWaitShare).toBeGreaterThanOrEqual(0);
      expect(p.lockWaitShare).toBeLessThanOrEqual(1);
    }
    expect(formatForkStorm(points).split("\n")).toHaveLength(4);
  });
});
