import { describe, expect, it } from "vitest";
import { challengeEvidence, challengeGroups, type ChallengeEvidence } from "../../coordinator/challenge.ts";
import { runExperiment } from "../../coordinator/experiment.ts";
import { challengeBars } from "../../coordinator/report/challenge-chart.ts";
import { verdict } from "../../coordinator/verdict.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import { withChaseOf } from "../../shared/schemes/chase.ts";
import { SCHEMES } from "../../shared/schemes/index.ts";
import { simulate } from "../../shared/simulation.ts";
import { parseSpec } from "../../shared/spec/parse.ts";
import { resolveSpec } from "../../shared/spec/resolve.ts";
import { runOf } from "./support/spec.ts";
import { runResult } from "./support/run-result.ts";

// The 2006 challenge (issue 12 item 6): container against clone-flags and nsproxy, the ratio split
// by counterfactual runs of container (the other model's layout, then its pointer chase too) into
// the variables' layout, the pointer chase and the reference count.

function run(fill: Partial<RunResult>): RunResult {
  return {
    scheme: "none",
    machine: "m",
    cpus: 4,
    workload: "w",
    seed: 1,
    operations: {},
    totalOps: 10000,
    throughputOpsPerSec: 0,
    latency: { access: { p50Ns: 30, p99Ns: 40, maxNs: 50 } },
    measuredPs: 1e9,
    atomicsPerOp: 0,
    transfersPerOp: 0,
    scalingEfficiency: null,
    invariants: { ok: true, violationCount: 0, violations: [] },
    ...fill,
  } as RunResult;
}

const evidence = (versus: "clone-flags" | "nsproxy", layout: number, chase: number): ChallengeEvidence[] =>
  (["layout", "chase"] as const).map((step) => ({ machine: "m", workload: "w", cpus: 4, seed: 1, versus, step, throughputOpsPerSec: step === "layout" ? layout : chase, invariantsOk: true }));

describe("the 2006 challenge's split", () => {
  it("splits container's ratio into three factors whose product is the ratio, and names the largest part", () => {
    const runs = [run({ scheme: "container", throughputOpsPerSec: 150 }), run({ scheme: "clone-flags", throughputOpsPerSec: 100 }), run({ scheme: "nsproxy", throughputOpsPerSec: 160 })];
    // container 150; with the other's layout 125; with its pointer chase too 110; the other 100.
    const [cf, ns] = challengeGroups(runs, [...evidence("clone-flags", 125, 110), ...evidence("nsproxy", 125, 150)]);
    expect(cf).toMatchObject({ versus: "clone-flags", ratio: 1.5, parts: { layout: 1.2, pointerChase: 1.1364, referenceCount: 1.1 } });
    expect(cf.parts.layout * cf.parts.pointerChase * cf.parts.referenceCount).toBeCloseTo(cf.ratio, 3);
    expect(cf.summary).toBe(
      "container vs clone-flags (w on m, 4 CPUs): better, 1.50x the throughput, mostly because of the per-container variables' layout (the per-container variables' layout 1.20x, the pointer chase 1.14x, the reference count 1.10x).",
    );
    expect(ns).toMatchObject({ versus: "nsproxy", ratio: 0.9375, parts: { layout: 1.2, pointerChase: 0.8333, referenceCount: 0.9375 } });
    expect(ns.summary).toMatch(/^container vs nsproxy \(w on m, 4 CPUs\): worse, 0.938x the throughput, mostly because of the pointer chase/);
    const v = verdict(runs, evidence("clone-flags", 125, 110));
    expect(v.summary).toContain(`The 2006 challenge: ${cf.summary}`);
    expect(v.challengeEvidence).toHaveLength(2);
    // The chart draws the three parts as log2 factors that add up to the ratio's.
    const bars = challengeBars([cf]);
    expect(bars.map((b) => b.part)).toEqual(["variables' layout", "pointer chase", "reference count"]);
    expect(bars.reduce((sum, b) => sum + b.log2, 0)).toBeCloseTo(Math.log2(1.5), 3);
  });

  it("gives each machine and workload its own group", () => {
    // w on m: container 150 against clone-flags 100 (1.5x); w on m2: container 120 against 100 (1.2x).
    const on = (machine: string, container: number) => [run({ scheme: "container", machine, throughputOpsPerSec: container }), run({ scheme: "clone-flags", machine, throughputOpsPerSec: 100 })];
    const ev = (machine: string) => evidence("clone-flags", 125, 110).map((e) => ({ ...e, machine }));
    const groups = challengeGroups([...on("m", 150), ...on("m2", 120)], [...ev("m"), ...ev("m2")]);
    expect(groups.map((g) => [g.machine, g.ratio])).toEqual([
      ["m", 1.5],
      ["m2", 1.2],
    ]);
  });

  it("does not tell apart what the window's end alone could move: a fork of 15 us in a 100 us window", () => {
    const slow = { latency: { fork: { p50Ns: 15000, p99Ns: 15000, maxNs: 15000 } }, measuredPs: 100e6 };
    const runs = [run({ scheme: "container", throughputOpsPerSec: 108, ...slow }), run({ scheme: "clone-flags", throughputOpsPerSec: 100, ...slow })];
    const [g] = challengeGroups(runs, evidence("clone-flags", 106, 104));
    expect(g.noise).toBeCloseTo(0.15, 6);
    expect(g.summary).toMatch(/: not told apart, 1.08x the throughput .*up to 15%, so simulate longer/);
  });

  it("without container and clone-flags or nsproxy at one CPU count, there is nothing to split", () => {
    expect(challengeGroups([run({ scheme: "container", throughputOpsPerSec: 1 })], [])).toEqual([]);
    const spec = resolveSpec(parseSpec({ machine: "small-4", cpus: [2], schemes: ["container", "percpu"], workload: "fork-storm", duration: "50us", warmup: "5us" }));
    expect(challengeEvidence(spec, runExperiment(spec).runs)).toEqual([]);
  });
});

