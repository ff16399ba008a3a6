import { describe, expect, it } from "vitest";
import { challengeGroups, type ChallengeEvidence } from "../../coordinator/challenge.ts";
import { cpusText, duration, factor, forkBreakdownOf, lowSample, percent, sig3, windowTooShort, windowTooShortNote } from "../../coordinator/figures.ts";
import { namespaceShareGroup } from "../../coordinator/namespace-share-verdict.ts";
import type { LatencyBreakdown } from "../../shared/metrics/attribution.ts";
import type { RunResult } from "../../shared/metrics/result.ts";
import type { SchemeName } from "../../shared/schemes/scheme.ts";
import { runResult as run } from "./support/run-result.ts";

// The sentences and figures the verdict and the table print, from made-up runs whose every
// figure is chosen so the expected text can be written out by hand.

/** A run under the linux-6 kernel path whose fork breakdown is `fork` (50 forks unless set). */
function forkRun(scheme: SchemeName, cpus: number, fork: Partial<LatencyBreakdown>, fields: Partial<RunResult> = {}): RunResult {
  const b: LatencyBreakdown = { operations: 50, meanNs: 15_000, namespaceRefs: 0, lockWait: 0, lockWaitByLock: {}, lockedSections: 0, kernelMemory: 0, parallelCompute: 0, interrupted: 0, ...fork };
  return run({
    scheme,
    cpus,
    machine: "opteron-48",
    kernelPath: {
      profile: "linux-6",
      locks: [],
      namespaceRefShare: { fork: b.namespaceRefs, exit: 0 },
      lockWaitShare: { fork: b.lockWait, exit: 0 },
      latencyBreakdown: { fork: b, exit: { ...b } },
      drain: { operations: 0, afterWindowNs: 0 },
    },
    ...fields,
  });
}

describe("figures' formats", () => {
  it("says a CPU count in the singular for one CPU", () => {
    expect(cpusText(1)).toBe("1 CPU");
    expect(cpusText(2)).toBe("2 CPUs");
    expect(cpusText(0)).toBe("0 CPUs");
  });

  it("sig3: three significant figures, k / M / G from 0.9995 of the unit (where toPrecision(3) would round up to 1000)", () => {
    // 999.5 is the boundary itself: 0.9995 -> "1.00k"; plain toPrecision(3) of 999.5 would be "1.00e+3".
    expect([999.5, 999.4, 2e6, 999_400, -2.5e9, -8750, 0.5, -0.0123].map(sig3)).toEqual(["1.00k", "999", "2.00M", "999k", "-2.50G", "-8.75k", "0.500", "-0.0123"]);
    expect([NaN, Infinity].map(sig3)).toEqual(["NaN", "Infinity"]);
  });

  it("factor and percent: '-' for what is not a number; a percentage of 10 or more without decimals, under it two significant figures", () => {
    expect([NaN, Infinity, 1, 20.34].map(factor)).toEqual(["-", "-", "1.00x", "20.3x"]);
    // 0.999 -> 99.9%: toFixed(0) "100", where toPrecision(2) would give "1.0e+2"; 0.044 -> 4.4%, not "4%".
    expect([NaN, 0, 0.1, 0.09, 0.00061, 0.999, 0.044].map(percent)).toEqual(["-", "0%", "10%", "9.0%", "0.061%", "100%", "4.4%"]);
  });

  it("duration: ns below 999.5, us from 999.5 ns, ms from 999,500 ns (where three figures round up to 1000)", () => {
    expect([999, 1000, 1e6, 0.5, 2_500_000].map(duration)).toEqual(["999ns", "1.00us", "1.00ms", "0.500ns", "2.50ms"]);
    expect([999.4, 999.5, 999_499, 999_500, 999_999].map(duration)).toEqual(["999ns", "1.00us", "999us", "1.00ms", "1.00ms"]);
  });

  it("a run is a low sample below 100 operations, its window too short when more were in flight than completed", () => {
    expect([99, 100].map((totalOps) => lowSample(run({ scheme: "none", cpus: 1, totalOps })))).toEqual([true, false]);
    const drained = (totalOps: number, operations: number) => forkRun("none", 4, {}, { totalOps, kernelPath: { ...forkRun("none", 4, {}).kernelPath!, drain: { operations, afterWindowNs: 1 } } });
    expect([drained(2, 3), drained(2, 2), drained(3, 2)].map(windowTooShort)).toEqual([true, false, false]);
    expect(windowTooShort(run({ scheme: "none", cpus: 4, totalOps: 0 }))).toBe(false);
  });

  it("the window-too-short note names each scheme and CPU count once and the largest drain", () => {
    const kp = forkRun("none", 4, {}).kernelPath!;
    const short = (scheme: SchemeName, seed: number, totalOps: number, operations: number, afterWindowNs: number) =>
      run({ scheme, cpus: 4, seed, totalOps, kernelPath: { ...kp, drain: { operations, afterWindowNs } } });
    // Two seeds of none are short (4 in flight > 0 done; 3 > 1), clone-flags is not (2 in flight, 5 done):
    // up to 4 in flight, the longest drain 12000 ns = 12.0 us (clone-flags' 1 ms is not counted).
    const runs = [short("none", 1, 0, 4, 3500), short("none", 2, 1, 3, 12_000), short("clone-flags", 1, 5, 2, 1e6)];
    expect(windowTooShortNote(runs)).toBe(
      "2 run(s) (none at 4 CPUs) completed fewer operations in the measured window than were still in flight at its end (up to 4, the last finishing 12.0us after the window): " +
        "one operation takes longer than the window there, so their ops/s is a start-up transient, not a rate; give a --duration well beyond 12.0us",
    );
    expect(windowTooShortNote(runs.slice(2))).toBeNull();
  });

  it("a fork breakdown counts only with forks measured", () => {
    // A results.json written before the breakdown existed: a kernel path without one.
    expect(forkBreakdownOf(run({ scheme: "none", cpus: 1, kernelPath: { drain: { operations: 0, afterWindowNs: 0 } } as unknown as RunResult["kernelPath"] }))).toBeUndefined();
    expect(forkBreakdownOf(forkRun("none", 1, { operations: 0 }))).toBeUndefined();
    expect(forkBreakdownOf(forkRun("none", 1, { operations: 1, namespaceRefs: 0.5 }))?.namespaceRefs).toBe(0.5);
    expect(forkBreakdownOf(run({ scheme: "none", cpus: 1 }))).toBeUndefined();
  });
});

