import { describe, expect, it } from "vitest";
import { getPutTable, hotLineCurve, publishedRows } from "../../coordinator/validate/validate.ts";
import { PUBLISHED } from "../../coordinator/validate/published.ts";
import { simulate } from "../../shared/simulation.ts";
import { runsOf } from "./support/spec.ts";

// The fast subset of `refsim validate`: the qualitative facts the sources state, checked on
// simulated values (short runs), and the published inputs reproduced in the setting they were
// measured in.

describe("refsim validate, fast subset", () => {
  it("an isolated transfer reproduces SSYNC's Table 2 figure it was built from, within 1%, on every class of both machines", () => {
    const rows = publishedRows(PUBLISHED.filter((p) => p.experiment === "transfer"));
    expect(rows.length).toBe(14);
    for (const r of rows) expect(Math.abs(r.ratio - 1), `${r.machine} ${r.experiment}: ${r.simulatedCycles} vs ${r.publishedCycles}`).toBeLessThan(0.01);
  });

  it.each([
    ["xeon-80", 10, 11],
    ["opteron-48", 12, 13],
  ] as Array<[string, number, number]>)("on %s the throughput of one contended line drops once a second socket joins (%i -> %i writers), and keeps dropping to all CPUs", (machine, one, two) => {
    const all = machine === "xeon-80" ? 80 : 48;
    const [a, b, c] = hotLineCurve(machine, [one, two, all], "60us");
    expect(a.crossSocketShare).toBe(0);
    expect(b.crossSocketShare).toBeGreaterThan(0);
    expect(b.cyclesPerAtomic).toBeGreaterThan(a.cyclesPerAtomic);
    expect(c.cyclesPerAtomic).toBeGreaterThan(b.cyclesPerAtomic);
    // With writers on every socket most transfers leave the holder's socket (36/47 on opteron-48, 70/79 on xeon-80).
    expect(c.crossSocketShare).toBeGreaterThan(0.7);
  });

  it("per-CPU counters beat a shared counter by a bounded factor on two CPUs of one socket (get-put on xeon-80)", () => {
    const [two] = getPutTable("xeon-80", [2], "40us");
    const shared = two.throughput.container!;
    for (const s of ["percpu", "refcache"] as const) {
      const ratio = two.throughput[s]! / shared;
      expect(ratio, s).toBeGreaterThan(1.5);
      expect(ratio, s).toBeLessThan(50);
    }
  });

  it("get-put takes and drops one reference through each scheme's own get and put", () => {
    const runs = runsOf({ machine: "small-4", cpus: [1], schemes: "all", workload: "get-put", duration: "20us", warmup: "2us" }).map((c) => simulate(c));
    const atomics = Object.fromEntries(runs.map((r) => [r.scheme, r.atomicsPerOp]));
    // refcount_inc + refcount_dec_and_test on the shared count; percpu_ref and refcache change
    // per-CPU words with plain adds; sloppy takes a spare and returns it.
    expect(atomics).toEqual({ none: 0, "clone-flags": 2, container: 2, openvz: 2, nsproxy: 2, percpu: 0, sloppy: 0, refcache: 0 });
    for (const r of runs) {
      expect(r.operations["get-put"], r.scheme).toBeGreaterThan(100);
      expect(r.invariants.ok, r.scheme).toBe(true);
    }
  });
});