describe("the counterfactual runs", () => {
  it("changes only the variable accesses: with nsproxy's chase an access goes through one line more than with clone-flags' (the bundle)", () => {
    const config = runOf({ machine: "small-4", cpus: [1], schemes: ["container"], workload: "net-heavy", duration: "200us", warmup: "20us", vars: { layout: "scattered" } });
    const viaNsproxy = simulate(config, { schemeOverride: withChaseOf(SCHEMES.container, "nsproxy") });
    const viaClone = simulate(config, { schemeOverride: withChaseOf(SCHEMES.container, "clone-flags") });
    for (const r of [viaNsproxy, viaClone]) expect(r.invariants.ok).toBe(true);
    const access = (r: RunResult) => r.latency.access?.p50Ns ?? NaN;
    // One CPU: every line a hit after the first touch, 4 ns each.
    expect(access(viaNsproxy) - access(viaClone)).toBe(4);
    // The same fork and exit (the container's counting): the same number of forks.
    expect(viaNsproxy.operations.fork).toBe(viaClone.operations.fork);
  });

  it("on fork-storm (no variable accesses) layout and pointer chase are exactly 1: the counterfactual runs are the container run, so the ratio is all reference count", () => {
    const spec = resolveSpec(parseSpec({ machine: "small-4", cpus: [4], schemes: ["clone-flags", "container", "nsproxy"], workload: "fork-storm", duration: "200us", warmup: "20us" }));
    const result = runExperiment(spec);
    const ev = challengeEvidence(spec, result.runs);
    expect(ev.map((e) => `${e.versus} ${e.step}`)).toEqual(["clone-flags layout", "clone-flags chase", "nsproxy layout", "nsproxy chase"]);
    const container = result.runs.find((r) => r.scheme === "container")!;
    for (const e of ev) expect(e.throughputOpsPerSec).toBe(container.throughputOpsPerSec);
    const groups = challengeGroups(result.runs, ev);
    for (const g of groups) {
      expect(g.parts.layout).toBe(1);
      expect(g.parts.pointerChase).toBe(1);
      expect(g.parts.referenceCount).toBe(g.ratio);
    }
  });
});