describe("the namespace-share sentence", () => {
  it("names 1 CPU, one socket (12 CPUs of opteron-48) and all CPUs, nsproxy's largest share over every count run, and the other counting schemes", () => {
    const ns = { 1: 0.01, 2: 0.04, 12: 0.03, 48: 0.02 } as Record<number, number>;
    const cf = { 1: 0.05, 2: 0.07, 12: 0.1, 48: 0.2 } as Record<number, number>;
    const wait = { 1: 0.1, 2: 0.1, 12: 0.2, 48: 0.4 } as Record<number, number>;
    const runs = [1, 2, 12, 48].flatMap((cpus) => [
      forkRun("nsproxy", cpus, { namespaceRefs: ns[cpus], lockWait: wait[cpus], lockWaitByLock: cpus === 48 ? { pidmap_lock: 0.1, tasklist_lock: 0.3 } : {} }),
      forkRun("clone-flags", cpus, { namespaceRefs: cf[cpus] }),
      forkRun("none", cpus, { lockWait: 0.5 }),
    ]);
    const g = namespaceShareGroup(runs)!;
    expect(g.machine).toBe("opteron-48");
    expect(g.workload).toBe("fork-storm");
    // opteron-48: 2 dies x 6 cores x 1 thread = 12 CPUs per socket; 2 CPUs is neither end nor a socket.
    expect(g.points.map((p) => [p.cpus, p.role])).toEqual([
      [1, "1 CPU"],
      [12, "one socket"],
      [48, "all CPUs"],
    ]);
    expect(g.points[2]).toEqual({
      cpus: 48,
      role: "all CPUs",
      namespaceRefs: { nsproxy: 0.02, "clone-flags": 0.2, none: 0 },
      lockWait: { nsproxy: 0.4, "clone-flags": 0, none: 0.5 },
      topLock: { nsproxy: "tasklist_lock" },
      forks: { nsproxy: 50, "clone-flags": 50, none: 50 },
    });
    // The largest share is at 2 CPUs, a count the sentence does not name: 4.0%, under 5%.
    expect(g.nsproxyMaxShare).toBe(0.04);
    expect(g.summary).toBe(
      "under kernel linux-6, nsproxy's one namespace reference is 1.0% at 1 CPU, 3.0% at 12 CPUs (one socket) and 2.0% at 48 CPUs (all CPUs) of a fork's latency, " +
        "while lock waits are 40% of nsproxy's fork latency at 48 CPUs (tasklist_lock the longest): once the rest of fork is modelled it does not matter (under 5.0% at every CPU count run, at most 4.0%). " +
        "The schemes' own reference counting takes: clone-flags 5.0% at 1 CPU, 10% at 12 CPUs (one socket) and 20% at 48 CPUs (all CPUs) of fork latency.",
    );
  });

  it("averages the seeds, picks the lock with the largest summed wait, says it matters from 5% on, and calls a count with under 20 forks rough", () => {
    const runs = [
      // 1 CPU: shares 0.25 and 0.75, mean 0.5; the largest share 0.75.
      forkRun("nsproxy", 1, { namespaceRefs: 0.25 }),
      forkRun("nsproxy", 1, { namespaceRefs: 0.75 }, { seed: 2 }),
      // 8 CPUs (within one socket, not a whole one): 10 + 5 forks; shares 0.02, 0.04 (mean 0.03); waits a 0.3 + 0 and b 0.1 + 0.35: b.
      forkRun("nsproxy", 8, { operations: 10, namespaceRefs: 0.02, lockWait: 0.4, lockWaitByLock: { a: 0.3, b: 0.1 } }),
      forkRun("nsproxy", 8, { operations: 5, namespaceRefs: 0.04, lockWait: 0.2, lockWaitByLock: { a: 0, b: 0.35 } }, { seed: 2 }),
      forkRun("nsproxy", 48, { operations: 100, namespaceRefs: 0.1, lockWait: 0.6, lockWaitByLock: { tasklist_lock: 0.6 } }),
    ];
    const g = namespaceShareGroup(runs)!;
    expect(g.points.map((p) => p.role)).toEqual(["1 CPU", "within one socket", "all CPUs"]);
    expect(g.points[1]).toMatchObject({ namespaceRefs: { nsproxy: 0.03 }, topLock: { nsproxy: "b" }, forks: { nsproxy: 15 } });
    expect(g.points[1].lockWait.nsproxy).toBeCloseTo(0.3, 12);
    expect(g.nsproxyMaxShare).toBe(0.75);
    expect(g.summary).toBe(
      "under kernel linux-6, nsproxy's one namespace reference is 50% at 1 CPU, 3.0% at 8 CPUs (within one socket) and 10% at 48 CPUs (all CPUs) of a fork's latency, " +
        "while lock waits are 60% of nsproxy's fork latency at 48 CPUs (tasklist_lock the longest): it matters (at least 5.0% of fork at some CPU count, up to 75%) even with the rest of fork modelled. " +
        "(Fewer than 20 forks measured at 8 CPUs for some scheme: those shares are rough; give a longer --duration.)",
    );
    // Exactly 5% matters; 19 forks are rough and 20 are not.
    const edge = namespaceShareGroup([forkRun("nsproxy", 2, { namespaceRefs: 0.05, operations: 20 }), forkRun("nsproxy", 4, { namespaceRefs: 0.01, operations: 19 })])!;
    expect(edge.summary).toContain("it matters (at least 5.0% of fork at some CPU count, up to 5.0%)");
    expect(edge.summary).toContain("(Fewer than 20 forks measured at 4 CPUs for some scheme");
  });

  it("without nsproxy the schemes' clause leads; off the presets no socket is named; one CPU count is one share", () => {
    const g = namespaceShareGroup([forkRun("clone-flags", 2, { namespaceRefs: 0.01 }, { machine: "m" }), forkRun("clone-flags", 4, { namespaceRefs: 0.02 }, { machine: "m" })])!;
    expect(g.nsproxyMaxShare).toBeNull();
    expect(g.summary).toBe("under kernel linux-6, the schemes' own reference counting takes: clone-flags 1.0% at 2 CPUs (fewest CPUs) and 2.0% at 4 CPUs (all CPUs) of fork latency.");
    // Two counting schemes: a clause each, joined by "; ", in the runs' order.
    const two = namespaceShareGroup([
      forkRun("clone-flags", 2, { namespaceRefs: 0.01 }, { machine: "m" }),
      forkRun("percpu", 2, { namespaceRefs: 0.03 }, { machine: "m" }),
      forkRun("clone-flags", 4, { namespaceRefs: 0.02 }, { machine: "m" }),
      forkRun("percpu", 4, { namespaceRefs: 0.04 }, { machine: "m" }),
    ])!;
    expect(two.summary).toBe(
      "under kernel linux-6, the schemes' own reference counting takes: clone-flags 1.0% at 2 CPUs (fewest CPUs) and 2.0% at 4 CPUs (all CPUs); " +
        "percpu 3.0% at 2 CPUs (fewest CPUs) and 4.0% at 4 CPUs (all CPUs) of fork latency.",
    );
    const one = namespaceShareGroup([forkRun("nsproxy", 1, { namespaceRefs: 0.01, lockWaitByLock: { tasklist_lock: 0 } })])!;
    expect(one.points).toHaveLength(1);
    // No lock waited: the lock clause has no "longest".
    expect(one.summary).toBe(
      "under kernel linux-6, nsproxy's one namespace reference is 1.0% at 1 CPU of a fork's latency, while lock waits are 0% of nsproxy's fork latency at 1 CPU: " +
        "once the rest of fork is modelled it does not matter (under 5.0% at every CPU count run, at most 1.0%).",
    );
  });

  it("with none alone gives its lock waits; says 'no fork measured' where a scheme measured none; calls 1 CPU rough in the singular", () => {
    // small-4: 2 CPUs per socket, and 1 is the fewest: no socket point between 1 and 4.
    const small = (scheme: SchemeName, cpus: number, fork: Partial<LatencyBreakdown>) => forkRun(scheme, cpus, fork, { machine: "small-4" });
    const none = namespaceShareGroup([small("none", 1, { lockWait: 0.1 }), small("none", 4, { lockWait: 0.4 })])!;
    expect(none.summary).toBe("under kernel linux-6, no scheme counts references; lock waits are 10% at 1 CPU and 40% at 4 CPUs (all CPUs) of none's fork latency.");
    const runs = [
      small("nsproxy", 1, { namespaceRefs: 0.01, operations: 5 }),
      small("nsproxy", 4, { namespaceRefs: 0.02 }),
      small("clone-flags", 1, { namespaceRefs: 0.05 }),
      small("clone-flags", 4, { operations: 0 }),
      // A run without the kernel path at a named count changes nothing.
      run({ scheme: "percpu", cpus: 4 }),
    ];
    const g = namespaceShareGroup(runs)!;
    expect(g.points[1].forks).toEqual({ nsproxy: 50, "clone-flags": 0 });
    expect(g.summary).toContain("The schemes' own reference counting takes: clone-flags 5.0% at 1 CPU and no fork measured at 4 CPUs (all CPUs) of fork latency.");
    expect(g.summary).toContain("(Fewer than 20 forks measured at 1, 4 CPUs for some scheme");
    const rough1 = namespaceShareGroup([small("nsproxy", 1, { operations: 5 }), small("nsproxy", 2, {})])!;
    expect(rough1.summary).toContain("(Fewer than 20 forks measured at 1 CPU for some scheme: those shares are rough; give a longer --duration.)");
  });

  it("sorts the CPU counts as numbers, counts a socket's threads (modern-2s: 32), names no socket when every count is beyond one, and no lock wait where nsproxy measured no fork", () => {
    // 10 before 2: as strings "10" < "2"; as numbers 2 is the fewest.
    const m = namespaceShareGroup([forkRun("clone-flags", 10, {}, { machine: "m" }), forkRun("clone-flags", 2, {}, { machine: "m" })])!;
    expect(m.points.map((p) => [p.cpus, p.role])).toEqual([
      [2, "fewest CPUs"],
      [10, "all CPUs"],
    ]);
    // modern-2s: 1 die x 16 cores x 2 threads = 32 CPUs per socket.
    const modern = namespaceShareGroup([1, 32, 64].map((cpus) => forkRun("nsproxy", cpus, {}, { machine: "modern-2s" })))!;
    expect(modern.points.map((p) => p.role)).toEqual(["1 CPU", "one socket", "all CPUs"]);
    // opteron-48 at 16 and 48 CPUs: both beyond one socket of 12.
    const beyond = namespaceShareGroup([forkRun("nsproxy", 16, {}), forkRun("nsproxy", 48, {})])!;
    expect(beyond.points.map((p) => [p.cpus, p.role])).toEqual([
      [16, "fewest CPUs"],
      [48, "all CPUs"],
    ]);
    // nsproxy measured forks at 1 CPU only; at 4 CPUs only clone-flags did: no lock clause for nsproxy.
    const partial = namespaceShareGroup([forkRun("nsproxy", 1, { namespaceRefs: 0.01 }), forkRun("nsproxy", 4, { operations: 0 }), forkRun("clone-flags", 4, { namespaceRefs: 0.02 })])!;
    expect(partial.summary).toContain("nsproxy's one namespace reference is 1.0% at 1 CPU and no fork measured at 4 CPUs (all CPUs) of a fork's latency: once");
  });

  it("is null without a fork measured under a kernel path", () => {
    expect(namespaceShareGroup([])).toBeNull();
    expect(namespaceShareGroup([run({ scheme: "nsproxy", cpus: 1 }), forkRun("nsproxy", 2, { operations: 0 })])).toBeNull();
  });
});

