import { describe, expect, it } from "vitest";
import type { RunResult } from "../../shared/metrics/result.ts";
import { checkAssertions, gate, GateFailedError, parseAssertion } from "../../coordinator/assertions.ts";
import { compareDocuments, differenceInterval, formatComparison } from "../../coordinator/compare.ts";
import { factor, sig3 } from "../../coordinator/figures.ts";
import type { ResultsDocument } from "../../coordinator/output.ts";
import { verdict } from "../../coordinator/verdict.ts";
import { UsageError } from "../../coordinator/usage-error.ts";

function run(fill: Partial<RunResult>): RunResult {
  return {
    scheme: "none",
    machine: "m",
    cpus: 1,
    workload: "w",
    seed: 1,
    operations: {},
    totalOps: 1000,
    throughputOpsPerSec: 0,
    latency: {},
    atomicsPerOp: 0,
    transfersPerOp: 0,
    scalingEfficiency: null,
    invariants: { ok: true, violationCount: 0, violations: [] },
    ...fill,
  } as RunResult;
}

describe("three significant figures", () => {
  it("prints every figure with three significant digits and a k/M/G suffix", () => {
    expect([8750, 2.5e9, 1234.5, 999.6, 0.012345, 7, 0].map(sig3)).toEqual(["8.75k", "2.50G", "1.23k", "1.00k", "0.0123", "7.00", "0"]);
    expect([1, 20.345, 0.5134, NaN].map(factor)).toEqual(["1.00x", "20.3x", "0.513x", "-"]);
  });
});

describe("--assert thresholds and invariants gate the exit code", () => {
  const runs = [
    run({ scheme: "clone-flags", cpus: 64, throughputOpsPerSec: 1000, scalingEfficiency: 0.4 }),
    run({ scheme: "percpu", cpus: 64, seed: 1, throughputOpsPerSec: 19000, scalingEfficiency: 0.96 }),
    run({ scheme: "percpu", cpus: 64, seed: 2, throughputOpsPerSec: 21000, scalingEfficiency: 0.98 }),
  ];

  it("parses '<scheme>.<metric>@<cpus> <op> <number>' and names what is wrong otherwise", () => {
    expect(parseAssertion("percpu.eff@64 >= 0.95")).toMatchObject({ scheme: "percpu", metric: "eff", cpus: 64, op: ">=", bound: 0.95 });
    expect(() => parseAssertion("percpu.eff >= 0.95")).toThrow(UsageError);
    expect(() => parseAssertion("percpu.speed@64 > 1")).toThrow(/unknown metric "speed" \(metrics: ops, eff, /);
  });

  it("measures the mean over seeds, ratios against clone-flags, and fails what has no run", () => {
    const out = checkAssertions(["percpu.eff@64 >= 0.95", "percpu.vs-clone-flags@64 > 25", "percpu.ops@64 == 20000", "nsproxy.ops@64 > 0"].map(parseAssertion), runs);
    expect(out.map((o) => [o.value, o.ok])).toEqual([
      [0.97, true],
      [20, false],
      [20000, true],
      [null, false],
    ]);
  });

  it("gate() throws when a threshold is missed or a run broke an invariant, and passes otherwise", () => {
    const printed: string[] = [];
    expect(() => gate(runs, [parseAssertion("percpu.eff@64 >= 0.99")], (t) => printed.push(t))).toThrow(GateFailedError);
    expect(printed[0]).toBe("Thresholds:\n  ✗ percpu.eff@64 >= 0.99  0.97");
    expect(() => gate(runs, [parseAssertion("percpu.eff@64 >= 0.95")], () => {})).not.toThrow();
    const broken = [...runs, run({ scheme: "sloppy", cpus: 64, invariants: { ok: false, violationCount: 2, violations: [] } })];
    expect(() => gate(broken, [], () => {})).toThrow(/1 run\(s\) broke an invariant \(sloppy @ 64 CPUs/);
  });
});

describe("refsim compare", () => {
  const doc = (runs: RunResult[]) => ({ runs }) as unknown as ResultsDocument;

  it("Welch's interval of a difference, by hand: a = [1, 3], b = [4, 6]", () => {
    // means 2 and 5, variances 2 and 2: se = sqrt(2/2 + 2/2) = sqrt 2, df = 2, t = 4.303.
    const d = differenceInterval([1, 3], [4, 6]);
    expect(d?.low).toBeCloseTo(3 - 4.303 * Math.SQRT2, 10);
    expect(d?.high).toBeCloseTo(3 + 4.303 * Math.SQRT2, 10);
    expect(differenceInterval([1], [2, 3])).toBeNull();
  });

  it("matches schemes and CPU counts, gives B against A with an interval over seeds, and lists what only one has", () => {
    const a = doc([run({ scheme: "percpu", cpus: 4, seed: 1, throughputOpsPerSec: 100 }), run({ scheme: "percpu", cpus: 4, seed: 2, throughputOpsPerSec: 102 }), run({ scheme: "none", cpus: 2 })]);
    const b = doc([run({ scheme: "percpu", cpus: 4, seed: 1, throughputOpsPerSec: 150 }), run({ scheme: "percpu", cpus: 4, seed: 2, throughputOpsPerSec: 152 })]);
    const c = compareDocuments(a, b);
    expect(c.rows).toHaveLength(1);
    expect(c.rows[0].ratio).toBeCloseTo(151 / 101, 12);
    expect(c.rows[0].interval?.low).toBeGreaterThan(0);
    expect(c.onlyA).toEqual(["none @ 2 CPUs (m, w)"]);
    const text = formatComparison(c, { a: "A", b: "B" });
    expect(text).toMatch(/percpu\s+4\s+101\s+151\s+\+49\.5%\s+\+\S+% \.\. \+\S+% \*\s+2\/2/);
    expect(text).toContain("only in A: none @ 2 CPUs (m, w)");
  });
});

describe("the verdict per machine and workload", () => {
  it("never blends workloads: one set of lines each, naming the winner at the largest CPU count against clone-flags and none", () => {
    const runs = [
      run({ workload: "fork-storm", scheme: "clone-flags", cpus: 4, throughputOpsPerSec: 100 }),
      run({ workload: "fork-storm", scheme: "percpu", cpus: 4, throughputOpsPerSec: 2000 }),
      run({ workload: "fork-storm", scheme: "none", cpus: 4, throughputOpsPerSec: 2050 }),
      run({ workload: "migration", scheme: "clone-flags", cpus: 4, throughputOpsPerSec: 300 }),
      run({ workload: "migration", scheme: "percpu", cpus: 4, throughputOpsPerSec: 330 }),
    ];
    const v = verdict(runs);
    expect(v.groups.map((g) => g.workload)).toEqual(["fork-storm", "migration"]);
    expect(v.summary).toEqual([
      "m, fork-storm: Highest throughput at 4 CPUs: the baseline without namespaces (none: no reference counting), 20.5x clone-flags; the best scheme that counts is percpu, 20.0x clone-flags, 0.976x the no-namespace baseline's.",
      "m, migration: Highest throughput at 4 CPUs: percpu, 1.10x clone-flags.",
    ]);
  });
});