describe("which counterfactual runs the split makes", () => {
  const SPEC = { machine: "small-4", cpus: [1, 2], schemes: ["container", "clone-flags", "nsproxy"], workload: "net-heavy", duration: "60us", warmup: "2us" };
  // Made-up results stand for the experiment's runs: only their scheme, CPUs, machine, workload and seed choose the counterfactuals.
  const made = (scheme: "container" | "clone-flags" | "nsproxy" | "percpu", cpus: number, fill: Partial<RunResult> = {}) =>
    runResult({ scheme, cpus, machine: "small-4", workload: "net-heavy", throughputOpsPerSec: 12345, ...fill });

  it("at the largest CPU count where container and each other model both ran, with the other's layout simulated, then its chase too", () => {
    const spec = resolveSpec(parseSpec(SPEC));
    const runs = [
      made("container", 1),
      made("container", 2),
      made("clone-flags", 1),
      made("clone-flags", 2),
      // nsproxy at 2 CPUs only on another machine and another workload: its comparison is at 1 CPU.
      made("nsproxy", 1),
      made("nsproxy", 2, { machine: "modern-2s" }),
      made("nsproxy", 2, { workload: "fork-storm" }),
      // Another scheme at more CPUs changes nothing, nor clone-flags at more CPUs than container ran.
      made("percpu", 4),
      made("clone-flags", 4),
    ];
    const ev = challengeEvidence(spec, runs);
    expect(ev.map((e) => [e.versus, e.step, e.cpus, e.machine, e.workload, e.seed, e.invariantsOk])).toEqual([
      ["clone-flags", "layout", 2, "small-4", "net-heavy", 1, true],
      ["clone-flags", "chase", 2, "small-4", "net-heavy", 1, true],
      ["nsproxy", "layout", 1, "small-4", "net-heavy", 1, true],
      ["nsproxy", "chase", 1, "small-4", "net-heavy", 1, true],
    ]);
    // The container config of that count with the scattered layout (the native one is packed), then with the other's chase.
    const config = (cpus: number) => ({ ...runOf({ ...SPEC, cpus: [cpus], schemes: ["container"] }) });
    const scattered = (cpus: number) => ({ ...config(cpus), vars: { ...config(cpus).vars, layout: "scattered" as const } });
    expect(ev[0].throughputOpsPerSec).toBe(simulate(scattered(2)).throughputOpsPerSec);
    expect(ev[1].throughputOpsPerSec).toBe(simulate(scattered(2), { schemeOverride: withChaseOf(SCHEMES.container, "clone-flags") }).throughputOpsPerSec);
    // nsproxy's layout step is its own 1-CPU run, not the 2-CPU one clone-flags' comparison ran first (the runs are
    // kept by machine, workload, CPU count and seed).
    expect(ev[2].throughputOpsPerSec).toBe(simulate(scattered(1)).throughputOpsPerSec);
    expect(ev[2].throughputOpsPerSec).not.toBe(ev[0].throughputOpsPerSec);
    expect(ev[3].throughputOpsPerSec).toBe(simulate(scattered(1), { schemeOverride: withChaseOf(SCHEMES.container, "nsproxy") }).throughputOpsPerSec);
    // The layouts differ on net-heavy (its variable accesses; 60 us is long enough to change the count), so the layout step is not the container run.
    expect(ev[0].throughputOpsPerSec).not.toBe(simulate(config(2)).throughputOpsPerSec);
  });

  it("keeps a fixed layout other than scattered (percpu) for the chase step", () => {
    const fixed = { ...SPEC, cpus: [1], vars: { layout: "percpu" } };
    const ev = challengeEvidence(resolveSpec(parseSpec(fixed)), [made("container", 1), made("clone-flags", 1)]);
    const chase = (layout: string) =>
      simulate(runOf({ ...fixed, schemes: ["container"], vars: { layout } }), { schemeOverride: withChaseOf(SCHEMES.container, "clone-flags") }).throughputOpsPerSec;
    expect(ev.map((e) => [e.step, e.throughputOpsPerSec])).toEqual([
      ["layout", 12345],
      ["chase", chase("percpu")],
    ]);
    // At 1 CPU the two layouts give net-heavy different throughputs under clone-flags' chase, so the chase step's layout is seen.
    expect(chase("percpu")).not.toBe(chase("scattered"));
  });

  it("takes the container run itself as the layout step when the spec fixes one layout for every scheme, and skips runs the spec did not plan", () => {
    const spec = resolveSpec(parseSpec({ ...SPEC, cpus: [2], vars: { layout: "scattered" } }));
    const unplanned = [{ seed: 9 }, { machine: "modern-2s" }, { workload: "fork-storm" }].flatMap((f) => [made("container", 2, f), made("clone-flags", 2, f)]);
    const ev = challengeEvidence(spec, [made("container", 2), made("clone-flags", 2), ...unplanned]);
    // Seed 9, modern-2s and fork-storm were not planned: no counterfactual of them. The layout step is the container
    // run (12345 ops/s), the chase simulated.
    expect(ev.map((e) => [e.step, e.seed, e.throughputOpsPerSec])).toEqual([
      ["layout", 1, 12345],
      ["chase", 1, simulate(runOf({ ...SPEC, cpus: [2], schemes: ["container"], vars: { layout: "scattered" } }), { schemeOverride: withChaseOf(SCHEMES.container, "clone-flags") }).throughputOpsPerSec],
    ]);
  });
});