describe("the 2006 challenge's sentence", () => {
  const at = (scheme: SchemeName, throughputOpsPerSec: number, fields: Partial<RunResult> = {}) =>
    run({ scheme, cpus: 4, machine: "m", workload: "w", throughputOpsPerSec, latency: { access: { p50Ns: 30, p99Ns: 40, maxNs: 50 } }, ...fields });
  const evidence = (versus: "clone-flags" | "nsproxy", layout: number, chase: number, seed = 1): ChallengeEvidence[] =>
    (["layout", "chase"] as const).map((step) => ({ machine: "m", workload: "w", cpus: 4, seed, versus, step, throughputOpsPerSec: step === "layout" ? layout : chase, invariantsOk: true }));

  it("within 2% and no window noise (30 ns in 1 ms rounds to 0) is 'no better': gratuitous change; exactly 2% is still within", () => {
    // ratio 101 / 100; layout 101 / 101, chase 101 / 100, reference count 100 / 100.
    const [g] = challengeGroups([at("container", 101), at("clone-flags", 100)], evidence("clone-flags", 101, 100));
    expect(g.noise).toBe(0);
    expect(g.summary).toBe(
      "container vs clone-flags (w on m, 4 CPUs): no better, 1.01x the throughput (the per-container variables' layout 1.00x, the pointer chase 1.01x, the reference count 1.00x): by the 2006 test, gratuitous change here.",
    );
    const [two] = challengeGroups([at("container", 102), at("clone-flags", 100)], evidence("clone-flags", 102, 100));
    expect(two.ratio).toBe(1.02);
    expect(two.summary).toContain(": no better, 1.02x the throughput");
  });

  it("means the seeds, keeps to the group's CPU count and to its two schemes' noise, and names the reference count when it is the largest part", () => {
    const runs = [
      at("container", 140),
      at("container", 160, { seed: 2 }),
      at("clone-flags", 50),
      // Another CPU count, and nsproxy's slow fork: neither is this comparison's.
      at("container", 1, { cpus: 2 }),
      at("nsproxy", 100, { latency: { fork: { p50Ns: 500_000, p99Ns: 500_000, maxNs: 500_000 } } }),
    ];
    // Seeds' counterfactuals 150 and 130 (mean 140), 90 and 110 (mean 100): container 150, layout 140, chase 100, other 50.
    const [g] = challengeGroups(runs, [...evidence("clone-flags", 150, 90), ...evidence("clone-flags", 130, 110, 2)]);
    expect(g).toMatchObject({ ratio: 3, parts: { layout: 1.0714, pointerChase: 1.4, referenceCount: 2 }, noise: 0 });
    expect(g.summary).toBe(
      "container vs clone-flags (w on m, 4 CPUs): better, 3.00x the throughput, mostly because of the reference count (the per-container variables' layout 1.07x, the pointer chase 1.40x, the reference count 2.00x).",
    );
  });

  it("says how far the window's end moves throughput when a part is told apart despite it, and a worse ratio from the layout", () => {
    // A 5 us fork in a 100 us window: noise 0.05; the ratio 0.5 is far beyond it.
    const slow = { latency: { fork: { p50Ns: 5000, p99Ns: 5000, maxNs: 5000 } }, measuredPs: 100e6 };
    const [g] = challengeGroups([at("container", 50, slow), at("nsproxy", 100, slow)], evidence("nsproxy", 80, 90));
    // layout 50 / 80 = 0.625, chase 80 / 90 = 0.8889, reference count 90 / 100 = 0.9.
    expect(g).toMatchObject({ ratio: 0.5, noise: 0.05, parts: { layout: 0.625, pointerChase: 0.8889, referenceCount: 0.9 } });
    expect(g.summary).toBe(
      "container vs nsproxy (w on m, 4 CPUs): worse, 0.500x the throughput, mostly because of the per-container variables' layout (the per-container variables' layout 0.625x, the pointer chase 0.889x, the reference count 0.900x; " +
        "the window's end alone moves these runs' throughput by up to 5%, so simulate longer to tell smaller factors apart).",
    );
    // Within the noise (4% against 5%), not told apart.
    const [near] = challengeGroups([at("container", 104, slow), at("nsproxy", 100, slow)], evidence("nsproxy", 104, 100));
    expect(near.summary).toMatch(/: not told apart, 1.04x the throughput .*up to 5%, so simulate longer/);
  });

  it("splits nothing when a throughput is 0, and a window of no length is all noise", () => {
    expect(challengeGroups([at("container", 100), at("clone-flags", 0)], evidence("clone-flags", 100, 100))).toEqual([]);
    expect(challengeGroups([at("container", 100), at("clone-flags", 100)], evidence("clone-flags", 0, 100))).toEqual([]);
    const [g] = challengeGroups([at("container", 200, { measuredPs: 0 }), at("clone-flags", 100)], evidence("clone-flags", 200, 100));
    expect(g.noise).toBe(Infinity);
    expect(g.summary).toMatch(/: not told apart, 2.00x the throughput/);
  });

  it("at exactly 2% of window noise says neither 'not told apart' nor how far the end moves; ties go to the reference count; the noise is of the compared runs only", () => {
    // A 2 us fork in a 100 us window: noise 0.02, not above the 2% threshold.
    const edge = { latency: { fork: { p50Ns: 2000, p99Ns: 2000, maxNs: 2000 } }, measuredPs: 100e6 };
    const [same] = challengeGroups([at("container", 101, edge), at("clone-flags", 100, edge)], evidence("clone-flags", 101, 100));
    expect(same.noise).toBe(0.02);
    expect(same.summary).toContain(": no better, 1.01x the throughput");
    const [far] = challengeGroups([at("container", 150, edge), at("clone-flags", 100, edge)], evidence("clone-flags", 125, 110));
    expect(far.summary).not.toContain("window's end");
    // Layout 144 / 120 = 1.2 and reference count 120 / 100 = 1.2 tie: the reference count is named (it is looked at first).
    const [tie] = challengeGroups([at("container", 144), at("clone-flags", 100)], evidence("clone-flags", 120, 120));
    expect(tie.summary).toContain("mostly because of the reference count (");
    // The slow runs are nsproxy's and another machine's: clone-flags' comparison has no noise, and their throughput is not its.
    const slow = { latency: { fork: { p50Ns: 50_000, p99Ns: 50_000, maxNs: 50_000 } }, measuredPs: 100e6 };
    const runs = [at("container", 150), at("clone-flags", 100), at("nsproxy", 100, slow), at("clone-flags", 1, { machine: "m2", ...slow }), at("clone-flags", 1, { workload: "w2", ...slow })];
    const [g] = challengeGroups(runs, evidence("clone-flags", 125, 110));
    expect(g).toMatchObject({ ratio: 1.5, noise: 0 });
    // The other model's slow runs count: 50 us in 100 us.
    const [noisy] = challengeGroups([at("container", 150), at("clone-flags", 100, slow)], evidence("clone-flags", 125, 110));
    expect(noisy.noise).toBe(0.5);
  });

  it("splits nothing when container or the chase step completed nothing; a window of no length with no latency is all noise too", () => {
    expect(challengeGroups([at("container", 0), at("clone-flags", 100)], evidence("clone-flags", 100, 100))).toEqual([]);
    expect(challengeGroups([at("container", 100), at("clone-flags", 100)], evidence("clone-flags", 100, 0))).toEqual([]);
    const [g] = challengeGroups([at("container", 200, { measuredPs: 0, latency: {} }), at("clone-flags", 100)], evidence("clone-flags", 200, 100));
    expect(g.noise).toBe(Infinity);
  });
});
